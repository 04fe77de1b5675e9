"""Real expenses over the API, as a partner pushes them: card spends from a card account, a
reimbursable expense owed to an employee, each line's tax rate and tracking, the currency rate;
the missing card account named by the 4000 and set over the mappings API; then the retry books
Xero spend money (no bill) and the employee's bill. On QuickBooks Online the card and bank
expenses are Purchases from the card and the bank account."""

import pytest

from integrations.models import Provider
from synclog import services
from tests.api.test_datasets import push
from tests.api.test_datasets_staged import start_sync, work
from tests.factories import ContactFactory, DepartmentFactory
from tests.synclog.conftest import pending_ids

pytestmark = pytest.mark.django_db


def test_a_partner_pushes_card_and_reimbursable_expenses_and_fixes_the_card_account(
    api,
    org,
    category,
    connection,
    ledger,
    enqueued,
    batches,
    django_capture_on_commit_callbacks,
):
    employee = ContactFactory(org=org, name="Jo Employee")
    sales = DepartmentFactory(org=org, name="Sales")
    options = api.get(f"/api/v1/connections/{connection.pk}/mapping-options").json()
    option = next(o for o in options["tracking_categories"][0]["options"] if o["name"] == "Sales")
    assert {"INPUT", "NONE"} <= {t["tax_type"] for t in options["tax_rates"]}
    mapped = api.patch(
        f"/api/v1/connections/{connection.pk}/mappings",
        {"tracking": [{"department_id": sales.pk, "tracking_option_id": option["id"]}]},
        format="json",
    )
    assert mapped.status_code == 200, mapped.content
    assert mapped.json()["spend_account_codes"] == {"card": None, "bank": None}

    card = {
        "id": "card-1",
        "type": "card",
        "issue_date": "2026-11-03",
        "currency": "EUR",
        "currency_rate": "1.085",
        "merchant_name": "Taxi Co",
        "category": category.pk,
        "lines": [
            {
                "description": "Taxi",
                "unit_amount": "40.00",
                "tax_type": "INPUT",
                "department": sales.pk,
            },
            {"description": "Tip", "unit_amount": "4.00"},
        ],
    }
    reimbursable = {
        "id": "emp-1",
        "type": "reimbursable",
        "issue_date": "2026-11-03",
        "currency": "EUR",
        "contact": employee.pk,
        "category": category.pk,
        "lines": [{"description": "Hotel", "unit_amount": "120.00", "tax_type": "INPUT"}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        dataset = push(api, [card, reimbursable])
    assert dataset.status_code == 201, dataset.content
    sync_id = start_sync(api, dataset.json()["id"], django_capture_on_commit_callbacks)
    work(batches)
    sync = api.get(f"/api/v1/syncs/{sync_id}").json()
    assert (sync["status_code"], sync["counts"]["failed"]) == (4000, 1)
    (failed,) = api.get(f"/api/v1/syncs/{sync_id}/transactions", {"status": "failed"}).json()[
        "results"
    ]
    assert failed["transaction_id"] == "card-1"
    assert failed["error"]["missing_mapping"] == {
        "kind": "card_account",
        "local_id": None,
        "name": "Card account",
    }
    (bill,) = ledger.invoices()  # the reimbursable one: a bill to the employee, with its tax
    assert (bill["Contact"]["Name"], bill["LineItems"][0]["TaxType"]) == ("Jo Employee", "INPUT")

    # The fix, over the API: the card account, then retry the failed item.
    bad = api.patch(
        f"/api/v1/connections/{connection.pk}/mappings",
        {"spend_account_codes": {"card": "429"}},
        format="json",
    )
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["spend_account_codes.card"]
    fixed = api.patch(
        f"/api/v1/connections/{connection.pk}/mappings",
        {"spend_account_codes": {"card": "091"}},
        format="json",
    )
    assert fixed.json()["spend_account_codes"] == {"card": "091", "bank": None}
    with django_capture_on_commit_callbacks(execute=True):
        retry = api.post(f"/api/v1/syncs/{sync_id}/retry-failed")
    assert retry.status_code == 202, retry.content
    work(batches)

    for record_id in pending_ids():
        services.sync_record_push(record_id=record_id, worker="test")
    assert api.get(f"/api/v1/syncs/{retry.json()['id']}").json()["status_code"] == 2000

    (spent,) = ledger.bank_transactions()
    assert (spent["Type"], spent["BankAccount"]["Code"], spent["CurrencyRate"]) == (
        "SPEND",
        "091",
        1.085,
    )
    taxi, tip = spent["LineItems"]
    assert (taxi["TaxType"], taxi["Tracking"][0]["Option"]) == ("INPUT", "Sales")
    assert tip["Tracking"] == []
    assert len(ledger.invoices()) == 1  # no bill for the card spend

    document = api.get("/api/v1/documents", {"number": "card-1"}).json()["results"]
    card_doc = next(d for d in document if d["number"] == "card-1")
    assert (card_doc["expense_type"], card_doc["exchange_rate"]) == ("card", "1.085000")
    assert card_doc["lines"][0]["tax_type"] == "INPUT"
    assert card_doc["lines"][0]["department"] == sales.pk


@pytest.mark.parametrize("provider", [Provider.QUICKBOOKS])
def test_a_partners_card_and_bank_expenses_are_quickbooks_purchases(
    api,
    connection,
    ledger_books,
    enqueued,
    batches,
    django_capture_on_commit_callbacks,
    category,
):
    accounts = ledger_books.spend_accounts  # QuickBooks' Mastercard and Checking
    mapped = api.patch(
        f"/api/v1/connections/{connection.pk}/mappings",
        {"spend_account_codes": accounts},
        format="json",
    )
    assert mapped.status_code == 200, mapped.content

    def expense(item_id, kind, amount):
        return {
            "id": item_id,
            "type": kind,
            "issue_date": "2026-11-03",
            "currency": "USD",
            "merchant_name": "Taxi Co",
            "category": category.pk,
            "lines": [{"description": "Taxi", "unit_amount": amount}],
        }

    with django_capture_on_commit_callbacks(execute=True):
        dataset = push(api, [expense("card-1", "card", "44.00"), expense("bank-1", "bank", "9.50")])
    assert dataset.status_code == 201, dataset.content
    sync_id = start_sync(api, dataset.json()["id"], django_capture_on_commit_callbacks)
    work(batches)
    for record_id in pending_ids():
        services.sync_record_push(record_id=record_id, worker="test")

    assert api.get(f"/api/v1/syncs/{sync_id}").json()["status_code"] == 2000
    # Spent at once from the card or the bank account: Purchases, no bill, no payment.
    assert ledger_books.bills() == []
    purchases = {p["DocNumber"]: p for p in ledger_books.emulator.entities("Purchase")}
    assert {number: p["PaymentType"] for number, p in purchases.items()} == {
        "card-1": "CreditCard",
        "bank-1": "Cash",
    }
    assert purchases["card-1"]["AccountRef"]["value"] == accounts["card"]
    assert purchases["bank-1"]["AccountRef"]["value"] == accounts["bank"]
    assert (purchases["card-1"]["TotalAmt"], purchases["bank-1"]["TotalAmt"]) == (44.0, 9.5)
    [line] = purchases["card-1"]["Line"]
    assert line["AccountBasedExpenseLineDetail"]["AccountRef"]["name"] == "Office Supplies"
