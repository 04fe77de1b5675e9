"""Bills and invoices: create, read, filter, update, validation and status rules."""

import pytest

from integrations.emulators.xero import wire

from .conftest import bill, validation_messages

DEPARTMENT_SALES = [{"Name": "Department", "Option": "Sales"}]


def test_create_one_bill_returns_the_full_xero_object(api):
    response = api.put("/Invoices", json={"Invoices": [bill(Url="https://ap.example/doc/1")]})

    assert response.status_code == 200
    body = response.json()
    assert body["Status"] == "OK" and body["Id"] and body["DateTimeUTC"].startswith("/Date(")
    [invoice] = body["Invoices"]
    assert invoice["Type"] == "ACCPAY"
    assert invoice["InvoiceNumber"] == "SUP-1001"
    assert invoice["Status"] == "AUTHORISED"
    assert invoice["Contact"] == {
        "ContactID": api.contact_id("Office Supplies Ltd"),
        "Name": "Office Supplies Ltd",
    }
    assert invoice["Date"] == "/Date(1793491200000+0000)/"
    assert invoice["DateString"] == "2026-11-01T00:00:00"
    assert invoice["DueDateString"] == "2026-12-01T00:00:00"
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"]) == (100.0, 0.0, 100.0)
    assert (invoice["AmountDue"], invoice["AmountPaid"], invoice["AmountCredited"]) == (
        100.0,
        0.0,
        0.0,
    )
    assert invoice["CurrencyCode"] == "USD" and invoice["LineAmountTypes"] == "Exclusive"
    assert invoice["Url"] == "https://ap.example/doc/1"
    assert invoice["HasErrors"] is False and invoice["HasAttachments"] is False
    assert invoice["Payments"] == []
    [line] = invoice["LineItems"]
    assert line["LineItemID"]
    assert (line["Quantity"], line["UnitAmount"], line["LineAmount"]) == (2.0, 50.0, 100.0)
    assert (line["AccountCode"], line["TaxAmount"]) == ("429", 0.0)


def test_create_many_and_read_back(api):
    response = api.put(
        "/Invoices",
        json={"Invoices": [bill(InvoiceNumber=f"B-{n}") for n in range(3)]},
    )

    assert [i["InvoiceNumber"] for i in response.json()["Invoices"]] == ["B-0", "B-1", "B-2"]
    listed = api.get("/Invoices").json()["Invoices"]
    assert len(listed) == 3
    one = api.get(f"/Invoices/{listed[1]['InvoiceID']}").json()["Invoices"]
    assert one[0]["InvoiceNumber"] == "B-1"


def test_get_unknown_invoice_is_404(api):
    assert api.get("/Invoices/00000000-0000-0000-0000-000000000001").status_code == 404


def test_filters_ids_numbers_contacts_statuses(api):
    draft = api.create_bill(InvoiceNumber="D-1", Status="DRAFT")
    authorised = api.create_bill(InvoiceNumber="A-1")
    other = api.create_bill(InvoiceNumber="T-1", Contact={"Name": "Telco Ltd"})

    def numbers(**params):
        return sorted(
            i["InvoiceNumber"] for i in api.get("/Invoices", params=params).json()["Invoices"]
        )

    assert numbers(IDs=f"{draft['InvoiceID']},{other['InvoiceID']}") == ["D-1", "T-1"]
    assert numbers(InvoiceNumbers="A-1,T-1") == ["A-1", "T-1"]
    assert numbers(ContactIDs=other["Contact"]["ContactID"]) == ["T-1"]
    assert numbers(Statuses="DRAFT") == ["D-1"]
    assert numbers(Statuses="AUTHORISED,DRAFT") == ["A-1", "D-1", "T-1"]
    assert numbers(where='Status=="AUTHORISED" AND Contact.Name=="telco ltd"') == ["T-1"]
    assert authorised["InvoiceID"]


def test_paging_reports_pagination(api):
    api.put("/Invoices", json={"Invoices": [bill(InvoiceNumber=f"P-{n}") for n in range(5)]})

    body = api.get("/Invoices", params={"page": 2, "pageSize": 2}).json()

    assert [i["InvoiceNumber"] for i in body["Invoices"]] == ["P-2", "P-3"]
    assert body["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}


def test_a_page_serialises_only_its_own_invoices(api, clock, monkeypatch):
    # A reconcile reads 100,000 invoices a page at a time: each page must cost its own size.
    api.put("/Invoices", json={"Invoices": [bill(InvoiceNumber=f"OLD-{n}") for n in range(5)]})
    clock.advance(600)
    api.put("/Invoices", json={"Invoices": [bill(InvoiceNumber=f"N-{n}") for n in range(250)]})
    serialised = []
    real_invoice_json = wire.invoice_json

    def counted(tenant, invoice, **kwargs):
        serialised.append(invoice.invoice_number)
        return real_invoice_json(tenant, invoice, **kwargs)

    monkeypatch.setattr(wire, "invoice_json", counted)
    since = {"If-Modified-Since": "2026-11-18T11:10:00"}  # after the OLD ones

    body = api.get("/Invoices", params={"page": 2}, headers=since).json()

    assert [i["InvoiceNumber"] for i in body["Invoices"]] == [f"N-{n}" for n in range(100, 200)]
    assert body["pagination"] == {"page": 2, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    assert serialised == [f"N-{n}" for n in range(100, 200)]


def test_paging_counts_what_the_where_filter_keeps(api):
    api.put(
        "/Invoices",
        json={"Invoices": [bill(InvoiceNumber=f"{p}-{n}") for n in range(4) for p in "AB"]},
    )

    body = api.get(
        "/Invoices", params={"where": 'InvoiceNumber.StartsWith("B")', "page": 2, "pageSize": 3}
    ).json()

    assert [i["InvoiceNumber"] for i in body["Invoices"]] == ["B-3"]
    assert body["pagination"] == {"page": 2, "pageSize": 3, "pageCount": 2, "itemCount": 4}
    bad = api.get("/Invoices", params={"where": "InvoiceNumber ==", "page": 1})
    assert bad.status_code == 400


def test_summarize_errors_true_saves_nothing(api):
    response = api.put(
        "/Invoices",
        json={"Invoices": [bill(InvoiceNumber="OK-1"), bill(InvoiceNumber="BAD", Type="NOPE")]},
    )

    assert validation_messages(response) == [
        "'NOPE' is not a valid invoice Type; use ACCPAY or ACCREC"
    ]
    [element] = response.json()["Elements"]
    assert element["InvoiceNumber"] == "BAD"  # Xero echoes the failed object
    assert api.emulator.invoices() == []


def test_summarize_errors_false_saves_the_valid_ones(api):
    response = api.put(
        "/Invoices",
        params={"summarizeErrors": "false"},
        json={"Invoices": [bill(InvoiceNumber="OK-1"), bill(InvoiceNumber="BAD", Type="NOPE")]},
    )

    assert response.status_code == 200
    ok, failed = response.json()["Invoices"]
    assert (ok["StatusAttributeString"], ok["HasErrors"]) == ("OK", False)
    assert ok["InvoiceID"]
    assert (failed["StatusAttributeString"], failed["HasErrors"]) == ("ERROR", True)
    assert failed["ValidationErrors"] == [
        {"Message": "'NOPE' is not a valid invoice Type; use ACCPAY or ACCREC"}
    ]
    assert [i["InvoiceNumber"] for i in api.emulator.invoices()] == ["OK-1"]


def _line(**fields):
    return {"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "429", **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Type": None}, "Invoice Type must be specified"),
        ({"Type": "BILL"}, "'BILL' is not a valid invoice Type; use ACCPAY or ACCREC"),
        (
            {"LineItems": [_line(AccountCode="999")]},
            "Account code '999' is not a valid code for this document.",
        ),
        (
            {"LineItems": [_line(AccountCode="477")]},  # archived
            "Account code '477' is not a valid code for this document.",
        ),
        (
            {"LineItems": [_line(AccountCode="090")]},  # a bank account
            "Account code '090' is not a valid code for this document.",
        ),
        (
            {"Contact": {"ContactID": "00000000-0000-0000-0000-00000000c0de"}},
            "The contact with ContactID '00000000-0000-0000-0000-00000000c0de' does not exist",
        ),
        (
            {"Contact": {"Name": "Old Vendor Inc"}},
            "The contact has been archived. Transactions cannot be created for archived contacts.",
        ),
        ({"Contact": None}, "A Contact must be specified for this type of transaction"),
        ({"LineItems": []}, "At least one line item must be specified"),
        ({"Total": 99.99}, "The total for this document does not match the sum of the line items"),
        ({"DueDate": "2026-10-01"}, "The DueDate cannot be before the invoice Date"),
        (
            {"LineItems": [_line(Tracking=[{"Name": "Department", "Option": "Legal"}])]},
            "Tracking option 'Legal' is not valid for tracking category 'Department'",
        ),
        (
            {"LineItems": [_line(Tracking=[{"Name": "Region", "Option": "North"}])]},
            "Tracking category 'Region' does not exist",
        ),
        ({"CurrencyCode": "US"}, "'US' is not a valid currency code"),
        ({"CurrencyCode": "usd1"}, "'usd1' is not a valid currency code"),
        ({"Date": "2026-13-45"}, "'2026-13-45' is not a valid Date; use YYYY-MM-DD"),
        (
            {"LineItems": [_line(LineAmount=11)]},
            "The LineAmount 11 does not equal Quantity x UnitAmount (10.00)",
        ),
        ({"Status": "PAID"}, "An invoice cannot be created with a Status of PAID"),
    ],
)
def test_validation_errors(api, fields, message):
    element = {k: v for k, v in bill(**fields).items() if v is not None}

    response = api.put("/Invoices", json={"Invoices": [element]})

    assert validation_messages(response) == [message]
    assert api.emulator.invoices() == []


def test_archived_contact_by_id_is_refused(api):
    archived = api.contact_id("Old Vendor Inc")

    response = api.put("/Invoices", json=bill(Contact={"ContactID": archived}))

    assert "archived" in validation_messages(response)[0]


def test_matching_total_is_accepted(api):
    assert api.create_bill(Total=100.00)["Total"] == 100.0


def test_dates_accept_ms_json(api):
    invoice = api.create_bill(Date="/Date(1793491200000+0000)/", DueDate="2026-12-01T00:00:00")

    assert invoice["DateString"] == "2026-11-01T00:00:00"
    assert invoice["DueDateString"] == "2026-12-01T00:00:00"


def test_tracking_resolves_names_to_ids(api):
    invoice = api.create_bill(LineItems=[_line(Tracking=DEPARTMENT_SALES)])
    category = api.get("/TrackingCategories").json()["TrackingCategories"][0]
    sales = next(o for o in category["Options"] if o["Name"] == "Sales")

    assert invoice["LineItems"][0]["Tracking"] == [
        {
            "Name": "Department",
            "Option": "Sales",
            "TrackingCategoryID": category["TrackingCategoryID"],
            "TrackingOptionID": sales["TrackingOptionID"],
        }
    ]


def test_contact_by_name_matches_case_insensitively_or_is_created(api):
    matched = api.create_bill(Contact={"Name": "office supplies LTD"})
    assert matched["Contact"]["ContactID"] == api.contact_id("Office Supplies Ltd")

    created = api.create_bill(Contact={"Name": "Brand New Supplier"})
    again = api.create_bill(Contact={"Name": "brand new supplier"})

    assert created["Contact"]["ContactID"] == again["Contact"]["ContactID"]
    contact = api.get("/Contacts", params={"IDs": created["Contact"]["ContactID"]}).json()
    assert contact["Contacts"][0]["IsSupplier"] is True


def test_update_replaces_the_line_items(api):
    invoice = api.create_bill(
        LineItems=[_line(Description="keep", UnitAmount=10), _line(Description="drop")]
    )
    keep_id = invoice["LineItems"][0]["LineItemID"]

    response = api.post(
        f"/Invoices/{invoice['InvoiceID']}",
        json={
            "Invoices": [
                {
                    "DueDate": "2026-12-15",
                    "LineItems": [
                        {"LineItemID": keep_id, "UnitAmount": 30},
                        _line(Description="new", UnitAmount=5, Tracking=DEPARTMENT_SALES),
                    ],
                }
            ]
        },
    )

    assert response.status_code == 200, response.text
    updated = response.json()["Invoices"][0]
    assert [line["Description"] for line in updated["LineItems"]] == ["keep", "new"]
    assert updated["LineItems"][0]["LineItemID"] == keep_id
    assert updated["LineItems"][0]["LineAmount"] == 30.0
    assert updated["Total"] == 35.0 and updated["AmountDue"] == 35.0
    assert updated["DueDateString"] == "2026-12-15T00:00:00"
    assert updated["InvoiceNumber"] == "SUP-1001"  # fields not sent stay


def test_post_invoices_updates_by_id_and_creates_without(api):
    existing = api.create_bill(Status="DRAFT")

    response = api.post(
        "/Invoices",
        json={
            "Invoices": [
                {
                    "InvoiceID": existing["InvoiceID"],
                    "Reference": "changed",
                    "Status": "AUTHORISED",
                },
                bill(InvoiceNumber="NEW-1"),
            ]
        },
    )

    first, second = response.json()["Invoices"]
    assert (first["InvoiceID"], first["Reference"], first["Status"]) == (
        existing["InvoiceID"],
        "changed",
        "AUTHORISED",
    )
    assert second["InvoiceNumber"] == "NEW-1"
    assert len(api.emulator.invoices()) == 2


def test_void_an_authorised_unpaid_invoice(api):
    invoice = api.create_bill()

    response = api.post(f"/Invoices/{invoice['InvoiceID']}", json={"Status": "VOIDED"})

    assert response.json()["Invoices"][0]["Status"] == "VOIDED"
    assert response.json()["Invoices"][0]["AmountDue"] == 0.0


def test_draft_can_be_deleted_but_not_voided(api):
    draft = api.create_bill(Status="DRAFT")
    path = f"/Invoices/{draft['InvoiceID']}"

    assert validation_messages(api.post(path, json={"Status": "VOIDED"})) == [
        "Invoice not of valid status for modification"
    ]
    assert api.post(path, json={"Status": "DELETED"}).json()["Invoices"][0]["Status"] == "DELETED"


@pytest.mark.parametrize("make_uneditable", ["paid", "part_paid", "voided", "deleted"])
def test_paid_voided_deleted_invoices_are_not_editable(api, make_uneditable):
    invoice = api.create_bill(Status="DRAFT" if make_uneditable == "deleted" else "AUTHORISED")
    path = f"/Invoices/{invoice['InvoiceID']}"
    if make_uneditable == "paid":
        api.emulator.book_invoice(invoice["InvoiceID"])
    elif make_uneditable == "part_paid":
        assert api.pay(invoice["InvoiceID"], 10).status_code == 200
    else:
        api.post(path, json={"Status": make_uneditable.upper()})

    response = api.post(path, json={"Reference": "too late"})

    assert validation_messages(response) == ["Invoice not of valid status for modification"]


def test_lock_date_blocks_posted_documents_on_or_before_it(api):
    locked_bill = api.create_bill(Date="2026-10-31", DueDate="2026-11-30")
    api.emulator.set_lock_date(api.tenant_id, "2026-10-31")

    edit = api.post(f"/Invoices/{locked_bill['InvoiceID']}", json={"Reference": "x"})
    create = api.put("/Invoices", json=bill(Date="2026-10-31", DueDate="2026-11-30"))
    draft = api.put("/Invoices", json=bill(Date="2026-10-31", Status="DRAFT"))
    later = api.put("/Invoices", json=bill(Date="2026-11-01"))

    lock_message = "The document date cannot be before the period lock date"
    assert validation_messages(edit) == [lock_message]
    assert validation_messages(create) == [lock_message]
    assert draft.status_code == 200 and later.status_code == 200
    organisation = api.get("/Organisation").json()["Organisations"][0]
    assert organisation["PeriodLockDate"] == "/Date(1793404800000+0000)/"


def test_sales_invoices_get_unique_numbers(api):
    sale = {"Type": "ACCREC", "Contact": {"Name": "Bayside Club"}, "Status": "DRAFT"}
    first = api.put("/Invoices", json={**sale, "LineItems": [_line(AccountCode="200")]}).json()[
        "Invoices"
    ][0]
    duplicate = api.put(
        "/Invoices",
        json={
            **sale,
            "InvoiceNumber": first["InvoiceNumber"],
            "LineItems": [_line(AccountCode="200")],
        },
    )

    assert first["InvoiceNumber"] == "INV-0001"
    assert validation_messages(duplicate) == ["Invoice # must be unique."]


def test_supplier_bill_numbers_may_repeat(api):
    api.create_bill(InvoiceNumber="SAME")

    assert api.create_bill(InvoiceNumber="SAME")["InvoiceNumber"] == "SAME"


def test_malformed_json_is_post_data_invalid(api):
    response = api.put(
        "/Invoices", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["Type"] == "PostDataInvalidException"


def test_attachments_upload_and_list(api):
    invoice = api.create_bill()
    path = f"/Invoices/{invoice['InvoiceID']}/Attachments"

    uploaded = api.put(
        f"{path}/bill.pdf", content=b"%PDF-1.4 hello", headers={"Content-Type": "application/pdf"}
    )

    assert uploaded.status_code == 200
    [attachment] = uploaded.json()["Attachments"]
    assert attachment["FileName"] == "bill.pdf"
    assert attachment["MimeType"] == "application/pdf"
    assert attachment["ContentLength"] == 14
    assert attachment["Url"].endswith(
        f"/api.xro/2.0/Invoices/{invoice['InvoiceID']}/Attachments/bill.pdf"
    )
    assert set(attachment) == {"AttachmentID", "FileName", "Url", "MimeType", "ContentLength"}
    listed = api.get(path).json()["Attachments"]
    assert [a["AttachmentID"] for a in listed] == [attachment["AttachmentID"]]
    assert api.get(f"{path}/bill.pdf").content == b"%PDF-1.4 hello"
    assert api.get(f"/Invoices/{invoice['InvoiceID']}").json()["Invoices"][0]["HasAttachments"]
    assert api.get("/Invoices/00000000-0000-0000-0000-000000000009/Attachments").status_code == 404
