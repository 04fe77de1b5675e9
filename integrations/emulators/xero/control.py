"""HTTP side of the control API (`/_emulator/...`): JSON, no auth, for tests, benchmarks and the
demo. Every handler calls the public Python method of the same name on XeroEmulator."""

import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .responses import json_response


def _body(request: Request) -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def health(emulator, request):
    return {"status": "ok"}


def reset(emulator, request):
    emulator.reset(keep_auth=bool(_body(request).get("keep_auth", False)))
    return {"status": "reset"}


def state(emulator, request):
    return emulator.state()


def writes(emulator, request):
    since = request.args.get("since")
    return {
        "writes": emulator.writes(request.args.get("tenant_id"), float(since) if since else None)
    }


def add_tenant(emulator, request):
    name = _body(request).get("name")
    if not name:
        raise ValueError("name is required")
    return emulator.add_tenant(name), 201


def delete_tenant(emulator, request, tenant_id):
    return emulator.delete_tenant(tenant_id)


def subscription(emulator, request, tenant_id):
    active = _body(request).get("active")
    if not isinstance(active, bool):
        raise ValueError("active (true or false) is required")
    return emulator.set_subscription(tenant_id, active=active)


def add_user(emulator, request):
    body = _body(request)
    if not body.get("email"):
        raise ValueError("email is required")
    return emulator.add_user(body["email"], body.get("tenant_ids")), 201


def faults(emulator, request):
    if request.method == "POST":
        return emulator.set_faults(**_body(request))
    if request.method == "DELETE":
        emulator.clear_faults()
    return emulator.fault_settings()


def book(emulator, request, invoice_id):
    return emulator.book_invoice(invoice_id, _body(request).get("date"))


def void(emulator, request, invoice_id):
    return emulator.void_invoice(invoice_id)


def edit(emulator, request, invoice_id):
    return emulator.edit_invoice(invoice_id, _body(request))


def lock_date(emulator, request):
    body = _body(request)
    emulator.set_lock_date(body.get("tenant_id"), body.get("date"))
    tenant_id = body.get("tenant_id") or emulator.default_tenant_id
    return {"tenant_id": tenant_id, "date": body.get("date")}


def rate_limits(emulator, request):
    if request.method == "POST":
        return emulator.set_rate_limits(**_body(request))
    return emulator.rate_limits()


def expire_tokens(emulator, request):
    emulator.expire_tokens()
    return {"status": "expired"}


def revoke_tokens(emulator, request):
    emulator.revoke_tokens()
    return {"status": "revoked"}


def connect(emulator, request):
    body = _body(request)
    kwargs = {k: body[k] for k in ("tenant_ids", "scope", "user") if k in body}
    return emulator.connect(**kwargs)


def handle(emulator, request: Request, handler, args: dict) -> Response:
    """Run a handler; unknown objects answer 404 and bad input 400, as `{"error": ...}`."""
    try:
        result = handler(emulator, request, **args)
    except KeyError as exc:
        return json_response({"error": exc.args[0] if exc.args else "not found"}, 404)
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)
    body, status = result if isinstance(result, tuple) else (result, 200)
    return json_response(body, status)


def _rule(path: str, methods: list[str], endpoint) -> Rule:
    return Rule("/_emulator" + path, methods=methods, endpoint=endpoint)


ROUTES = [
    _rule("/health", ["GET"], health),
    _rule("/reset", ["POST"], reset),
    _rule("/state", ["GET"], state),
    _rule("/writes", ["GET"], writes),
    _rule("/tenants", ["POST"], add_tenant),
    _rule("/tenants/<tenant_id>", ["DELETE"], delete_tenant),
    _rule("/tenants/<tenant_id>/subscription", ["POST"], subscription),
    _rule("/users", ["POST"], add_user),
    _rule("/faults", ["GET", "POST", "DELETE"], faults),
    _rule("/invoices/<invoice_id>/book", ["POST"], book),
    _rule("/invoices/<invoice_id>/void", ["POST"], void),
    _rule("/invoices/<invoice_id>/edit", ["POST"], edit),
    _rule("/lock-date", ["POST"], lock_date),
    _rule("/rate-limits", ["GET", "POST"], rate_limits),
    _rule("/tokens/expire", ["POST"], expire_tokens),
    _rule("/tokens/revoke", ["POST"], revoke_tokens),
    _rule("/connect", ["POST"], connect),
]
