"""QBO's side of the control API (`/_emulator/...`), beside the shared endpoints of
common/control.py: companies (realms), throttles, closed books, entities edited, deactivated or
deleted or voided behind our back, and bills paid in QuickBooks. Each handler calls the QboEmulator
method of the same meaning."""

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from ..common import control as common_control
from ..common.control import common_rules, json_body, rule
from .faults import QboFault
from .wire import json_response


def writes(emulator, request):
    since = request.args.get("since")
    realm_id = request.args.get("realm_id")
    return {"writes": emulator.writes(realm_id, float(since) if since else None)}


def add_realm(emulator, request):
    name = json_body(request).get("name")
    if not name:
        raise ValueError("name is required")
    return emulator.add_realm(name), 201


def throttles(emulator, request):
    if request.method == "POST":
        return emulator.set_throttles(**json_body(request))
    return emulator.throttles()


def connect(emulator, request):
    return emulator.connect(json_body(request).get("realm_id"))


def book_close_date(emulator, request):
    body = json_body(request)
    emulator.set_book_close_date(body.get("realm_id"), body.get("date"))
    return {"realm_id": body.get("realm_id") or emulator.default_realm_id, "date": body.get("date")}


def doc_numbers(emulator, request):
    body = json_body(request)
    emulator.set_unique_doc_numbers(body.get("unique", True), body.get("realm_id"))
    return {"unique": bool(body.get("unique", True))}


def entity(emulator, request, entity, entity_id):
    return emulator.entity(entity, entity_id, request.args.get("realm_id"))


def edit(emulator, request, entity, entity_id):
    return emulator.edit_entity(entity, entity_id, json_body(request), request.args.get("realm_id"))


def active(emulator, request, entity, entity_id):
    body = json_body(request)
    return emulator.set_active(entity, entity_id, body.get("active", False), body.get("realm_id"))


def delete(emulator, request, entity, entity_id):
    emulator.delete_entity(entity, entity_id, request.args.get("realm_id"))
    return {"status": "deleted"}


def void(emulator, request, entity, entity_id):
    return emulator.void_entity(entity, entity_id, request.args.get("realm_id"))


def pay_bill(emulator, request, bill_id):
    body = json_body(request)
    return emulator.pay_bill(bill_id, body.get("date"), body.get("realm_id"))


ROUTES = Map(
    [
        *common_rules(),
        rule("/writes", ["GET"], writes),
        rule("/realms", ["POST"], add_realm),
        rule("/throttles", ["GET", "POST"], throttles),
        rule("/connect", ["POST"], connect),
        rule("/book-close-date", ["POST"], book_close_date),
        rule("/doc-numbers", ["POST"], doc_numbers),
        rule("/entities/<entity>/<entity_id>", ["GET"], entity),
        rule("/entities/<entity>/<entity_id>/edit", ["POST"], edit),
        rule("/entities/<entity>/<entity_id>/active", ["POST"], active),
        rule("/entities/<entity>/<entity_id>/delete", ["POST"], delete),
        rule("/entities/<entity>/<entity_id>/void", ["POST"], void),
        rule("/bills/<bill_id>/pay", ["POST"], pay_bill),
    ]
)


def handle(emulator, request: Request) -> Response:
    """Unknown paths and objects answer 404, bad input 400, as `{"error": ...}`; a write that
    QuickBooks would refuse answers 400 with its Fault."""
    try:
        handler, args = ROUTES.bind_to_environ(request.environ).match()
    except HTTPException as exc:
        return json_response({"error": exc.description}, exc.code or 404)
    try:
        return common_control.handle(emulator, request, handler, args, respond=json_response)
    except QboFault as exc:
        return json_response({"error": str(exc), "Fault": {"Error": exc.errors}}, 400)
