"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our deepest body (a document's lines' fields) nests 3 levels; a partner's may nest a little
# more. A "JSON bomb" of 100,000 brackets made json.load raise RecursionError (a 500); a few
# hundred levels parse, then overflow the stack wherever the body is walked again.
MAX_DEPTH = 32


def _too_deep(data, limit: int) -> bool:
    """Whether `data` nests deeper than `limit` containers (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return False


class ApiJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(f"JSON parse error - the body nests deeper than {MAX_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _too_deep(data, MAX_DEPTH):
            raise too_deep
        return data
