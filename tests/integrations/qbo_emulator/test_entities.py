"""Bills, bill payments, invoices, payments, name lists and attachments through the Accounting
API, with the rules Intuit enforces: references, SyncToken, document numbers, closed books."""

import json

from integrations.emulators.qbo.books import Books

from .conftest import fault


def test_a_bill_is_created_read_and_found_by_doc_number(api):
    bill = api.create_bill()
    assert bill["SyncToken"] == "0" and bill["TotalAmt"] == 100.0 and bill["Balance"] == 100.0
    assert bill["VendorRef"]["name"] == "Office Supplies Ltd"
    assert bill["Line"][0]["Id"] == "1" and bill["CurrencyRef"]["value"] == "USD"
    assert bill["MetaData"]["CreateTime"] == "2026-11-18T03:06:40.000-08:00"

    read = api.get(f"/bill/{bill['Id']}").json()["Bill"]
    assert read == bill
    other = api.create_bill(DocNumber="SUP-1002")
    assert api.query("select * from Bill where DocNumber = 'SUP-1001'")["Bill"] == [bill]
    found = api.query("select * from bill where DocNumber in ('SUP-1001', 'SUP-1002', 'X')")
    assert [b["Id"] for b in found["Bill"]] == [bill["Id"], other["Id"]]
    assert api.query("select * from Bill where DocNumber = 'nope'") == {}
    assert api.query("select count(*) from Bill") == {"totalCount": 2}
    page = api.query("select * from Bill STARTPOSITION 2 MAXRESULTS 1")
    assert [b["Id"] for b in page["Bill"]] == [other["Id"]]
    assert (page["startPosition"], page["maxResults"]) == (2, 1)
    by_vendor = api.query(f"select * from Bill where VendorRef = '{bill['VendorRef']['value']}'")
    assert len(by_vendor["Bill"]) == 2
    # POST /query takes the text as the body.
    posted = api.post(
        "/query",
        content=b"select * from Bill where DocNumber = 'SUP-1002'",
        headers={"Content-Type": "application/text"},
    )
    assert posted.json()["QueryResponse"]["Bill"][0]["Id"] == other["Id"]


def test_a_query_presents_only_the_page_it_answers(api, monkeypatch):
    bills = [api.create_bill(DocNumber=f"Q-{n}") for n in range(5)]
    presented = []
    real_present = Books.present

    def counted(books, entity, stored):
        presented.append(stored["DocNumber"])
        return real_present(books, entity, stored)

    monkeypatch.setattr(Books, "present", counted)

    page = api.query("select * from Bill orderby DocNumber desc STARTPOSITION 2 MAXRESULTS 2")

    assert [b["DocNumber"] for b in page["Bill"]] == ["Q-3", "Q-2"]
    assert presented == ["Q-3", "Q-2"]
    assert api.query("select count(*) from Bill") == {"totalCount": 5}
    assert presented == ["Q-3", "Q-2"]
    assert page["Bill"][0] == api.get(f"/bill/{bills[3]['Id']}").json()["Bill"]


def test_a_query_on_the_balance_reads_it_as_the_payments_leave_it(api):
    paid, owing = api.create_bill(DocNumber="PAID"), api.create_bill(DocNumber="OWING")
    assert api.pay(paid, 100).status_code == 200

    settled = api.query("select * from Bill where Balance = '0'")
    by_balance = api.query("select * from Bill orderby Balance")

    assert [b["Id"] for b in settled["Bill"]] == [paid["Id"]]
    assert [b["DocNumber"] for b in by_balance["Bill"]] == ["PAID", "OWING"]
    assert owing["Balance"] == 100.0


def test_a_bad_query_is_error_4000(api):
    response = api.get("/query", params={"query": "select * from Bill where DocNumber = 'A' or"})
    assert fault(response)[0] == "4000"
    too_many = api.get("/query", params={"query": "select * from Bill MAXRESULTS 1001"})
    assert fault(too_many)[0] == "4000"


def test_updates_need_the_current_sync_token(api):
    bill = api.create_bill()
    sparse = api.post(
        "/bill", json={"Id": bill["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-12-24"}
    )
    assert sparse.status_code == 200
    updated = sparse.json()["Bill"]
    assert updated["SyncToken"] == "1" and updated["DueDate"] == "2026-12-24"
    assert updated["DocNumber"] == "SUP-1001"  # a sparse update keeps what it does not send

    stale = api.post("/bill", json={**api.bill(), "Id": bill["Id"], "SyncToken": "0"})
    code, message, detail = fault(stale)
    assert (code, message) == ("5010", "Stale Object Error")
    assert "at the same time" in detail

    full = api.post(
        "/bill", json={**api.bill(DocNumber="SUP-1001-B"), "Id": bill["Id"], "SyncToken": "1"}
    )
    assert full.status_code == 200, full.text
    replaced = full.json()["Bill"]
    assert replaced["SyncToken"] == "2" and replaced["DocNumber"] == "SUP-1001-B"
    assert replaced["DueDate"] == "2026-12-01"  # a full update takes what it is sent
    assert fault(api.post("/bill", json={"Id": bill["Id"], "sparse": True}))[0] == "2020"


def test_references_and_required_fields(api, bad_requests):
    assert fault(api.post("/bill", json=api.bill(VendorRef={"value": "9999"})))[0] == "2500"
    inactive = api.bill(VendorRef=api.ref("Vendor", "Old Vendor"))
    code, message, _ = fault(api.post("/bill", json=inactive))
    assert (code, message) == ("610", "Object Not Found")
    line = api.bill()["Line"][0]
    line["AccountBasedExpenseLineDetail"]["AccountRef"] = api.ref("Account", "Old Expenses")
    assert fault(api.post("/bill", json=api.bill(Line=[line])))[0] == "610"
    assert fault(api.post("/bill", json=api.bill(Line=[])))[:2] == (
        "2020",
        "Required param missing, need to supply the required value for the API",
    )
    unknown = fault(api.post("/bill", json=api.bill(InvoiceNumber="x")))
    assert unknown[0] == "2010" and '"InvoiceNumber"' in unknown[2]
    long_number = fault(api.post("/bill", json=api.bill(DocNumber="X" * 22)))
    assert long_number[0] == "2050"


def test_duplicate_document_numbers_per_vendor(api):
    api.create_bill()
    code, message, detail = fault(api.post("/bill", json=api.bill()))
    assert (code, message) == ("6140", "Duplicate Document Number Error")
    # Another vendor may use the same number; the include bypasses the check.
    assert api.create_bill(VendorRef=api.ref("Vendor", "City Power & Light"))
    bypass = api.post("/bill", params={"include": "allowduplicatedocnum"}, json=api.bill())
    assert bypass.status_code == 200
    api.emulator.set_unique_doc_numbers(False)
    assert api.post("/bill", json=api.bill()).status_code == 200


def test_closed_books_refuse_writes_dated_on_or_before_the_close(api):
    older = api.create_bill(TxnDate="2026-10-15", DocNumber="OLD-1")
    api.emulator.set_book_close_date(date="2026-10-31")
    assert api.get("/preferences").json()["Preferences"]["AccountingInfoPrefs"] == {
        "BookCloseDate": "2026-10-31"
    }
    code, message, _ = fault(api.post("/bill", json=api.bill(TxnDate="2026-10-31")))
    assert (code, message) == ("6210", "Account Period Closed, cannot update through API")
    edit = {"Id": older["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2026-12-31"}
    assert fault(api.post("/bill", json=edit))[0] == "6210"
    # Moving a closed-period bill into an open date is a change to it too.
    assert fault(api.post("/bill", json={**edit, "TxnDate": "2026-11-05"}))[0] == "6210"
    assert api.post("/bill", json=api.bill(TxnDate="2026-11-01")).status_code == 200
    api.emulator.set_book_close_date(date=None)
    assert api.post("/bill", json=edit).status_code == 200


def test_bill_payments_lower_the_balance_and_link_the_bill(api):
    bill = api.create_bill()
    paid = api.pay(bill, 40)
    assert paid.status_code == 200, paid.text
    payment = paid.json()["BillPayment"]
    assert payment["CheckPayment"]["BankAccountRef"]["name"] == "Checking"
    read = api.get(f"/bill/{bill['Id']}").json()["Bill"]
    assert read["Balance"] == 60.0
    assert read["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "BillPaymentCheck"}]
    assert fault(api.pay(bill, 60.01))[0] == "6000"  # more than is owed
    card = api.post(
        "/billpayment",
        json={
            "VendorRef": bill["VendorRef"],
            "PayType": "CreditCard",
            "TotalAmt": 60,
            "CreditCardPayment": {"CCAccountRef": api.ref("Account", "Mastercard")},
            "Line": [{"Amount": 60, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )
    assert card.status_code == 200, card.text
    assert api.get(f"/bill/{bill['Id']}").json()["Bill"]["Balance"] == 0.0
    # A check must come from a bank account; a paid bill cannot fall below its payments.
    wrong_bank = api.pay(bill, 1, CheckPayment={"BankAccountRef": api.ref("Account", "Travel")})
    assert fault(wrong_bank)[0] == "6000"
    shrink = {
        "Id": bill["Id"],
        "SyncToken": "0",
        "sparse": True,
        "Line": [{**api.bill()["Line"][0], "Amount": 50.0}],
    }
    assert fault(api.post("/bill", json=shrink))[0] == "6000"
    # Deleting a paid bill is refused; voiding its payment gives the balance back.
    delete = api.post(
        "/bill", params={"operation": "delete"}, json={"Id": bill["Id"], "SyncToken": "0"}
    )
    assert fault(delete)[0] == "6000"
    void = api.post(
        "/billpayment",
        params={"operation": "update", "include": "void"},
        json={"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True},
    )
    assert void.status_code == 200
    assert void.json()["BillPayment"]["TotalAmt"] == 0.0
    assert api.get(f"/bill/{bill['Id']}").json()["Bill"]["Balance"] == 40.0


def test_delete_a_bill(api):
    bill = api.create_bill()
    deleted = api.post(
        "/bill", params={"operation": "delete"}, json={"Id": bill["Id"], "SyncToken": "0"}
    )
    assert deleted.json()["Bill"] == {"Id": bill["Id"], "status": "Deleted", "domain": "QBO"}
    assert fault(api.get(f"/bill/{bill['Id']}"))[0] == "610"
    assert api.query("select * from Bill") == {}


def test_invoices_and_customer_payments(api):
    invoice = api.post(
        "/invoice",
        json={
            "CustomerRef": api.ref("Customer", "Cool Cars"),
            "DocNumber": "INV-1",
            "TxnDate": "2026-11-02",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 150.0,
                    "SalesItemLineDetail": {
                        "ItemRef": api.ref("Item", "Hours"),
                        "Qty": 3,
                        "UnitPrice": 50,
                    },
                }
            ],
        },
    )
    assert invoice.status_code == 200, invoice.text
    invoice = invoice.json()["Invoice"]
    assert invoice["TotalAmt"] == 150.0 and invoice["DueDate"] == "2026-11-02"
    payment = api.post(
        "/payment",
        json={
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": 150,
            "DepositToAccountRef": api.ref("Account", "Checking"),
            "Line": [
                {"Amount": 150, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )
    assert payment.status_code == 200, payment.text
    paid = api.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert paid["Balance"] == 0.0 and paid["LinkedTxn"][0]["TxnType"] == "Payment"
    # Invoice numbers are unique across the company.
    again = api.post(
        "/invoice",
        json={
            "CustomerRef": api.ref("Customer", "Cool Cars"),
            "DocNumber": "INV-1",
            "Line": [{"DetailType": "DescriptionOnly", "Amount": 0}],
        },
    )
    assert fault(again)[0] == "6140"
    # Voiding an unpaid invoice zeroes it.
    other = api.post(
        "/invoice",
        json={
            "CustomerRef": api.ref("Customer", "Cool Cars"),
            "Line": [{"DetailType": "DescriptionOnly", "Amount": 5}],
        },
    ).json()["Invoice"]
    void = api.post(
        "/invoice", params={"operation": "void"}, json={"Id": other["Id"], "SyncToken": "0"}
    )
    assert (
        void.json()["Invoice"]["TotalAmt"] == 0.0
        and void.json()["Invoice"]["PrivateNote"] == "Voided"
    )


def test_name_lists(api, bad_requests):
    vendor = api.post(
        "/vendor",
        json={"DisplayName": "Acme Paper", "PrimaryEmailAddr": {"Address": "ap@acme.test"}},
    )
    assert vendor.status_code == 200
    vendor = vendor.json()["Vendor"]
    assert vendor["Active"] is True
    code, message, _ = fault(api.post("/customer", json={"DisplayName": "acme paper"}))
    assert (code, message) == ("6240", "Duplicate Name Exists Error")
    inactive = api.post(
        "/vendor", json={"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert inactive.json()["Vendor"]["Active"] is False
    account = api.post("/account", json={"Name": "Software", "AccountType": "Expense"}).json()[
        "Account"
    ]
    assert account["Classification"] == "Expense"
    assert fault(api.post("/account", json={"Name": "X", "AccountType": "Nope"}))[0] == "2170"
    assert api.post("/class", json={"Name": "R&D"}).json()["Class"]["Active"] is True
    assert api.post("/department", json={"Name": "Remote"}).json()["Department"]["Name"] == "Remote"
    banks = api.query("select * from Account where AccountType = 'Bank' and Active = true")
    assert [a["Name"] for a in banks["Account"]] == ["Checking", "Savings"]
    assert (
        fault(
            api.post(
                "/vendor",
                params={"operation": "delete"},
                json={"Id": vendor["Id"], "SyncToken": "1"},
            )
        )[0]
        == "500"
    )


def test_attachable_upload(api):
    bill = api.create_bill()
    metadata = {
        "AttachableRef": [{"EntityRef": {"type": "Bill", "value": bill["Id"]}}],
        "FileName": "invoice.pdf",
        "ContentType": "application/pdf",
    }
    response = api.post(
        "/upload",
        files={
            "file_metadata_0": ("metadata.json", json.dumps(metadata), "application/json"),
            "file_content_0": ("invoice.pdf", b"%PDF-1.4 ...", "application/pdf"),
        },
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["AttachableResponse"]
    assert item["Attachable"]["Size"] == 12 and item["Attachable"]["FileName"] == "invoice.pdf"
    missing = {**metadata, "AttachableRef": [{"EntityRef": {"type": "Bill", "value": "999"}}]}
    refused = api.post(
        "/upload",
        files={
            "file_metadata_0": ("metadata.json", json.dumps(missing), "application/json"),
            "file_content_0": ("invoice.pdf", b"x", "application/pdf"),
        },
    )
    assert refused.json()["AttachableResponse"][0]["Fault"]["Error"][0]["code"] == "2500"


def test_minorversion_below_75_is_refused(api):
    assert fault(api.get("/preferences", params={"minorversion": "74"}))[0] == "2170"
    assert api.get("/preferences", params={"minorversion": "75"}).status_code == 200


def test_name_lists_answer_active_entries_unless_asked(api):
    names = [v["DisplayName"] for v in api.query("select * from Vendor")["Vendor"]]
    assert "Old Vendor" not in names
    every = api.query("select * from Vendor where Active in (true, false)")["Vendor"]
    assert "Old Vendor" in [v["DisplayName"] for v in every]
    assert [
        v["DisplayName"] for v in api.query("select * from Vendor where Active = false")["Vendor"]
    ] == ["Old Vendor"]
