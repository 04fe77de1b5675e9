"""HTTP side of the control API (`/_emulator/...`): JSON, no auth, for tests, benchmarks and the
demo. Each handler calls the QboEmulator method of the same meaning."""

import json

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .books import QboFault
from .wire import json_response


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
    realm_id = request.args.get("realm_id")
    return {"writes": emulator.writes(realm_id, float(since) if since else None)}


def add_realm(emulator, request):
    name = _body(request).get("name")
    if not name:
        raise ValueError("name is required")
    return emulator.add_realm(name), 201


def faults(emulator, request):
    if request.method == "POST":
        return emulator.set_faults(**_body(request))
    if request.method == "DELETE":
        emulator.clear_faults()
    return emulator.fault_settings()


def throttles(emulator, request):
    if request.method == "POST":
        return emulator.set_throttles(**_body(request))
    return emulator.throttles()


def expire_tokens(emulator, request):
    emulator.expire_tokens()
    return {"status": "expired"}


def revoke_tokens(emulator, request):
    emulator.revoke_tokens()
    return {"status": "revoked"}


def connect(emulator, request):
    return emulator.connect(_body(request).get("realm_id"))


def book_close_date(emulator, request):
    body = _body(request)
    emulator.set_book_close_date(body.get("realm_id"), body.get("date"))
    return {"realm_id": body.get("realm_id") or emulator.default_realm_id, "date": body.get("date")}


def doc_numbers(emulator, request):
    body = _body(request)
    emulator.set_unique_doc_numbers(body.get("unique", True), body.get("realm_id"))
    return {"unique": bool(body.get("unique", True))}


def entity(emulator, request, entity, entity_id):
    return emulator.entity(entity, entity_id, request.args.get("realm_id"))


def edit(emulator, request, entity, entity_id):
    return emulator.edit_entity(entity, entity_id, _body(request), request.args.get("realm_id"))


def active(emulator, request, entity, entity_id):
    body = _body(request)
    return emulator.set_active(entity, entity_id, body.get("active", False), body.get("realm_id"))


def delete(emulator, request, entity, entity_id):
    emulator.delete_entity(entity, entity_id, request.args.get("realm_id"))
    return {"status": "deleted"}


def pay_bill(emulator, request, bill_id):
    body = _body(request)
    return emulator.pay_bill(bill_id, body.get("date"), body.get("realm_id"))


def _rule(path: str, methods: list[str], endpoint) -> Rule:
    return Rule("/_emulator" + path, methods=methods, endpoint=endpoint)


ROUTES = Map(
    [
        _rule("/health", ["GET"], health),
        _rule("/reset", ["POST"], reset),
        _rule("/state", ["GET"], state),
        _rule("/writes", ["GET"], writes),
        _rule("/realms", ["POST"], add_realm),
        _rule("/faults", ["GET", "POST", "DELETE"], faults),
        _rule("/throttles", ["GET", "POST"], throttles),
        _rule("/tokens/expire", ["POST"], expire_tokens),
        _rule("/tokens/revoke", ["POST"], revoke_tokens),
        _rule("/connect", ["POST"], connect),
        _rule("/book-close-date", ["POST"], book_close_date),
        _rule("/doc-numbers", ["POST"], doc_numbers),
        _rule("/entities/<entity>/<entity_id>", ["GET"], entity),
        _rule("/entities/<entity>/<entity_id>/edit", ["POST"], edit),
        _rule("/entities/<entity>/<entity_id>/active", ["POST"], active),
        _rule("/entities/<entity>/<entity_id>/delete", ["POST"], delete),
        _rule("/bills/<bill_id>/pay", ["POST"], pay_bill),
    ]
)


def handle(emulator, request: Request) -> Response:
    """Unknown objects answer 404 and bad input 400, as `{"error": ...}`."""
    try:
        handler, args = ROUTES.bind_to_environ(request.environ).match()
    except HTTPException as exc:
        return json_response({"error": exc.description}, exc.code or 404)
    try:
        result = handler(emulator, request, **args)
    except KeyError as exc:
        return json_response({"error": exc.args[0] if exc.args else "not found"}, 404)
    except (ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, 400)
    except QboFault as exc:
        return json_response({"error": str(exc), "Fault": {"Error": exc.errors}}, 400)
    body, status = result if isinstance(result, tuple) else (result, 200)
    return json_response(body, status)
