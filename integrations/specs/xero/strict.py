"""Xero's OpenAPI specs made strict, with the allowances real Xero traffic needs.

The specs are made *strict*: an object schema that lists ``properties`` rejects any field it does
not declare. Where the published spec is wrong for real Xero traffic, a short allowance list
(``ALLOWANCES``) patches exactly that spot; nothing is switched off wholesale. ``TIGHTENINGS``
lists the checks added on top of the spec. The strict document is cached on disk as JSON (keyed
by the spec and this module), and its openapi-core objects once per process (``get_spec``).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.finders import APICallPathFinder

from integrations.specs import contract
from integrations.specs.contract import load_yaml

SPECS_DIR = Path(__file__).resolve().parent
SPEC_FILES = {
    "accounting": SPECS_DIR / "xero_accounting.yaml",
    "identity": SPECS_DIR / "xero_identity.yaml",
}

# Set to "0" to bypass the on-disk cache of the processed spec (e.g. to measure a cold load).
CACHE_ENV = "LEDGERSYNC_CONTRACT_CACHE"

# Spec gaps that real Xero traffic hits. Each is applied in ``_apply_allowances`` and is as narrow
# as possible: added fields are readOnly (response-only), so the adapter still cannot send them.
# Evidence: the spec's own request/response examples (captured from Xero) fail the strict schema.
ALLOWANCES: dict[str, str] = {
    "response-envelope": (
        "Every 2xx envelope (Invoices, Payments, Contacts, ...) comes with Id, Status, "
        "ProviderName and DateTimeUTC, which no envelope schema lists; added as readOnly to the "
        "x-objectArrayKey envelope schemas used as 2xx response roots."
    ),
    "echoed-read-only-fields": (
        "Fields Xero returns but the schemas lack, added readOnly: Invoice.DateString/"
        "DueDateString, LineItem.ValidationErrors, ContactGroup.HasValidationErrors, "
        "TrackingOption.IsActive/IsDeleted/IsArchived/HasValidationErrors, "
        "HistoryRecord.DateUTCString/ValidationErrors."
    ),
    "validation-error-element-echo": (
        "A 400 ValidationException's Elements[] echo the submitted object (any type) plus "
        "ValidationErrors; schema Element lists only a few ids, so Element stays open (its "
        "declared fields are still type-checked)."
    ),
    "payment-envelope-body": (
        "POST /Payments (createPayment) and POST /Payments/{PaymentID} (deletePayment) declare a "
        "bare Payment / PaymentDelete body, but the spec's own examples send "
        "{'Payments': [...]}; both forms are accepted (each strict, exactly one element)."
    ),
    "payment-batch-strings": (
        "Inside a Payment, BatchPayment.TotalAmount and .IsReconciled come as strings ('50.00', "
        "'false') in the spec's GET /Payments examples; there (only) a decimal string / "
        "'true'|'false' is accepted too. Standalone BatchPayment keeps number / boolean."
    ),
    "binary-upload-body": (
        "Attachment bodies are declared 'type: string, format: byte' (base64) under "
        "application/octet-stream, but Xero takes raw bytes with the file's own mime type; the "
        "harness checks those bodies itself (non-empty, not JSON/form/multipart)."
    ),
    "if-modified-since": (
        "Header If-Modified-Since is 'format: date-time' (RFC 3339, offset required) but Xero "
        "documents and accepts 'YYYY-MM-DDThh:mm:ss' (UTC); offset made optional."
    ),
    "connection-dates": (
        "Identity Connection.createdDateUtc/updatedDateUtc are 'format: date-time' but Xero sends "
        "them without an offset ('2019-12-07T18:46:19.5165400', the spec's own example; "
        "XeroAPI/Xero-Java#168); offset made optional."
    ),
    "connections-path-case": (
        "The identity spec says /Connections; Xero's real path is /connections. Matched "
        "case-insensitively for that path only."
    ),
}

# Checks added on top of the spec (documented so a failure is not mistaken for a spec rule).
TIGHTENINGS: dict[str, str] = {
    "ms-dates": (
        "Fields marked x-is-msdate / x-is-msdate-time are plain strings in the spec; they must be "
        "an MS-JSON date '/Date(ms[+hhmm])/' or an ISO date / date-time."
    ),
    "idempotency-key-length": "Idempotency-Key: at most 128 characters (parameter description).",
    "unknown-query": "Query parameters the operation does not declare are rejected.",
    "bearer-auth": "Operations with OAuth2 security need 'Authorization: Bearer <token>'.",
    "unexpected-body": "A body sent to an operation that declares no requestBody is rejected.",
}

_MS_DATE = r"/Date\(-?\d+([+-]\d{4})?\)/"
_ISO_DATE_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"
_ISO_DATE_OPTIONAL_TIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
MS_OR_ISO_DATE_PATTERN = rf"^({_MS_DATE}|{_ISO_DATE_OPTIONAL_TIME})$"
ISO_DATE_TIME_OPTIONAL_OFFSET = rf"^{_ISO_DATE_TIME}$"
MS_DATE_PATTERN = rf"^{_MS_DATE}$"

_READ_ONLY_STRING = {"type": "string", "readOnly": True}
_READ_ONLY_BOOL = {"type": "boolean", "readOnly": True}
_VALIDATION_ERRORS = {
    "type": "array",
    "readOnly": True,
    "items": {"$ref": "#/components/schemas/ValidationError"},
}
_EXTRA_PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    "Invoice": {"DateString": _READ_ONLY_STRING, "DueDateString": _READ_ONLY_STRING},
    "LineItem": {"ValidationErrors": _VALIDATION_ERRORS},
    "ContactGroup": {"HasValidationErrors": _READ_ONLY_BOOL},
    "TrackingOption": {
        "IsActive": _READ_ONLY_BOOL,
        "IsDeleted": _READ_ONLY_BOOL,
        "IsArchived": _READ_ONLY_BOOL,
        "HasValidationErrors": _READ_ONLY_BOOL,
    },
    "HistoryRecord": {"DateUTCString": _READ_ONLY_STRING, "ValidationErrors": _VALIDATION_ERRORS},
}
_ENVELOPE_PROPERTIES = {
    "Id": {"type": "string", "format": "uuid", "readOnly": True},
    "Status": {"type": "string", "readOnly": True},
    "ProviderName": {"type": "string", "readOnly": True},
    "DateTimeUTC": {"type": "string", "pattern": MS_DATE_PATTERN, "readOnly": True},
}
_PAYMENT_ENVELOPE_OPERATIONS = {"createPayment", "deletePayment"}

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
OCTET_STREAM = "application/octet-stream"


def _ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise ValueError(f"only local schema refs are supported, got {ref!r}")
    return ref[len(prefix) :]


def deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        parts = node["$ref"].lstrip("#/").split("/")
        node = doc
        for part in parts:
            node = node[part]
        seen += 1
        if seen > 50:
            raise ValueError("reference cycle")
    return node


def _iter_schema_nodes(node: Any):
    """Yield every dict in the document except inside example values (which are data, not
    schemas); a *property* that happens to be called "example" is still visited."""
    stack = [(node, "")]
    while stack:
        current, parent_key = stack.pop()
        if isinstance(current, dict):
            yield current
            for key, value in current.items():
                if key in ("example", "examples") and parent_key != "properties":
                    continue
                stack.append((value, key))
        elif isinstance(current, list):
            stack.extend((item, parent_key) for item in current)


def _property_names(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> set[str]:
    """All property names an allOf part contributes (following $refs and nested allOf)."""
    if depth > 20:
        raise ValueError("allOf nesting too deep")
    schema = deref(doc, schema)
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= _property_names(doc, part, depth + 1)
    return names


class UnsupportedComposition(ValueError):
    """The strict transform cannot close this schema shape without rejecting valid objects."""


def _close_objects(doc: dict[str, Any]) -> None:
    """Set ``additionalProperties: false`` on each object schema that lists ``properties``.

    ``allOf`` needs care: in OpenAPI 3.0 / draft 4, ``additionalProperties`` only sees sibling
    ``properties``, so closing an allOf *part* rejects the fields the other parts add. Parts are
    therefore left open (a $ref'd part is redirected to an open copy, so the same component used
    on its own stays strict) and the composite is closed over the union of the parts' properties.
    ``oneOf``/``anyOf`` branches are whole alternatives and are closed individually; a schema with
    both its own ``properties`` and such branches is refused rather than guessed at.
    """
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    # 1. Point every $ref'd allOf part at an open copy (copies may contain allOf themselves).
    pending = [n for n in _iter_schema_nodes(doc) if isinstance(n.get("allOf"), list)]
    done: set[int] = set()
    while pending:
        composite = pending.pop()
        if id(composite) in done:
            continue
        done.add(id(composite))
        for i, part in enumerate(composite["allOf"]):
            if not (isinstance(part, dict) and "$ref" in part):
                continue
            name = _ref_name(part["$ref"])
            open_name = name if name.endswith("__allOfPart") else f"{name}__allOfPart"
            if open_name not in schemas:
                # Nothing is closed yet, so a plain copy is open.
                schemas[open_name] = copy.deepcopy(schemas[name])
                pending += [
                    n
                    for n in _iter_schema_nodes(schemas[open_name])
                    if isinstance(n.get("allOf"), list)
                ]
            composite["allOf"][i] = {"$ref": f"#/components/schemas/{open_name}"}
    # 2. Parts stay open; each composite allows the union of its parts' property names.
    composites = [n for n in _iter_schema_nodes(doc) if isinstance(n.get("allOf"), list)]
    open_nodes = {id(deref(doc, part)) for c in composites for part in c["allOf"]}
    for composite in composites:
        names: set[str] = set()
        for part in composite["allOf"]:
            names |= _property_names(doc, part)
        own = composite.setdefault("properties", {})
        for name in sorted(names - set(own)):
            own[name] = {}  # the part validates the value; the composite only allows the name
    # 3. Close everything else that lists properties.
    for node in _iter_schema_nodes(doc):
        if not isinstance(node.get("properties"), dict) or id(node) in open_nodes:
            continue
        branches = [b for key in ("oneOf", "anyOf") for b in node.get(key, [])]
        if branches and any(_property_names(doc, b) for b in branches):
            raise UnsupportedComposition(
                f"schema with properties {sorted(node['properties'])} and oneOf/anyOf branches "
                "that add properties: extend strict._close_objects before using it"
            )
        node.setdefault("additionalProperties", False)


def _apply_accounting_allowances(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # response-envelope
    envelopes: set[str] = set()
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, resp in op.get("responses", {}).items():
                resp = deref(doc, resp)
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and "$ref" in schema:
                    name = _ref_name(schema["$ref"])
                    if "x-objectArrayKey" in schemas[name]:
                        envelopes.add(name)
    for name in envelopes:
        for prop, prop_schema in _ENVELOPE_PROPERTIES.items():
            schemas[name]["properties"].setdefault(prop, dict(prop_schema))
    # echoed-read-only-fields
    for name, extra in _EXTRA_PROPERTIES.items():
        for prop, prop_schema in extra.items():
            schemas[name]["properties"].setdefault(prop, copy.deepcopy(prop_schema))
    # payment-batch-strings: a copy, so only the BatchPayment nested in a Payment is relaxed
    nested = copy.deepcopy(schemas["BatchPayment"])
    nested["properties"]["TotalAmount"] = {
        "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}],
        "readOnly": True,
    }
    nested["properties"]["IsReconciled"] = {
        "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}],
        "readOnly": True,
    }
    schemas["BatchPayment__InPayment"] = nested
    schemas["Payment"]["properties"]["BatchPayment"] = {
        "$ref": "#/components/schemas/BatchPayment__InPayment"
    }
    # validation-error-element-echo
    schemas["Element"]["additionalProperties"] = True
    # if-modified-since
    header = doc["components"]["parameters"]["ifModifiedSince"]["schema"]
    header.pop("format", None)
    header["pattern"] = ISO_DATE_TIME_OPTIONAL_OFFSET
    # idempotency-key-length (tightening)
    doc["components"]["parameters"]["idempotencyKey"]["schema"]["maxLength"] = 128
    for item in doc["paths"].values():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            content = op.get("requestBody", {}).get("content", {})
            # payment-envelope-body
            if op.get("operationId") in _PAYMENT_ENVELOPE_OPERATIONS:
                media = content["application/json"]
                single = media["schema"]
                media["schema"] = {
                    "anyOf": [
                        single,
                        {
                            "type": "object",
                            "required": ["Payments"],
                            "properties": {
                                "Payments": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1,
                                    "items": single,
                                }
                            },
                        },
                    ]
                }
            # binary-upload-body: the harness checks raw bytes itself (see _check_binary_body)
            if OCTET_STREAM in content:
                content[OCTET_STREAM]["schema"] = {}
            for resp in op.get("responses", {}).values():
                if OCTET_STREAM in resp.get("content", {}):
                    resp["content"][OCTET_STREAM]["schema"] = {}


def _apply_identity_allowances(doc: dict[str, Any]) -> None:
    # connection-dates
    props = doc["components"]["schemas"]["Connection"]["properties"]
    for name in ("createdDateUtc", "updatedDateUtc"):
        props[name].pop("format", None)
        props[name]["pattern"] = ISO_DATE_TIME_OPTIONAL_OFFSET


def _apply_ms_date_patterns(doc: dict[str, Any]) -> None:
    for node in _iter_schema_nodes(doc):
        is_ms = node.get("x-is-msdate") or node.get("x-is-msdate-time")
        if is_ms and node.get("type") == "string" and "pattern" not in node:
            node["pattern"] = MS_OR_ISO_DATE_PATTERN


def strict_document(raw: dict[str, Any], spec_name: str | None = None) -> dict[str, Any]:
    """Return a strict copy of an OpenAPI document (``raw`` is not modified).

    ``spec_name`` ("accounting" / "identity") selects the allowances for that Xero spec; with
    None only the generic transform (close objects) is applied.
    """
    doc = copy.deepcopy(raw)
    if spec_name == "accounting":
        _apply_accounting_allowances(doc)
        _apply_ms_date_patterns(doc)
    elif spec_name == "identity":
        _apply_identity_allowances(doc)
    elif spec_name is not None:
        raise ValueError(f"unknown spec {spec_name!r}")
    _close_objects(doc)
    return doc


def _cache_dir() -> Path | None:
    if os.environ.get(CACHE_ENV, "1") == "0":
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"ledgersync-xero-contract-{uid}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    # Only trust a directory that is ours and not writable by others.
    if hasattr(os, "getuid") and (
        info.st_uid != uid or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        return None
    return path


def _cache_key(spec_bytes: bytes) -> str:
    h = hashlib.sha256(spec_bytes)
    # The checks' source is part of the key: changing an allowance invalidates old entries.
    h.update(Path(__file__).read_bytes())
    h.update(Path(contract.__file__).read_bytes())
    h.update(yaml.__version__.encode())
    return h.hexdigest()[:32]


def load_strict_document(spec_name: str) -> dict[str, Any]:
    """Strict, allowance-patched document for a spec, via the on-disk JSON cache when possible."""
    path = SPEC_FILES[spec_name]
    spec_bytes = path.read_bytes()
    cache_dir = _cache_dir()
    cache_file = cache_dir / f"{spec_name}-{_cache_key(spec_bytes)}.json" if cache_dir else None
    if cache_file is not None and cache_file.is_file():
        try:
            return json.loads(cache_file.read_bytes())
        except (OSError, ValueError):
            pass  # corrupt or racing writer: rebuild below
    doc = strict_document(load_yaml(path), spec_name)
    if cache_file is not None:
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(doc, separators=(",", ":")))
            os.replace(tmp, cache_file)  # atomic: parallel workers never read half a file
        except OSError:
            tmp.unlink(missing_ok=True)
    return doc


@dataclass
class XeroSpec:
    name: str
    document: dict[str, Any]
    openapi: OpenAPI
    finder: APICallPathFinder
    load_seconds: float = 0.0


@functools.cache
def get_spec(spec_name: str) -> XeroSpec:
    """The strict spec and its openapi-core objects, built once per process."""
    started = time.perf_counter()
    document = load_strict_document(spec_name)
    # Spec validation off: the Xero file fails it (boolean defaults written as the string 'false').
    openapi = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    return XeroSpec(
        name=spec_name,
        document=document,
        openapi=openapi,
        finder=APICallPathFinder(openapi.spec),
        load_seconds=time.perf_counter() - started,
    )


def load_specs() -> dict[str, XeroSpec]:
    """Load (and cache) both specs; handy for warming up in a session fixture."""
    return {name: get_spec(name) for name in SPEC_FILES}
