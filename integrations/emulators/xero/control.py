"""Xero's side of the control API (`/_emulator/...`), beside the shared endpoints of
common/control.py: tenants, users, invoices edited behind our back, lock dates, rate limits and
a consent without a browser. Every handler calls the XeroEmulator method of the same name."""

from ..common.control import common_rules, json_body, rule


def writes(emulator, request):
    since = request.args.get("since")
    return {
        "writes": emulator.writes(request.args.get("tenant_id"), float(since) if since else None)
    }


def add_tenant(emulator, request):
    name = json_body(request).get("name")
    if not name:
        raise ValueError("name is required")
    return emulator.add_tenant(name), 201


def delete_tenant(emulator, request, tenant_id):
    return emulator.delete_tenant(tenant_id)


def subscription(emulator, request, tenant_id):
    active = json_body(request).get("active")
    if not isinstance(active, bool):
        raise ValueError("active (true or false) is required")
    return emulator.set_subscription(tenant_id, active=active)


def add_user(emulator, request):
    body = json_body(request)
    if not body.get("email"):
        raise ValueError("email is required")
    return emulator.add_user(body["email"], body.get("tenant_ids")), 201


def book(emulator, request, invoice_id):
    return emulator.book_invoice(invoice_id, json_body(request).get("date"))


def void(emulator, request, invoice_id):
    return emulator.void_invoice(invoice_id)


def edit(emulator, request, invoice_id):
    return emulator.edit_invoice(invoice_id, json_body(request))


def delete_payment(emulator, request, payment_id):
    return emulator.delete_payment(payment_id)


def lock_date(emulator, request):
    body = json_body(request)
    if "date" in body or "end_of_year_date" not in body:
        emulator.set_lock_date(body.get("tenant_id"), body.get("date"))
    if "end_of_year_date" in body:
        emulator.set_lock_date(body.get("tenant_id"), body["end_of_year_date"], end_of_year=True)
    tenant_id = body.get("tenant_id") or emulator.default_tenant_id
    return {"tenant_id": tenant_id, "date": body.get("date")}


def rate_limits(emulator, request):
    if request.method == "POST":
        return emulator.set_rate_limits(**json_body(request))
    return emulator.rate_limits()


def connect(emulator, request):
    body = json_body(request)
    kwargs = {k: body[k] for k in ("tenant_ids", "scope", "user") if k in body}
    return emulator.connect(**kwargs)


ROUTES = [
    *common_rules(),
    rule("/writes", ["GET"], writes),
    rule("/tenants", ["POST"], add_tenant),
    rule("/tenants/<tenant_id>", ["DELETE"], delete_tenant),
    rule("/tenants/<tenant_id>/subscription", ["POST"], subscription),
    rule("/users", ["POST"], add_user),
    rule("/invoices/<invoice_id>/book", ["POST"], book),
    rule("/invoices/<invoice_id>/void", ["POST"], void),
    rule("/invoices/<invoice_id>/edit", ["POST"], edit),
    rule("/payments/<payment_id>/delete", ["POST"], delete_payment),
    rule("/lock-date", ["POST"], lock_date),
    rule("/rate-limits", ["GET", "POST"], rate_limits),
    rule("/connect", ["POST"], connect),
]
