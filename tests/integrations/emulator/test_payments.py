"""Payments against bills: partial, full (PAID), refused ones, deletion."""

import pytest

from .conftest import validation_messages


def test_partial_then_full_payment_marks_the_bill_paid(api):
    invoice_id = api.create_bill()["InvoiceID"]

    partial = api.pay(invoice_id, 40, Reference="ACH 1")
    assert partial.status_code == 200
    payment = partial.json()["Payments"][0]
    assert payment["PaymentType"] == "ACCPAYPAYMENT" and payment["Status"] == "AUTHORISED"
    assert payment["Amount"] == 40.0 and payment["Reference"] == "ACH 1"
    assert payment["Account"]["Code"] == "090"
    assert payment["Invoice"]["AmountDue"] == 60.0
    assert api.emulator.invoice(invoice_id)["Status"] == "AUTHORISED"

    api.pay(invoice_id, 60)

    invoice = api.get(f"/Invoices/{invoice_id}").json()["Invoices"][0]
    assert invoice["Status"] == "PAID"
    assert (invoice["AmountDue"], invoice["AmountPaid"]) == (0.0, 100.0)
    assert [p["Amount"] for p in invoice["Payments"]] == [40.0, 60.0]
    assert invoice["FullyPaidOnDate"] == "/Date(1795132800000+0000)/"
    fetched = api.get(f"/Payments/{payment['PaymentID']}").json()["Payments"][0]
    assert fetched["PaymentID"] == payment["PaymentID"]


def test_payment_above_amount_due_is_refused(api):
    invoice_id = api.create_bill()["InvoiceID"]

    response = api.pay(invoice_id, 100.01)

    assert validation_messages(response) == [
        "Payment amount exceeds the amount outstanding on this document"
    ]


def test_payments_in_one_batch_share_the_amount_due(api):
    invoice_id = api.create_bill()["InvoiceID"]
    payment = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"}, "Amount": 60}

    response = api.put(
        "/Payments", params={"summarizeErrors": "false"}, json={"Payments": [payment, payment]}
    )

    ok, failed = response.json()["Payments"]
    assert ok["StatusAttributeString"] == "OK"
    assert failed["StatusAttributeString"] == "ERROR" and failed["HasValidationErrors"] is True
    assert api.emulator.invoice(invoice_id)["AmountDue"] == 40.0


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_payment_on_an_unapproved_bill_is_refused(api, status):
    invoice_id = api.create_bill(Status=status)["InvoiceID"]

    assert validation_messages(api.pay(invoice_id, 10)) == [
        "Payments can only be made against Authorised documents"
    ]


def test_payment_on_a_paid_bill_is_refused(api):
    invoice_id = api.create_bill()["InvoiceID"]
    api.emulator.book_invoice(invoice_id)

    assert validation_messages(api.pay(invoice_id, 1)) == [
        "Payments can only be made against Authorised documents"
    ]


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (
            {"Code": "429"},
            "Account code '429' is not a bank account or an account that accepts payments",
        ),
        ({"Code": "999"}, "Account could not be found"),
    ],
)
def test_payment_account_must_be_a_bank_account(api, account, message):
    invoice_id = api.create_bill()["InvoiceID"]

    assert validation_messages(api.pay(invoice_id, 10, Account=account)) == [message]


def test_payment_on_unknown_invoice(api):
    response = api.pay("00000000-0000-0000-0000-000000000042", 10)

    assert validation_messages(response) == ["Invoice could not be found"]


def test_payment_by_invoice_number(api):
    api.create_bill(InvoiceNumber="BY-NUMBER")
    payment = {"Invoice": {"InvoiceNumber": "BY-NUMBER"}, "Account": {"Code": "090"}, "Amount": 100}

    response = api.put("/Payments", json={"Payments": [payment]})

    assert response.json()["Payments"][0]["Invoice"]["Status"] == "PAID"


def test_deleting_a_payment_reopens_the_bill(api):
    invoice_id = api.create_bill()["InvoiceID"]
    payment_id = api.pay(invoice_id, 100).json()["Payments"][0]["PaymentID"]

    response = api.post(f"/Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]})

    assert response.json()["Payments"][0]["Status"] == "DELETED"
    invoice = api.emulator.invoice(invoice_id)
    assert (invoice["Status"], invoice["AmountDue"], invoice["Payments"]) == (
        "AUTHORISED",
        100.0,
        [],
    )


def test_unknown_payment_is_404(api):
    assert api.get("/Payments/00000000-0000-0000-0000-000000000042").status_code == 404
