"""Spend money (BankTransactions of type SPEND) in Xero's wire format: create, read, update,
delete, attachments, and the rules (a bank account, an account code and a known tax type on every
line). Every answer is checked against Xero's published spec by the `http` fixture."""

from .conftest import validation_messages


def spend(**fields) -> dict:
    """A card purchase of 108.50 (2 lines, tracked, taxed) from the business bank account."""
    return {
        "Type": "SPEND",
        "Contact": {"Name": "Office Supplies Ltd"},
        "BankAccount": {"Code": "090"},
        "Date": "2026-11-05",
        "Reference": "ls-1-42",
        "CurrencyCode": "EUR",
        "CurrencyRate": 1.08,
        "LineAmountTypes": "Exclusive",
        "Url": "https://ap.example/expenses/42",
        "LineItems": [
            {
                "Description": "Taxi",
                "Quantity": 1,
                "UnitAmount": 58.5,
                "AccountCode": "493",
                "TaxType": "INPUT",
                "Tracking": [{"Name": "Department", "Option": "Sales"}],
            },
            {"Description": "Lunch", "Quantity": 2, "UnitAmount": 25, "AccountCode": "429"},
        ],
        **fields,
    }


def test_spend_money_is_created_and_read_back_in_xeros_shape(api):
    response = api.put("/BankTransactions", json={"BankTransactions": [spend()]})
    assert response.status_code == 200, response.text
    [created] = response.json()["BankTransactions"]
    assert created["Type"] == "SPEND" and created["Status"] == "AUTHORISED"
    assert created["BankAccount"]["Code"] == "090"
    assert created["Contact"]["Name"] == "Office Supplies Ltd"
    assert (created["CurrencyCode"], created["CurrencyRate"]) == ("EUR", 1.08)
    assert (created["SubTotal"], created["Total"]) == (108.5, 108.5)
    assert created["Reference"] == "ls-1-42" and created["Url"] == "https://ap.example/expenses/42"
    taxi, lunch = created["LineItems"]
    assert (taxi["AccountCode"], taxi["TaxType"]) == ("493", "INPUT")
    assert taxi["Tracking"][0]["Option"] == "Sales"
    assert lunch["TaxType"] == "INPUT"  # the account's default
    assert created["IsReconciled"] is False and created["HasAttachments"] is False

    transaction_id = created["BankTransactionID"]
    [one] = api.get(f"/BankTransactions/{transaction_id}").json()["BankTransactions"]
    created.pop("StatusAttributeString")  # an answer to a write carries it, a read does not
    assert one == created
    listed = api.get("/BankTransactions", params={"where": 'Reference=="ls-1-42"'}).json()
    assert [t["BankTransactionID"] for t in listed["BankTransactions"]] == [transaction_id]
    assert api.get("/BankTransactions/00000000-0000-0000-0000-000000000001").status_code == 404


def test_update_delete_and_attach(api):
    [created] = api.put("/BankTransactions", json={"BankTransactions": [spend()]}).json()[
        "BankTransactions"
    ]
    transaction_id = created["BankTransactionID"]
    changed = api.post(
        f"/BankTransactions/{transaction_id}",
        json={"BankTransactions": [{"Reference": "ls-1-42 v2", "BankAccount": {"Code": "091"}}]},
    )
    assert changed.status_code == 200, changed.text
    [updated] = changed.json()["BankTransactions"]
    assert (updated["Reference"], updated["BankAccount"]["Code"]) == ("ls-1-42 v2", "091")
    assert updated["Total"] == 108.5

    uploaded = api.put(
        f"/BankTransactions/{transaction_id}/Attachments/receipt.pdf",
        content=b"%PDF-1.4 receipt",
        headers={"Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["Attachments"][0]["FileName"] == "receipt.pdf"
    listed = api.get(f"/BankTransactions/{transaction_id}/Attachments").json()["Attachments"]
    assert [a["ContentLength"] for a in listed] == [16]
    [one] = api.get(f"/BankTransactions/{transaction_id}").json()["BankTransactions"]
    assert one["HasAttachments"] is True

    deleted = api.post(
        f"/BankTransactions/{transaction_id}",
        json={"BankTransactions": [{"Status": "DELETED"}]},
    )
    assert deleted.json()["BankTransactions"][0]["Status"] == "DELETED"
    again = api.post(
        f"/BankTransactions/{transaction_id}",
        json={"BankTransactions": [{"Reference": "too late"}]},
    )
    assert validation_messages(again) == ["This Bank Transaction cannot be edited as it is DELETED"]


def test_validation(api):
    bad = spend(
        BankAccount={"Code": "429"},  # an expense account
        LineItems=[
            {"Description": "No account", "Quantity": 1, "UnitAmount": 5},
            {
                "Description": "Bad tax",
                "Quantity": 1,
                "UnitAmount": 5,
                "AccountCode": "429",
                "TaxType": "GST42",
            },
        ],
    )
    messages = validation_messages(api.put("/BankTransactions", json={"BankTransactions": [bad]}))
    assert "The BankAccount must be an active bank account of the organisation" in messages
    assert "Account code must be specified on every line of a bank transaction" in messages
    assert any("TaxType code 'GST42'" in m for m in messages)
    receive_card = spend(Type="SPEND-TRANSFER")
    messages = validation_messages(
        api.put("/BankTransactions", json={"BankTransactions": [receive_card]})
    )
    assert messages == [
        "'SPEND-TRANSFER' is not a valid bank transaction Type; use SPEND or RECEIVE"
    ]
    assert api.get("/BankTransactions").json()["BankTransactions"] == []


def test_the_lock_date_protects_spend_money(api, emulator):
    emulator.set_lock_date(lock_date="2026-11-30")
    messages = validation_messages(
        api.put("/BankTransactions", json={"BankTransactions": [spend()]})
    )
    assert messages == ["The document date cannot be before the period lock date"]
