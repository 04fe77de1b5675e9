"""Purchases in the emulator: an expense (Cash), a check or a card charge spent at once from a bank
or card account, with account-based lines, found by query, updated with its SyncToken, deleted,
refused in closed books. Every request and answer is held to Intuit's schemas (`http` fixture)."""

from tests.integrations.qbo_emulator.conftest import fault


def purchase(api, **fields) -> dict:
    return {
        "PaymentType": "Cash",
        "AccountRef": api.ref("Account", "Checking"),
        "EntityRef": {**api.ref("Vendor", "Office Supplies Ltd"), "type": "Vendor"},
        "TxnDate": "2026-11-05",
        "DocNumber": "EXP-1",
        "PrivateNote": "http://ls.example/documents/7/?ref=ls-1-7",
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": 58.5,
                "Description": "Taxi",
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": api.ref("Account", "Travel"),
                    "ClassRef": api.ref("Class", "Sales"),
                },
            },
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": 50.0,
                "Description": "Lunch",
                "AccountBasedExpenseLineDetail": {"AccountRef": api.ref("Account", "Travel")},
            },
        ],
        **fields,
    }


def test_an_expense_from_the_bank_is_created_read_found_and_updated(api):
    response = api.post("/purchase", json=purchase(api))
    assert response.status_code == 200, response.text
    created = response.json()["Purchase"]
    assert (created["TotalAmt"], created["SyncToken"], created["PaymentType"]) == (
        108.5,
        "0",
        "Cash",
    )
    assert created["AccountRef"] == {
        "value": api.ref("Account", "Checking")["value"],
        "name": "Checking",
    }
    assert created["EntityRef"]["type"] == "Vendor"
    assert [line["LineNum"] for line in created["Line"]] == [1, 2]
    assert "Balance" not in created and "DueDate" not in created  # paid when spent

    assert api.get(f"/purchase/{created['Id']}").json()["Purchase"] == created
    [found] = api.query("select * from Purchase where DocNumber = 'EXP-1'")["Purchase"]
    assert found["Id"] == created["Id"]
    # Purchases' numbers are a check's or a card slip's: the same one again is taken.
    again = api.post("/purchase", json=purchase(api))
    assert again.status_code == 200, again.text

    update = {**purchase(api, DocNumber="EXP-1b"), "Id": created["Id"], "SyncToken": "0"}
    updated = api.post("/purchase", json=update).json()["Purchase"]
    assert (updated["DocNumber"], updated["SyncToken"]) == ("EXP-1b", "1")
    assert fault(api.post("/purchase", json=update))[0] == "5010"  # stale SyncToken


def test_a_card_charge_needs_a_card_account_and_a_bank_expense_a_bank_account(api):
    card = api.post(
        "/purchase",
        json=purchase(api, PaymentType="CreditCard", AccountRef=api.ref("Account", "Mastercard")),
    )
    assert card.status_code == 200, card.text
    assert card.json()["Purchase"]["PaymentType"] == "CreditCard"
    check = api.post("/purchase", json=purchase(api, PaymentType="Check"))
    assert check.status_code == 200, check.text

    code, _, detail = fault(api.post("/purchase", json=purchase(api, PaymentType="CreditCard")))
    assert code == "6000" and "Credit Card" in detail
    code, _, detail = fault(
        api.post("/purchase", json=purchase(api, AccountRef=api.ref("Account", "Mastercard")))
    )
    assert code == "6000" and "Bank" in detail
    code, _, detail = fault(
        api.post("/purchase", json=purchase(api, AccountRef=api.ref("Account", "Travel")))
    )
    assert code == "6000"
    assert fault(api.post("/purchase", json=purchase(api, Credit=True)))[0] == "6000"


def test_what_a_purchase_must_carry(api, bad_requests):
    body = purchase(api)
    del body["PaymentType"]
    assert fault(api.post("/purchase", json=body))[:2] == (
        "2020",
        "Required param missing, need to supply the required value for the API",
    )
    assert fault(api.post("/purchase", json=purchase(api, PaymentType="Barter")))[0] == "2170"
    body = purchase(api)
    del body["AccountRef"]
    assert fault(api.post("/purchase", json=body))[0] == "2020"
    assert fault(api.post("/purchase", json=purchase(api, Line=[])))[0] == "2020"
    # A bill's field is not a purchase's.
    assert fault(api.post("/purchase", json=purchase(api, DueDate="2026-12-01")))[0] == "2010"
    inactive = api.emulator.entities("Vendor")
    [old] = [v for v in inactive if v["DisplayName"] == "Old Vendor"]
    payee = {"value": old["Id"], "type": "Vendor"}
    assert fault(api.post("/purchase", json=purchase(api, EntityRef=payee)))[0] == "610"


def test_delete_and_closed_books(api):
    created = api.post("/purchase", json=purchase(api)).json()["Purchase"]
    api.emulator.set_book_close_date(date="2026-11-10")
    code, message, _ = fault(api.post("/purchase", json=purchase(api, DocNumber="EXP-2")))
    assert (code, message) == ("6210", "Account Period Closed, cannot update through API")
    identity = {"Id": created["Id"], "SyncToken": created["SyncToken"]}
    assert fault(api.post("/purchase", json=identity, params={"operation": "delete"}))[0] == "6210"

    api.emulator.set_book_close_date(date=None)
    deleted = api.post("/purchase", json=identity, params={"operation": "delete"})
    assert deleted.json()["Purchase"]["status"] == "Deleted"
    assert fault(api.get(f"/purchase/{created['Id']}"))[0] == "610"
    assert api.query("select * from Purchase").get("Purchase", []) == []
