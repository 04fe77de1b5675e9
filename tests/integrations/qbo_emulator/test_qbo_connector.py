"""The QBO adapter against the emulator in process, every request it sends and every answer it
gets checked against Intuit's XML Schemas (the contract transport raises on a violation)."""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConfigurationError,
    DuplicateError,
    LedgerValidationError,
    NotFoundError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.qbo import QboConnector, request_id
from integrations.connectors.types import (
    ConnectorContext,
    EntryKind,
    EntryPayload,
    LinePayload,
    PaymentPayload,
    TrackingRef,
)
from integrations.emulators.qbo import EmulatorConfig, EmulatorTransport, QboEmulator
from integrations.specs.qbo import ContractCheckingTransport
from tests.ledger_fixtures import Tap, credentials_from_token

ROOT = "http://qbo.emulator"
OFFICE_SUPPLIES, TRAVEL, CHECKING, MASTERCARD = "8", "12", "2", "7"
SUPPLIER, OLD_VENDOR, OPERATIONS, WAREHOUSE = "17", "20", "24", "28"


@pytest.fixture
def emulator():
    return QboEmulator(EmulatorConfig(calls_per_second=10_000))


@pytest.fixture
def tap(emulator):
    checked = ContractCheckingTransport(EmulatorTransport(emulator))
    tap = Tap(checked)
    yield tap
    checked.assert_no_violations()


@pytest.fixture
def saved():
    return []


@pytest.fixture
def qbo(emulator, tap, saved):
    token = emulator.connect()
    connector = QboConnector(
        ConnectorContext(
            base_url=ROOT,
            tenant_id=token["realmId"],
            credentials=credentials_from_token(token),
            save_credentials=saved.append,
            transport=tap,
        )
    )
    yield connector
    connector.close()


def bill(number="SUP-1", reference="doc-1", **fields) -> EntryPayload:
    values = {
        "kind": EntryKind.BILL,
        "reference": reference,
        "number": number,
        "issue_date": datetime.date(2026, 11, 1),
        "due_date": datetime.date(2026, 12, 1),
        "currency": "USD",
        "total": Decimal("100.00"),
        "lines": (
            LinePayload(
                description="Paper",
                quantity=Decimal("2"),
                unit_amount=Decimal("50"),
                account_code=OFFICE_SUPPLIES,
                tracking=(
                    TrackingRef("Class", "Operations", "Class", OPERATIONS),
                    TrackingRef("Department", "Warehouse", "Department", WAREHOUSE),
                ),
            ),
        ),
        "contact_id": SUPPLIER,
        "contact_name": "Office Supplies Ltd",
        "url": f"http://localhost:8000/documents/1/?ref={reference}",
    }
    return EntryPayload(**{**values, **fields})


def paths(tap) -> list[str]:
    return [f"{r.method} {r.url.path.rsplit('/', 1)[-1]}" for r in tap.requests]


def test_oauth_consent_code_and_realm(emulator, tap, settings):
    url = QboConnector.authorization_url(
        base_url=ROOT, redirect_uri="http://localhost/cb", state="s"
    )
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{ROOT}/connect/oauth2?")
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["client_id"] == ["ledgersync-qbo-dev"]
    with httpx.Client(transport=tap, base_url=ROOT) as browser:
        answer = browser.post(
            "/connect/oauth2",
            data={**{k: v[0] for k, v in query.items()}, "realm_id": emulator.default_realm_id},
        )
    callback = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    realm_id = QboConnector.realm_from_callback(callback)
    assert realm_id == emulator.default_realm_id
    creds = QboConnector.exchange_code(
        base_url=ROOT, code=callback["code"], redirect_uri="http://localhost/cb", transport=tap
    )
    connector = QboConnector(
        ConnectorContext(base_url=ROOT, tenant_id=realm_id, credentials=creds, transport=tap)
    )
    check = connector.check_connection()
    assert (check.tenant_id, check.tenant_name) == (realm_id, "Sandbox Company (Emulated)")
    assert connector.list_tenants()[0].name == "Sandbox Company (Emulated)"
    with pytest.raises(AuthError):
        QboConnector.realm_from_callback({"code": "x"})
    with pytest.raises(AuthError):
        QboConnector.exchange_code(
            base_url=ROOT, code=callback["code"], redirect_uri="http://localhost/cb", transport=tap
        )


def test_choices_for_mappings(qbo):
    accounts = {a.name: a for a in qbo.list_accounts()}
    assert accounts["Checking"].type == "Bank" and accounts["Checking"].code == CHECKING
    assert accounts["Travel"].account_class == "EXPENSE"
    assert accounts["Old Expenses"].status == "ARCHIVED"
    vendors = {c.name: c for c in qbo.list_contacts()}
    assert vendors["Office Supplies Ltd"].external_id == SUPPLIER
    options = {(o.category_name, o.option_name) for o in qbo.list_tracking_options()}
    assert ("Class", "Operations") in options and ("Department", "Warehouse") in options
    assert qbo.list_tax_rates() == []


def test_create_find_and_read_a_bill(qbo, emulator, tap):
    state = qbo.create_entry(bill(), idempotency_key="doc-1:v1:create")
    assert (state.number, state.total, state.amount_due, state.booked) == (
        "SUP-1",
        Decimal("100.00"),
        Decimal("100.00"),
        False,
    )
    [stored] = emulator.entities("Bill")
    assert stored["DepartmentRef"]["value"] == WAREHOUSE
    detail = stored["Line"][0]["AccountBasedExpenseLineDetail"]
    assert (detail["AccountRef"]["value"], detail["ClassRef"]["value"]) == (
        OFFICE_SUPPLIES,
        OPERATIONS,
    )
    assert emulator.state()["requests"][0]["requestid"] == request_id("doc-1:v1:create")
    assert all(r["minorversion"] == "75" for r in emulator.state()["requests"])

    # The same number from another vendor: our reference tells the two apart.
    qbo.create_entry(bill(reference="doc-9", contact_id="18"), idempotency_key="other")
    [found] = qbo.find_entries(kind=EntryKind.BILL, reference="doc-1", number="SUP-1")
    assert found.external_id == state.external_id
    many = qbo.find_entries_many(kind=EntryKind.BILL, numbers=["SUP-1", "NONE"])
    assert set(many) == {"doc-1", "doc-9"}
    read = qbo.get_entry(kind=EntryKind.BILL, external_id=state.external_id)
    assert read.lines[0].account_code == OFFICE_SUPPLIES and read.due_date == datetime.date(
        2026, 12, 1
    )
    assert set(qbo.get_entries(kind=EntryKind.BILL, external_ids=[state.external_id, "999"])) == {
        state.external_id
    }
    with pytest.raises(NotFoundError):
        qbo.get_entry(kind=EntryKind.BILL, external_id="999")


def test_a_lost_answer_is_an_unknown_outcome_and_the_retry_gets_the_first_answer(qbo, emulator):
    emulator.set_faults(drop_response_next=1)
    with pytest.raises(UnknownOutcomeError):
        qbo.create_entry(bill(), idempotency_key="doc-1:v1:create")
    state = qbo.create_entry(bill(), idempotency_key="doc-1:v1:create")
    assert len(emulator.entities("Bill")) == 1
    assert state.external_id == emulator.entities("Bill")[0]["Id"]


def test_an_update_sends_the_sync_token_and_a_stale_one_reads_and_retries_once(qbo, emulator, tap):
    created = qbo.create_entry(bill(), idempotency_key="k-create")
    edits = []

    def edit_behind_our_back(request):
        if request.method == "POST" and request.url.path.endswith("/bill") and not edits:
            edits.append(emulator.edit_entity("Bill", created.external_id, {"PrivateNote": "x"}))

    tap.before = edit_behind_our_back
    tap.requests.clear()
    state = qbo.update_entry(
        created.external_id, bill(due_date=datetime.date(2026, 12, 24)), idempotency_key="k-update"
    )
    assert paths(tap) == [
        f"GET {created.external_id}",
        "POST bill",
        f"GET {created.external_id}",
        "POST bill",
    ]
    assert state.due_date == datetime.date(2026, 12, 24)
    assert emulator.entity("Bill", created.external_id)["SyncToken"] == "2"

    # Changed again at every attempt: the second stale answer is a retryable error.
    tap.before = lambda request: (
        request.method == "POST"
        and emulator.edit_entity("Bill", created.external_id, {"PrivateNote": "y"})
    )
    with pytest.raises(TransientError) as raised:
        qbo.update_entry(created.external_id, bill(), idempotency_key="k-update-2")
    assert (
        "Stale Object Error" in raised.value.message
        and "while ledgersync was updating it" in raised.value.explanation
    )


def test_voiding_deletes_a_bill(qbo):
    created = qbo.create_entry(bill(), idempotency_key="k")
    state = qbo.update_entry(created.external_id, bill(voided=True), idempotency_key="k-void")
    assert state.gone and state.booked
    with pytest.raises(NotFoundError):
        qbo.get_entry(kind=EntryKind.BILL, external_id=created.external_id)


def spend(number="EXP-1", reference="exp-1", **fields) -> EntryPayload:
    """A card or bank expense: spent from `bank_account_code` at once."""
    fields = {"bank_account_code": MASTERCARD, **fields}
    return bill(number=number, reference=reference, kind=EntryKind.SPEND, **fields)


def test_card_and_bank_expenses_are_purchases_from_their_account(qbo, emulator, tap):
    card = qbo.create_entry(spend(), idempotency_key="exp-1:create")
    bank = qbo.create_entry(
        spend(number="EXP-2", reference="exp-2", bank_account_code=CHECKING, contact_id=""),
        idempotency_key="exp-2:create",
    )
    stored = {p["DocNumber"]: p for p in emulator.entities("Purchase")}
    assert emulator.entities("Bill") == [] and emulator.entities("BillPayment") == []
    # The PaymentType follows the account's type.
    assert (stored["EXP-1"]["PaymentType"], stored["EXP-1"]["AccountRef"]["value"]) == (
        "CreditCard",
        MASTERCARD,
    )
    assert (stored["EXP-2"]["PaymentType"], stored["EXP-2"]["AccountRef"]["value"]) == (
        "Cash",
        CHECKING,
    )
    assert stored["EXP-1"]["EntityRef"] == {
        "value": SUPPLIER,
        "name": "Office Supplies Ltd",
        "type": "Vendor",
    }
    assert "EntityRef" not in stored["EXP-2"]  # no payee mapped: none sent
    [line] = stored["EXP-1"]["Line"]
    detail = line["AccountBasedExpenseLineDetail"]
    assert (line["Amount"], detail["AccountRef"]["value"], detail["ClassRef"]["value"]) == (
        100.0,
        OFFICE_SUPPLIES,
        OPERATIONS,
    )
    assert stored["EXP-1"]["DepartmentRef"]["value"] == WAREHOUSE
    # Paid when spent: nothing due, and still open to changes (not booked).
    assert (card.total, card.amount_due, card.amount_paid, card.booked, card.status) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("100.00"),
        False,
        "CreditCard",
    )
    assert bank.status == "Cash" and bank.due_date is None

    [found] = qbo.find_entries(kind=EntryKind.SPEND, reference="exp-1", number="EXP-1")
    assert found.external_id == card.external_id and found.contact_id == SUPPLIER
    assert set(qbo.find_entries_many(kind=EntryKind.SPEND, numbers=["EXP-1", "EXP-2"])) == {
        "exp-1",
        "exp-2",
    }
    read = qbo.get_entry(kind=EntryKind.SPEND, external_id=card.external_id)
    assert read.lines[0].account_code == OFFICE_SUPPLIES

    updated = qbo.update_entry(card.external_id, spend(number="EXP-1b"), idempotency_key="u")
    assert (updated.number, emulator.entity("Purchase", card.external_id)["SyncToken"]) == (
        "EXP-1b",
        "1",
    )
    attached = qbo.attach_file(
        kind=EntryKind.SPEND,
        external_id=card.external_id,
        filename="receipt.pdf",
        content=b"%PDF-1.4 taxi",
        content_type="application/pdf",
    )
    assert attached.size == len(b"%PDF-1.4 taxi")
    voided = qbo.update_entry(card.external_id, spend(voided=True), idempotency_key="v")
    assert voided.gone and voided.booked
    with pytest.raises(NotFoundError):
        qbo.get_entry(kind=EntryKind.SPEND, external_id=card.external_id)
    # Each account's type was read once, by the connector that first spent from it.
    account_reads = [r for r in tap.requests if b"from Account" in r.content]
    assert len(account_reads) == 2


def test_expenses_go_in_batches_with_their_accounts_read_once(qbo, emulator, tap):
    payloads = [
        spend(number=f"EXP-{n}", reference=f"exp-{n}", bank_account_code=account)
        for n, account in enumerate([MASTERCARD, CHECKING, "999"])
    ]
    results = qbo.create_entries(payloads, idempotency_key="batch-1")
    assert [r.error is None for r in results] == [True, True, False]
    assert "999" in results[2].error.raw  # QuickBooks' own refusal of the unknown account
    assert sorted(p["PaymentType"] for p in emulator.entities("Purchase")) == ["Cash", "CreditCard"]
    assert paths(tap) == ["POST query", "POST batch"]


def test_faults_become_our_errors_with_the_catalogue_words(qbo, emulator):
    qbo.create_entry(bill(), idempotency_key="a")
    with pytest.raises(DuplicateError) as duplicate:
        qbo.create_entry(bill(reference="doc-2"), idempotency_key="b")
    assert (
        duplicate.value.status_code == 5080 and "Duplicate Document Number" in duplicate.value.raw
    )
    with pytest.raises(LedgerValidationError) as inactive:
        qbo.create_entry(bill(number="N-2", contact_id=OLD_VENDOR), idempotency_key="c")
    assert "vendor is inactive" in inactive.value.explanation
    emulator.set_book_close_date(date="2026-11-15")
    with pytest.raises(BookedError) as closed:
        qbo.create_entry(bill(number="N-3"), idempotency_key="d")
    assert "closing date" in closed.value.explanation
    [old] = qbo.find_entries(kind=EntryKind.BILL, reference="doc-1", number="SUP-1")
    assert old.booked and not old.gone  # dated in the closed books
    with pytest.raises(ConfigurationError):
        qbo.create_entry(bill(number="N-4", contact_id=""), idempotency_key="e")
    emulator.set_faults(burst_429=1)
    with pytest.raises(RateLimitedError) as throttled:
        qbo.list_contacts()
    assert throttled.value.retry_after == 60
    emulator.set_faults(fail_next={"count": 1, "status": 503})
    with pytest.raises(TransientError):
        qbo.list_contacts()


def test_an_expired_token_is_refreshed_and_the_rotated_one_saved(emulator, tap, saved):
    token = emulator.connect()
    context = ConnectorContext(
        base_url=ROOT,
        tenant_id=token["realmId"],
        credentials=credentials_from_token(token),
        save_credentials=saved.append,
        transport=tap,
    )
    connector = QboConnector(context)
    emulator.expire_tokens()  # the API says 401 before our clock thinks it is due
    assert connector.list_contacts()
    [fresh] = saved
    assert fresh.refresh_token != token["refresh_token"]
    assert context.credentials is fresh
    connector.revoke()
    with pytest.raises(AuthError) as refused:
        connector.list_contacts()
    assert "reconnect" in refused.value.hint.lower()


def test_batches_of_thirty_with_per_item_faults(qbo, emulator, tap):
    payloads = [bill(number=f"B-{i}", reference=f"doc-{i}") for i in range(31)]
    payloads[3] = bill(number="B-0", reference="doc-dup")  # the number of the first
    tap.requests.clear()
    results = qbo.create_entries(payloads, idempotency_key="run-1")
    assert paths(tap) == ["POST batch", "POST batch"]
    assert [r.payload for r in results] == payloads
    assert isinstance(results[3].error, DuplicateError)
    assert all(r.state is not None for i, r in enumerate(results) if i != 3)
    assert '"bId": "3"' in results[3].request_body and "6140" in results[3].response_body

    updates = [
        (
            r.state.external_id,
            bill(number=f"B-{i}", reference=f"doc-{i}", due_date=datetime.date(2027, 1, 1)),
        )
        for i, r in enumerate(results[:3])
    ]
    emulator.edit_entity("Bill", updates[1][0], {"PrivateNote": "?ref=doc-1 edited"})
    tap.requests.clear()
    updated = qbo.update_entries(updates, idempotency_key="run-2")
    assert all(u.state.due_date == datetime.date(2027, 1, 1) for u in updated)
    # One query for the sync tokens, one batch; the item edited since gets no stale answer.
    assert paths(tap) == ["POST query", "POST batch"]


def test_payments(qbo, emulator, tap):
    created = qbo.create_entry(bill(), idempotency_key="k")
    payment = PaymentPayload(
        reference="pay-1",
        entry_id=created.external_id,
        account_code=CHECKING,
        paid_on=datetime.date(2026, 11, 20),
        amount=Decimal("40"),
    )
    state = qbo.create_payment(payment, idempotency_key="pay-1:create")
    assert state.amount == Decimal("40.00") and state.entry_id == created.external_id
    after = qbo.get_entry(kind=EntryKind.BILL, external_id=created.external_id)
    assert after.amount_due == Decimal("60.00") and not after.booked
    [found] = qbo.find_payments(reference="pay-1", entry_id=created.external_id)
    assert found.external_id == state.external_id
    others = [
        PaymentPayload(
            "pay-2", created.external_id, CHECKING, datetime.date(2026, 11, 21), Decimal("60")
        ),
        PaymentPayload(
            "pay-3", created.external_id, CHECKING, datetime.date(2026, 11, 21), Decimal("1")
        ),
    ]
    results = qbo.create_payments(others, idempotency_key="pays")
    assert results[0].state.amount == Decimal("60.00")
    assert isinstance(results[1].error, LedgerValidationError)  # nothing is owed any more
    assert "already be recorded" in results[1].error.explanation
    paid = qbo.get_entry(kind=EntryKind.BILL, external_id=created.external_id)
    assert paid.booked and paid.status == "Paid"


def test_attach_a_file(qbo, emulator):
    created = qbo.create_entry(bill(), idempotency_key="k")
    attached = qbo.attach_file(
        kind=EntryKind.BILL,
        external_id=created.external_id,
        filename="invoice.pdf",
        content=b"%PDF-1.4",
        content_type="application/pdf",
    )
    assert attached.size == 8 and attached.filename == "invoice.pdf"
    [stored] = emulator.entities("Attachable")
    assert stored["AttachableRef"][0]["EntityRef"] == {"type": "Bill", "value": created.external_id}


def test_a_batch_item_gone_stale_is_read_and_retried_alone(qbo, emulator, tap):
    first = qbo.create_entry(bill(number="S-1", reference="doc-1"), idempotency_key="a")
    second = qbo.create_entry(bill(number="S-2", reference="doc-2"), idempotency_key="b")
    edited = []

    def edit_between_read_and_batch(request):
        if request.url.path.endswith("/batch") and not edited:
            edited.append(emulator.edit_entity("Bill", second.external_id, {"PrivateNote": "x"}))

    tap.before = edit_between_read_and_batch
    tap.requests.clear()
    later = datetime.date(2027, 2, 1)
    results = qbo.update_entries(
        [
            (first.external_id, bill(number="S-1", reference="doc-1", due_date=later)),
            (second.external_id, bill(number="S-2", reference="doc-2", due_date=later)),
        ],
        idempotency_key="run",
    )
    assert [r.state.due_date for r in results] == [later, later]
    assert paths(tap) == ["POST query", "POST batch", f"GET {second.external_id}", "POST bill"]


def test_a_fault_in_a_200_answer_is_an_error_and_a_missing_realm_is_said(emulator):
    # Intuit's error-code page: "200 OK ... the response body may contain a Fault element".
    fault = {"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}]}}
    answered = httpx.MockTransport(lambda request: httpx.Response(200, json=fault))
    token = emulator.connect()
    context = ConnectorContext(
        base_url=ROOT, tenant_id="1", credentials=credentials_from_token(token), transport=answered
    )
    with pytest.raises(TransientError) as raised:
        QboConnector(context).list_contacts()
    assert raised.value.qbo_code == "5010"
    context.tenant_id = ""
    with pytest.raises(ConfigurationError, match="realmId"):
        QboConnector(context).check_connection()
