"""The Xero adapter against the in-process emulator: every operation and every error class."""

import datetime
from decimal import Decimal

import httpx
import pytest

from integrations.connectors import connector_class_for
from integrations.connectors.errors import (
    AuthError,
    BookedError,
    LedgerValidationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.types import (
    EntryKind,
    EntryPayload,
    LinePayload,
    PaymentPayload,
    TrackingRef,
)
from integrations.connectors.xero import XeroConnector, parse_xero_date


def bill(reference="ls-1-1", number="V-100", **overrides) -> EntryPayload:
    values = {
        "kind": EntryKind.BILL,
        "reference": reference,
        "number": number,
        "issue_date": datetime.date(2026, 11, 1),
        "due_date": datetime.date(2026, 11, 30),
        "currency": "USD",
        "total": Decimal("150.00"),
        "lines": (
            LinePayload("Paper", Decimal("2"), Decimal("50.00"), "429"),
            LinePayload(
                "Toner",
                Decimal("1"),
                Decimal("50.00"),
                "429",
                tracking=(TrackingRef("Department", "Sales"),),
            ),
        ),
        "contact_name": "Office Supplies Ltd",
        "url": f"http://127.0.0.1:8000/documents/1/?ref={reference}",
    }
    values.update(overrides)
    return EntryPayload(**values)


def payment(entry_id, amount="50.00", reference="ls-1-1-p1") -> PaymentPayload:
    return PaymentPayload(
        reference=reference,
        entry_id=entry_id,
        account_code="090",
        paid_on=datetime.date(2026, 11, 10),
        amount=Decimal(amount),
    )


def test_registry_finds_the_xero_connector():
    assert connector_class_for("xero") is XeroConnector
    with pytest.raises(LookupError):
        connector_class_for("sage")


def test_check_connection_and_tenants(xero, xero_emulator):
    check = xero.check_connection()
    assert check.tenant_id == xero_emulator.default_tenant_id
    assert check.tenant_name == "Demo Company (Emulated)"


def test_lists_for_mapping(xero):
    accounts = {account.code: account for account in xero.list_accounts()}
    assert accounts["090"].type == "BANK"
    assert accounts["429"].status == "ACTIVE"
    assert any(account.status == "ARCHIVED" for account in accounts.values())
    options = {(o.category_name, o.option_name) for o in xero.list_tracking_options()}
    assert ("Department", "Sales") in options
    assert xero.list_contacts()


def test_create_find_get_and_update_a_bill(xero, xero_emulator):
    state = xero.create_entry(bill(), idempotency_key="ls-1-1-create-v1")
    assert state.status == "AUTHORISED"
    assert (state.total, state.amount_due, state.booked) == (
        Decimal("150.00"),
        Decimal("150.00"),
        False,
    )
    stored = xero_emulator.invoice(state.external_id)
    assert stored["Type"] == "ACCPAY"
    assert stored["Contact"]["Name"] == "Office Supplies Ltd"

    found = xero.find_entries(kind=EntryKind.BILL, reference="ls-1-1", number="V-100")
    assert [entry.external_id for entry in found] == [state.external_id]
    # The same vendor number with another reference is not ours: Xero bill numbers repeat.
    assert xero.find_entries(kind=EntryKind.BILL, reference="ls-1-2", number="V-100") == []

    changed = bill(
        due_date=datetime.date(2026, 12, 15),
        total=Decimal("120.00"),
        lines=(LinePayload("Paper", Decimal("1"), Decimal("120.00"), "429"),),
    )
    updated = xero.update_entry(state.external_id, changed, idempotency_key="ls-1-1-update-v2")
    assert updated.total == Decimal("120.00")
    fetched = xero.get_entry(kind=EntryKind.BILL, external_id=state.external_id)
    assert fetched.total == Decimal("120.00")
    assert len(xero_emulator.invoice(state.external_id)["LineItems"]) == 1
    assert len(xero_emulator.invoices()) == 1


def test_repeated_idempotency_key_creates_one_entry(xero, xero_emulator):
    first = xero.create_entry(bill(), idempotency_key="ls-1-1-create-v1")
    second = xero.create_entry(bill(), idempotency_key="ls-1-1-create-v1")
    assert first.external_id == second.external_id
    assert len(xero_emulator.invoices()) == 1


def test_batch_create_reports_each_item(xero, xero_emulator):
    good = bill(reference="ls-1-1", number="A-1")
    bad = bill(
        reference="ls-1-2",
        number="A-2",
        total=Decimal("10.00"),
        lines=(LinePayload("Thing", Decimal("1"), Decimal("10.00"), "999"),),
    )
    results = xero.create_entries([good, bad], idempotency_key="batch-1")
    assert results[0].state is not None and results[0].error is None
    assert results[1].state is None
    error = results[1].error
    assert isinstance(error, LedgerValidationError)
    assert "Account code '999' is not a valid code" in error.message
    assert "no active account with code 999" in error.explanation
    assert "Mappings" in error.hint
    assert len(xero_emulator.invoices()) == 1


def test_payments_make_the_bill_paid_and_booked(xero):
    entry = xero.create_entry(bill(), idempotency_key="k1")
    part = xero.create_payment(payment(entry.external_id, "50.00"), idempotency_key="p1")
    assert part.amount == Decimal("50.00")
    assert part.entry_id == entry.external_id
    xero.create_payment(payment(entry.external_id, "100.00", "p2"), idempotency_key="p2")
    state = xero.get_entry(kind=EntryKind.BILL, external_id=entry.external_id)
    assert (state.status, state.amount_due, state.booked) == ("PAID", Decimal("0.00"), True)


def test_payment_above_amount_due_is_explained(xero):
    entry = xero.create_entry(bill(), idempotency_key="k1")
    with pytest.raises(LedgerValidationError) as caught:
        xero.create_payment(payment(entry.external_id, "500.00"), idempotency_key="p1")
    assert "exceeds the amount outstanding" in caught.value.message
    assert "already be recorded in Xero" in caught.value.explanation


def test_updating_a_paid_bill_is_booked(xero, xero_emulator):
    entry = xero.create_entry(bill(), idempotency_key="k1")
    xero_emulator.book_invoice(entry.external_id)
    with pytest.raises(BookedError) as caught:
        xero.update_entry(entry.external_id, bill(), idempotency_key="k2")
    assert "not of valid status for modification" in caught.value.raw
    assert "paid, voided or otherwise closed in Xero" in caught.value.explanation


def test_a_bill_in_a_locked_period_is_booked(xero, xero_emulator):
    xero_emulator.set_lock_date(lock_date="2026-11-15")
    with pytest.raises(BookedError) as caught:
        xero.create_entry(bill(), idempotency_key="k1")
    assert "locked" in caught.value.explanation


def test_archived_contact_is_explained(xero):
    # Xero lists active contacts only; the seeded "Old Vendor Inc" is archived.
    assert "Old Vendor Inc" not in {contact.name for contact in xero.list_contacts()}
    with pytest.raises(LedgerValidationError) as caught:
        xero.create_entry(bill(contact_name="Old Vendor Inc"), idempotency_key="k1")
    assert "archived" in caught.value.explanation
    assert "Restore the contact" in caught.value.hint


def test_attach_a_file(xero, xero_emulator):
    entry = xero.create_entry(bill(), idempotency_key="k1")
    attached = xero.attach_file(
        kind=EntryKind.BILL,
        external_id=entry.external_id,
        filename="receipt one.pdf",
        content=b"%PDF-1.4 receipt",
        content_type="application/pdf",
    )
    assert (attached.filename, attached.size) == ("receipt one.pdf", 16)
    assert xero_emulator.invoice(entry.external_id)["HasAttachments"] is True


def test_expired_access_token_is_refreshed_once_and_saved(xero, xero_emulator, recorder):
    old_refresh = xero.context.credentials.refresh_token
    xero_emulator.expire_tokens()
    assert xero.check_connection().tenant_id == xero_emulator.default_tenant_id
    assert [call.http_status for call in recorder.calls] == [401, 200]
    assert len(recorder.saved) == 1
    # Xero rotates refresh tokens: the new one was saved, the old one is dead.
    assert recorder.saved[0].refresh_token != old_refresh
    assert xero.context.credentials is recorder.saved[0]


def test_token_near_expiry_is_refreshed_before_the_call(xero, recorder):
    xero.context.credentials.expires_at = datetime.datetime.now(datetime.UTC)
    xero.list_accounts()
    assert [call.http_status for call in recorder.calls] == [200]
    assert len(recorder.saved) == 1


def test_revoked_access_is_an_auth_error(xero, xero_emulator):
    xero_emulator.revoke_tokens()
    with pytest.raises(AuthError) as caught:
        xero.list_accounts()
    assert caught.value.status_code == 4220
    assert "reconnect" in caught.value.hint.lower()


def test_wrong_tenant_is_an_auth_error(xero):
    xero.context.tenant_id = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(AuthError, match="HTTP 403"):
        xero.list_accounts()


def test_unknown_entry_is_not_found(xero):
    with pytest.raises(NotFoundError):
        xero.get_entry(kind=EntryKind.BILL, external_id="8f7e6d5c-0000-4000-8000-000000000000")


def test_server_error_is_transient(xero, xero_emulator):
    xero_emulator.set_faults(fail_next={"count": 1, "status": 503})
    with pytest.raises(TransientError) as caught:
        xero.list_accounts()
    assert caught.value.http_status == 503
    assert xero.list_accounts()


def test_rate_limit_carries_retry_after(xero, xero_emulator):
    xero_emulator.set_faults(burst_429=1)
    with pytest.raises(RateLimitedError) as caught:
        xero.list_accounts()
    assert caught.value.retry_after >= 1
    assert isinstance(caught.value, TransientError)  # retried like any transient error


def test_minute_limit_of_the_emulator(xero, xero_emulator, recorder):
    xero_emulator.set_rate_limits(calls_per_window=2, window_seconds=60)
    xero.list_accounts()
    xero.list_contacts()
    with pytest.raises(RateLimitedError) as caught:
        xero.list_accounts()
    assert caught.value.problem == "minute"
    assert recorder.calls[-2].rate_limit["X-MinLimit-Remaining"] == "0"


def test_read_timeout_is_transient(xero, xero_emulator):
    xero_emulator.set_faults(timeout_rate=1.0)
    with pytest.raises(TransientError) as caught:
        xero.list_accounts()
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_lost_answer_to_a_create_is_an_unknown_outcome_and_findable(xero, xero_emulator):
    xero_emulator.set_faults(drop_response_next=1)
    with pytest.raises(UnknownOutcomeError):
        xero.create_entry(bill(), idempotency_key="k1")
    # The entry was made: the next attempt finds it by our reference instead of creating again.
    found = xero.find_entries(kind=EntryKind.BILL, reference="ls-1-1", number="V-100")
    assert len(found) == 1
    assert len(xero_emulator.invoices()) == 1


def test_connection_error_is_transient_not_unknown():
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    from integrations.connectors.types import ConnectorContext, OAuthCredentials

    connector = XeroConnector(
        ConnectorContext(
            base_url="http://127.0.0.1:9",
            tenant_id="t",
            credentials=OAuthCredentials(
                "a", "r", datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
            ),
            transport=httpx.MockTransport(refuse),
        )
    )
    with pytest.raises(TransientError) as caught:
        connector.create_entry(bill(), idempotency_key="k")
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_calls_are_recorded_without_tokens(xero, recorder):
    xero.create_entry(bill(), idempotency_key="k1")
    call = recorder.calls[-1]
    assert (call.method, call.http_status) == ("PUT", 200)
    assert call.url.endswith("/api.xro/2.0/Invoices")
    assert '"InvoiceNumber": "V-100"' in call.request_body
    assert "X-DayLimit-Remaining" in call.rate_limit
    xero.refresh_credentials()
    assert all(xero.context.credentials.access_token not in c.response_body for c in recorder.calls)


def test_ms_json_dates():
    assert parse_xero_date("/Date(1764547200000+0000)/") == datetime.datetime(
        2025, 12, 1, tzinfo=datetime.UTC
    )
    assert parse_xero_date("2026-11-01T00:00:00").year == 2026
    assert parse_xero_date("") is None


def test_revoke_disconnects_and_kills_the_refresh_token(xero, xero_emulator):
    xero.revoke()
    assert xero_emulator.state()["connections"] == []
    with pytest.raises(AuthError):
        xero.refresh_credentials()


def test_consent_page_address_for_the_browser(settings):
    from integrations.services import connection_authorization_url

    settings.LEDGER_EMULATOR_ALLOWED = True
    settings.XERO_EMULATOR_URL = "http://emulator:8123"
    settings.XERO_EMULATOR_PUBLIC_URL = "http://127.0.0.1:8123"
    url = connection_authorization_url(
        provider="xero", base_url="http://emulator:8123", redirect_uri="http://x/cb", state="s"
    )
    assert url.startswith("http://127.0.0.1:8123/identity/connect/authorize?")


def test_find_many_by_number_keys_by_our_reference(xero):
    xero.create_entry(bill(reference="ls-1-1", number="N-1"), idempotency_key="a")
    xero.create_entry(bill(reference="ls-1-2", number="N-2"), idempotency_key="b")
    xero.create_entry(bill(reference="ls-9-9", number="N-2"), idempotency_key="c")
    found = xero.find_entries_many(kind=EntryKind.BILL, numbers=["N-1", "N-2", "N-3"])
    assert sorted(found) == ["ls-1-1", "ls-1-2", "ls-9-9"]
    assert [state.number for state in found["ls-1-2"]] == ["N-2"]
    assert xero.find_entries_many(kind=EntryKind.BILL, numbers=[]) == {}
