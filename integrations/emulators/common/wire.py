"""JSON answers as the QBO and MYOB emulators write them: amounts (Decimal) as JSON numbers, in
the ledger's own content type. (Xero's wire format is its own: xero/wire.py.)"""

import json
from decimal import Decimal

from werkzeug.wrappers import Response


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(
    body, status: int = 200, headers: dict | None = None, *, content_type: str
) -> Response:
    return Response(json.dumps(body, default=_default), status, headers, content_type=content_type)
