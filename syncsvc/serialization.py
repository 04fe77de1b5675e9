"""JSON for the batch path: orjson, whose encoder and parser are several times faster than
json's. A batch writes each document's logged request and answer into its attempt's row, and
the ledger's answer to a batch is parsed once and cut into its elements: with json that was
about a tenth of a new batch's worker CPU (issue 13, figure 2)."""

import orjson


def json_text(value, *, default=None) -> str:
    """`value` as compact JSON text. Keys that are not text become text, as json.dumps makes
    them; `default` converts what JSON has no type for (json.dumps' `default`)."""
    return json_bytes(value, default=default).decode()


def json_bytes(value, *, default=None) -> bytes:
    """json_text, encoded in UTF-8: a request body."""
    return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS)


def json_parsed(data: bytes | str):
    """The value of a JSON text (json.loads)."""
    return orjson.loads(data)
