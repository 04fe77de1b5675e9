"""HTTP side of the MYOB emulator's control API (`/_emulator/...`): the shared endpoints
(health, reset, state, faults, tokens) and MYOB's own. Each handler calls the MyobEmulator
method of the same meaning."""

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from ..common import control as common
from ..common.control import json_body, rule
from .company import MyobError
from .wire import json_response


def company_files(emulator, request):
    name = json_body(request).get("name")
    if not name:
        raise ValueError("name is required")
    return emulator.add_company_file(name), 201


def connect(emulator, request):
    return emulator.connect(json_body(request).get("business_id"))


def limits(emulator, request):
    if request.method == "POST":
        return emulator.set_limits(**json_body(request))
    return emulator.limits()


def lock_date(emulator, request):
    body = json_body(request)
    emulator.set_lock_date(body.get("business_id"), body.get("date"))
    return {"date": body.get("date")}


def company_file_lock(emulator, request):
    body = json_body(request)
    emulator.set_company_file_locked(body.get("locked", True), body.get("business_id"))
    return {"locked": bool(body.get("locked", True))}


def must_reverse(emulator, request):
    body = json_body(request)
    emulator.set_must_reverse(body.get("must_reverse", True), body.get("business_id"))
    return {"must_reverse": bool(body.get("must_reverse", True))}


def writes(emulator, request):
    since = request.args.get("since")
    return {
        "writes": emulator.writes(request.args.get("business_id"), float(since) if since else None)
    }


def records(emulator, request, resource):
    return {"Items": emulator.records(resource, request.args.get("business_id"))}


def record(emulator, request, uid):
    return emulator.record(uid, request.args.get("business_id"))


def edit(emulator, request, uid):
    return emulator.edit(uid, json_body(request), request.args.get("business_id"))


def active(emulator, request, uid):
    body = json_body(request)
    return emulator.set_active(uid, body.get("active", False), body.get("business_id"))


def delete(emulator, request, uid):
    emulator.delete(uid, request.args.get("business_id"))
    return {"status": "deleted"}


def pay(emulator, request, uid):
    body = json_body(request)
    return emulator.pay(uid, body.get("date"), body.get("business_id"))


def rules():
    return [
        *common.common_rules(),
        rule("/company-files", ["POST"], company_files),
        rule("/connect", ["POST"], connect),
        rule("/limits", ["GET", "POST"], limits),
        rule("/lock-date", ["POST"], lock_date),
        rule("/company-file-lock", ["POST"], company_file_lock),
        rule("/must-reverse", ["POST"], must_reverse),
        rule("/writes", ["GET"], writes),
        rule("/resources/<path:resource>", ["GET"], records),
        rule("/records/<uid>", ["GET"], record),
        rule("/records/<uid>/edit", ["POST"], edit),
        rule("/records/<uid>/active", ["POST"], active),
        rule("/records/<uid>/delete", ["POST"], delete),
        rule("/records/<uid>/pay", ["POST"], pay),
    ]


def handle(emulator, request: Request) -> Response:
    try:
        handler, args = emulator.routes.bind_to_environ(request.environ).match()
    except HTTPException as exc:
        return json_response({"error": exc.description}, exc.code or 404)
    return common.handle(emulator, request, _refusals_as_myob(handler), args, respond=json_response)


def _refusals_as_myob(handler):
    """What MYOB itself refuses (deleting a bill with payments, a locked period) answers with
    MYOB's status and error body, as its API would, not as a control API failure."""

    def run(emulator, request, **args):
        try:
            return handler(emulator, request, **args)
        except MyobError as refusal:
            return refusal.body(), refusal.status

    return run
