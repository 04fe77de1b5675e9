"""The MYOB adapter against the emulator in process, every request it sends and every answer it
gets held to MYOB's JSON Schemas (integrations/specs/myob/)."""

import datetime
from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.connectors.differences import entry_differences
from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConfigurationError,
    LedgerValidationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.myob import MyobConnector
from integrations.connectors.myob import client as myob_client
from integrations.connectors.types import (
    AccountKind,
    ConnectorContext,
    EntryKind,
    EntryPayload,
    LinePayload,
    PaymentPayload,
    TrackingRef,
)
from tests.integrations.myob_emulator.conftest import ROOT
from tests.ledger_fixtures import credentials_from_token


def bill(seeded, number="INV-5001", reference="doc-1", **fields) -> EntryPayload:
    values = {
        "kind": EntryKind.BILL,
        "reference": reference,
        "number": number,
        "issue_date": datetime.date(2026, 11, 1),
        "due_date": datetime.date(2026, 12, 1),
        "currency": "AUD",
        "total": Decimal("110.00"),
        "lines": (
            LinePayload(
                description="Paper",
                quantity=Decimal("2"),
                unit_amount=Decimal("50"),
                account_code="6-1100",  # the account number; the adapter sends its UID
                tracking=(
                    TrackingRef("Job", "100 Workshop", "Job", seeded.job("100")),
                    TrackingRef("Category", "Sydney", "Category", seeded.category("SYD")),
                ),
                tax_type=seeded.tax("GST"),
            ),
        ),
        "contact_id": seeded.supplier("Acme Supplies"),
        "contact_name": "Acme Supplies",
        "url": f"http://ap.example/documents/1/?ref={reference}",
    }
    values.update(fields)
    return EntryPayload(**values)


def test_connect_url_asks_for_consent_and_the_callback_names_the_company_file():
    url = MyobConnector.authorization_url(
        base_url=ROOT, redirect_uri="http://ap.example/cb", state="s1"
    )
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/oauth2/account/authorize"
    assert query["prompt"] == ["consent"] and query["response_type"] == ["code"]
    assert MyobConnector.tenant_from_callback({"code": "c", "businessId": "b-1"}) == "b-1"
    with pytest.raises(AuthError):
        MyobConnector.tenant_from_callback({"code": "c"})


def test_consent_page_exchange_and_company_name(emulator, checked):
    second = emulator.add_company_file("Harbour Bikes (Emulated)")
    with httpx.Client(transport=checked, base_url=ROOT) as browser:
        url = MyobConnector.authorization_url(
            base_url=ROOT, redirect_uri="http://ap.example/cb", state="s1"
        )
        page = browser.get(url)
        assert "Harbour Bikes (Emulated)" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        answer = browser.post(
            "/oauth2/account/authorize",
            data={**form, "business_id": second["businessId"], "action": "allow"},
        )
    callback = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    assert callback["businessId"] == second["businessId"] and callback["state"] == "s1"
    credentials_ = MyobConnector.exchange_code(
        base_url=ROOT, code=callback["code"], redirect_uri="http://ap.example/cb", transport=checked
    )
    connector = MyobConnector(
        ConnectorContext(
            base_url=ROOT,
            tenant_id=MyobConnector.tenant_from_callback(callback),
            credentials=credentials_,
            transport=checked,
        )
    )
    try:
        [tenant] = connector.list_consent_tenants()
    finally:
        connector.close()
    assert (tenant.tenant_id, tenant.name) == (second["businessId"], "Harbour Bikes (Emulated)")


def test_create_find_and_read_a_bill(myob, seeded, emulator):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    assert created.total == Decimal("110.00")  # 100 + 10% GST
    assert created.amount_due == Decimal("110.00") and not created.booked
    assert created.number == "INV-5001" and created.due_date == datetime.date(2026, 12, 1)
    stored = emulator.record(created.external_id)
    assert stored["SupplierInvoiceNumber"] == "INV-5001"
    assert stored["Lines"][0]["Job"]["UID"] and stored["Category"]["UID"]
    [found] = myob.find_entries(kind=EntryKind.BILL, reference="doc-1", number="INV-5001")
    assert found.external_id == created.external_id
    assert myob.find_entries(kind=EntryKind.BILL, reference="doc-2", number="INV-5001") == []
    many = myob.find_entries_many(kind=EntryKind.BILL, numbers=["INV-5001", "NOPE"])
    assert [s.external_id for s in many["doc-1"]] == [created.external_id]
    assert myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id).total == Decimal(
        "110.00"
    )


def test_update_with_a_stale_rowversion_reads_again_and_retries_once(myob, seeded, emulator, tap):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")

    def edit_behind_our_back(request):
        if request.method == "PUT":
            tap.before = None
            emulator.edit(created.external_id, {"Comment": "changed in MYOB"})

    tap.before = edit_behind_our_back
    changed = bill(seeded, due_date=datetime.date(2026, 12, 15))
    state = myob.update_entry(created.external_id, changed, idempotency_key="k2")
    assert state.due_date == datetime.date(2026, 12, 15)
    puts = [r for r in tap.requests if r.method == "PUT"]
    assert len(puts) == 2  # the first met a 409, the second carried the fresh RowVersion


def test_a_second_conflict_is_a_transient_error(myob, seeded, emulator, tap):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")

    def always_edit(request):
        if request.method == "PUT":
            emulator.edit(created.external_id, {"Comment": "again"})

    tap.before = always_edit
    with pytest.raises(TransientError) as caught:
        myob.update_entry(created.external_id, bill(seeded), idempotency_key="k2")
    assert caught.value.http_status == 409 and "RowVersion" in caught.value.explanation


def test_payment_closes_the_bill_and_a_paid_bill_is_booked(myob, seeded, emulator):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    payment = myob.create_payment(
        PaymentPayload(
            reference="pay-1",
            entry_id=created.external_id,
            account_code="1-1110",
            paid_on=datetime.date(2026, 11, 20),
            amount=Decimal("110.00"),
        ),
        idempotency_key="p1",
    )
    assert payment.amount == Decimal("110.00")
    state = myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id)
    assert state.status == "Closed" and state.booked and state.amount_due == 0
    [found] = myob.find_payments(reference="pay-1", entry_id=created.external_id)
    assert found.external_id == payment.external_id
    with pytest.raises(BookedError):
        myob.update_entry(
            created.external_id, bill(seeded, total=Decimal("5")), idempotency_key="u"
        )


def test_payment_from_a_non_bank_account_is_explained(myob, seeded):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    with pytest.raises(LedgerValidationError) as caught:
        myob.create_payment(
            PaymentPayload(
                "pay-1",
                created.external_id,
                seeded.account("6-1200"),
                datetime.date(2026, 11, 20),
                Decimal("10"),
            ),
            idempotency_key="p1",
        )
    assert "Bank or Credit Card" in caught.value.explanation


def test_invoice_and_customer_payment(myob, seeded, emulator):
    invoice = bill(
        seeded,
        kind=EntryKind.INVOICE,
        number="S-100",
        contact_id=seeded.customer("Widget Co"),
        lines=(
            LinePayload(
                "Repairs",
                Decimal(1),
                Decimal("200"),
                seeded.account("4-1000"),
                tax_type=seeded.tax("GST"),
            ),
        ),
    )
    created = myob.create_entry(invoice, idempotency_key="i1")
    assert emulator.record(created.external_id)["Number"] == "S-100"
    myob.create_payment(
        PaymentPayload(
            "rcpt-1",
            created.external_id,
            "1-1110",
            datetime.date(2026, 11, 21),
            Decimal("220"),
        ),
        idempotency_key="r1",
    )
    assert myob.get_entry(kind=EntryKind.INVOICE, external_id=created.external_id).booked


def test_void_deletes_the_bill(myob, seeded, emulator):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    state = myob.update_entry(created.external_id, bill(seeded, voided=True), idempotency_key="v")
    assert state.gone and state.booked
    with pytest.raises(NotFoundError):
        myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id)


def test_void_of_a_bill_paid_in_myob_is_refused_as_booked_and_keeps_both(myob, seeded, emulator):
    """MYOB deletes no bill with payments applied (NOTES.md): the void of one paid there is
    booked, with MYOB's words and what to do, and nothing is deleted, its payment included."""
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    payment = emulator.pay(created.external_id, "2026-11-20")  # someone pays it in MYOB
    with pytest.raises(BookedError) as caught:
        myob.update_entry(created.external_id, bill(seeded, voided=True), idempotency_key="v")
    refusal = caught.value
    assert refusal.http_status == 400 and refusal.myob_name == "TransactionHasPayments"
    assert "payments applied cannot be deleted" in refusal.message
    assert "paid in MYOB" in refusal.explanation
    assert "delete the payment there first" in refusal.hint
    assert '"TransactionHasPayments"' in refusal.raw
    state = myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id)
    assert not state.gone and state.booked and state.amount_due == 0
    assert emulator.record(payment["UID"])["AmountPaid"] == 110.0

    # Once the payment is deleted in MYOB, the same void goes through.
    emulator.delete(payment["UID"])
    state = myob.update_entry(created.external_id, bill(seeded, voided=True), idempotency_key="v")
    assert state.gone
    with pytest.raises(NotFoundError):
        myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id)


@pytest.mark.parametrize(
    ("change", "error_class", "words"),
    [
        ("inactive_supplier", LedgerValidationError, "inactive"),
        ("header_account", LedgerValidationError, "header account"),
        ("unknown_tax_code", LedgerValidationError, "tax code"),
        ("locked_period", BookedError, "closed (locked)"),
    ],
)
def test_myob_errors_map_to_our_classes_with_the_catalogue(
    myob, seeded, emulator, change, error_class, words
):
    payload = bill(seeded)
    if change == "inactive_supplier":
        payload = bill(seeded, contact_id=seeded.supplier("Old Supplier"))
    elif change == "header_account":
        line = payload.lines[0]
        payload = bill(
            seeded,
            lines=(
                LinePayload(
                    line.description, line.quantity, line.unit_amount, seeded.account("6-1000")
                ),
            ),
        )
    elif change == "unknown_tax_code":
        line = payload.lines[0]
        payload = bill(
            seeded,
            lines=(
                LinePayload(
                    line.description,
                    line.quantity,
                    line.unit_amount,
                    line.account_code,
                    tax_type="00000000-0000-0000-0000-000000000000",
                ),
            ),
        )
    else:
        emulator.set_lock_date(date="2026-11-30")
    with pytest.raises(error_class) as caught:
        myob.create_entry(payload, idempotency_key="k")
    assert words in caught.value.explanation
    assert caught.value.raw.startswith('{"Errors"')


def test_company_file_locked_is_transient(myob, seeded, emulator):
    emulator.set_company_file_locked(True)
    with pytest.raises(TransientError) as caught:
        myob.list_accounts()
    assert caught.value.http_status == 423 and "offline" in caught.value.explanation


def test_a_write_refused_by_the_per_second_limit_is_a_short_rate_limit(myob, seeded, emulator):
    myob.list_accounts()  # the references a push names by UID
    emulator.set_faults(burst_429=1)
    with pytest.raises(RateLimitedError) as caught:
        myob.create_entry(bill(seeded), idempotency_key="k1")
    assert caught.value.retry_after == 1.0 and caught.value.problem == "second"
    assert emulator.records("Purchase/Bill/Service") == []  # refused: the engine retries


def test_a_read_refused_by_the_per_second_limit_waits_the_second_out(
    myob, emulator, monkeypatch, tap
):
    waits = []
    monkeypatch.setattr(myob_client, "_pause", waits.append)
    emulator.set_faults(burst_429=1)
    assert myob.list_contacts()
    assert waits == [1.0]
    assert [r.url.path.rsplit("/", 1)[-1] for r in tap.requests] == ["Supplier", "Supplier"]
    emulator.set_faults(burst_429=2)
    with pytest.raises(RateLimitedError):  # once only: a second refusal is the engine's
        myob.list_contacts()


def test_daily_limit_is_a_rate_limit_until_the_next_day(myob, emulator):
    emulator.set_limits(calls_per_day=2)
    myob.check_connection()
    myob.list_contacts()
    with pytest.raises(RateLimitedError) as caught:
        myob.list_accounts()
    assert caught.value.http_status == 403 and caught.value.problem == "day"
    assert caught.value.retry_after > 1 and "daily limit" in caught.value.explanation


def test_daily_limit_is_shared_by_every_company_file_of_the_key(emulator, tap):
    second = emulator.add_company_file("Harbour Bikes (Emulated)")
    emulator.set_limits(calls_per_day=3)
    connectors = [
        MyobConnector(
            ConnectorContext(
                base_url=ROOT,
                tenant_id=token["businessId"],
                credentials=credentials_from_token(token),
                transport=tap,
            )
        )
        for token in (emulator.connect(), emulator.connect(second["businessId"]))
    ]
    connectors[0].check_connection()
    connectors[0].list_contacts()
    connectors[1].check_connection()
    with pytest.raises(RateLimitedError):
        connectors[1].list_contacts()  # the other tenant spent the key's day
    for connector in connectors:
        connector.close()


def test_expired_token_refreshes_and_keeps_the_new_refresh_token(token, tap, saved, emulator):
    connector = MyobConnector(
        ConnectorContext(
            base_url=ROOT,
            tenant_id=token["businessId"],
            credentials=credentials_from_token(token, expires_in=0),
            save_credentials=saved.append,
            transport=tap,
        )
    )
    try:
        assert connector.list_accounts()
    finally:
        connector.close()
    assert saved and saved[-1].refresh_token != token["refresh_token"]


def test_lost_answer_on_create_is_unknown_outcome(myob, seeded, emulator):
    emulator.set_faults(drop_response_next=1)
    with pytest.raises(UnknownOutcomeError):
        myob.create_entry(bill(seeded), idempotency_key="k1")
    [found] = myob.find_entries(kind=EntryKind.BILL, reference="doc-1", number="INV-5001")
    assert found.total == Decimal("110.00")  # the write happened: the search finds it


def test_lists_use_neutral_kinds_and_offer_jobs_and_categories(myob, seeded):
    accounts = {a.external_id: a for a in myob.list_accounts()}
    assert accounts[seeded.account("1-1110")].kind == AccountKind.BANK
    assert accounts[seeded.account("1-1180")].kind == AccountKind.BANK
    assert accounts[seeded.account("6-1100")].kind == AccountKind.EXPENSE
    assert accounts[seeded.account("6-1100")].code == "6-1100"
    assert accounts[seeded.account("6-1000")].kind == AccountKind.OTHER  # a header
    assert accounts[seeded.account("6-1900")].status == "ARCHIVED"
    assert accounts[seeded.account("2-1510")].kind == AccountKind.PAYABLE
    names = {c.name: c.status for c in myob.list_contacts()}
    assert names["Old Supplier"] == "ARCHIVED" and names["Acme Supplies"] == "ACTIVE"
    options = {(o.category_name, o.option_name) for o in myob.list_tracking_options()}
    assert ("Job", "100 Workshop") in options and ("Category", "Sydney") in options
    assert not any(name.startswith("900") for _, name in options)  # header job
    assert {r.name.split()[0] for r in myob.list_tax_rates()} == {"GST", "FRE", "N-T"}


def test_unmapped_supplier_names_what_to_map(myob, seeded):
    with pytest.raises(ConfigurationError) as caught:
        myob.create_entry(bill(seeded, contact_id=""), idempotency_key="k")
    assert caught.value.missing_mapping["kind"] == "contact"


def test_attachment(myob, seeded, emulator):
    created = myob.create_entry(bill(seeded), idempotency_key="k1")
    attached = myob.attach_file(
        kind=EntryKind.BILL,
        external_id=created.external_id,
        filename="receipt.pdf",
        content=b"%PDF-1.4 x",
        content_type="application/pdf",
    )
    assert attached.external_id and attached.size == 10


def test_every_call_carries_the_api_key_and_version(myob, tap):
    myob.list_accounts()
    for request in tap.requests:
        assert request.headers["x-myobapi-key"] == "ledgersync-myob-dev"
        assert request.headers["x-myobapi-version"] == "v2"


def test_an_unknown_account_number_names_what_to_map(myob, seeded):
    line = LinePayload("Paper", Decimal(1), Decimal(10), "9-9999", tax_type=seeded.tax("GST"))
    with pytest.raises(ConfigurationError) as caught:
        myob.create_entry(bill(seeded, lines=(line,)), idempotency_key="k")
    assert "9-9999" in str(caught.value)


def test_a_read_entry_matches_the_document_it_came_from(myob, seeded):
    """The state a read gives back compares equal to the payload (no drift reported): the
    account by its number, the job and the header's category as each line's tracking."""
    line = bill(seeded).lines[0]
    payload = bill(seeded, lines=(replace(line, quantity=Decimal(1), unit_amount=Decimal(100)),))
    created = myob.create_entry(payload, idempotency_key="k1")
    state = myob.get_entry(kind=EntryKind.BILL, external_id=created.external_id)
    assert entry_differences(payload, state) == []


def test_a_second_push_in_the_process_names_accounts_without_reading_them(
    myob, seeded, token, tap, emulator
):
    # What the engine asks the key's quota for besides the push's own call (the two reads).
    where = {"base_url": ROOT, "tenant_id": token["businessId"]}
    assert MyobConnector.requests_before_push(**where) == 2
    myob.create_entry(bill(seeded), idempotency_key="k1")
    assert [r.url.path.rsplit("/", 2)[-2:] for r in tap.requests if r.method == "GET"] == [
        ["GeneralLedger", "Account"],
        ["GeneralLedger", "TaxCode"],
    ]
    assert MyobConnector.requests_before_push(**where) == 0
    assert MyobConnector.requests_before_push(base_url=ROOT, tenant_id="another-file") == 2
    tap.requests.clear()
    other = MyobConnector(
        ConnectorContext(
            base_url=ROOT,
            tenant_id=token["businessId"],
            credentials=credentials_from_token(token),
            transport=tap,
        )
    )
    try:
        other.create_entry(bill(seeded, number="INV-5002", reference="doc-2"), idempotency_key="k2")
    finally:
        other.close()
    assert [r.method for r in tap.requests] == ["POST"]  # one call on the key's quota


def test_card_expense_is_spend_money_from_its_account_with_its_receipt(myob, seeded, emulator):
    spend = bill(
        seeded,
        kind=EntryKind.SPEND,
        number="EXP-7",
        bank_account_code="1-1180",
        lines=(LinePayload("Taxi", Decimal(1), Decimal("58.50"), "6-1500"),),
    )
    created = myob.create_entry(spend, idempotency_key="s1")
    assert (created.total, created.amount_due, created.booked) == (Decimal("58.50"), 0, False)
    stored = emulator.record(created.external_id)
    assert stored["Account"]["DisplayID"] == "1-1180" and stored["PaymentNumber"] == "EXP-7"
    assert stored["Lines"][0]["TaxCode"]["Code"] == "N-T"  # no rate named: not reportable
    [found] = myob.find_entries(kind=EntryKind.SPEND, reference="doc-1", number="EXP-7")
    assert found.external_id == created.external_id
    attached = myob.attach_file(
        kind=EntryKind.SPEND,
        external_id=created.external_id,
        filename="taxi.pdf",
        content=b"%PDF",
        content_type="application/pdf",
    )
    assert attached.external_id
    myob.update_entry(created.external_id, replace(spend, voided=True), idempotency_key="s2")
    assert emulator.records("Banking/SpendMoneyTxn") == []


def test_a_spend_without_its_account_names_what_to_set(myob, seeded):
    spend = bill(seeded, kind=EntryKind.SPEND, number="EXP-8")
    with pytest.raises(ConfigurationError) as caught:
        myob.create_entry(spend, idempotency_key="s1")
    assert "spent from" in caught.value.hint
