"""Contacts, accounts and tracking categories: what the mapping screens list."""

import threading

from .conftest import bill, validation_messages


def test_contacts_hide_archived_unless_asked(api):
    names = [c["Name"] for c in api.get("/Contacts").json()["Contacts"]]
    everything = api.get("/Contacts", params={"includeArchived": "true"}).json()["Contacts"]

    assert "Old Vendor Inc" not in names and "Office Supplies Ltd" in names
    archived = next(c for c in everything if c["Name"] == "Old Vendor Inc")
    assert archived["ContactStatus"] == "ARCHIVED"
    by_id = api.get("/Contacts", params={"IDs": archived["ContactID"]}).json()["Contacts"]
    assert [c["Name"] for c in by_id] == ["Old Vendor Inc"]


def test_contacts_where_name(api):
    found = api.get("/Contacts", params={"where": 'Name=="telco ltd"'}).json()["Contacts"]

    assert [c["Name"] for c in found] == ["Telco Ltd"]


def test_create_contacts_and_refuse_duplicate_names(api):
    created = api.put(
        "/Contacts", json={"Contacts": [{"Name": "Acme Parts", "ContactNumber": "VEND-9"}]}
    )
    duplicate = api.put("/Contacts", json={"Contacts": [{"Name": "acme parts"}]})
    nameless = api.put("/Contacts", json={"Contacts": [{"EmailAddress": "a@b.c"}]})

    contact = created.json()["Contacts"][0]
    assert (contact["Name"], contact["ContactNumber"], contact["ContactStatus"]) == (
        "Acme Parts",
        "VEND-9",
        "ACTIVE",
    )
    assert validation_messages(duplicate) == [
        "The contact name acme parts is already assigned to another contact. The contact name "
        "must be unique across all active contacts."
    ]
    assert validation_messages(nameless) == ["The contact name must be specified"]
    invoice = api.create_bill(Contact={"ContactNumber": "VEND-9"})
    assert invoice["Contact"]["ContactID"] == contact["ContactID"]


def test_chart_of_accounts_and_tracking(api):
    accounts = {a["Code"]: a for a in api.get("/Accounts").json()["Accounts"]}
    categories = api.get("/TrackingCategories").json()["TrackingCategories"]

    assert accounts["090"]["Name"] == "Business Bank Account"
    assert accounts["090"]["Type"] == "BANK"
    assert accounts["477"]["Status"] == "ARCHIVED"
    assert accounts["429"]["Name"] == "General Expenses"
    assert [c["Name"] for c in categories] == ["Department"]
    assert [o["Name"] for o in categories[0]["Options"]] == [
        "Sales",
        "Operations",
        "Finance",
        "Engineering",
        "Marketing",
    ]


def test_if_modified_since(api, clock):
    api.create_bill(InvoiceNumber="OLD")
    clock.advance(600)
    api.create_bill(InvoiceNumber="NEW")

    since = "2026-11-18T11:10:00"  # the clock starts at 2026-11-18T11:06:40Z
    found = api.get("/Invoices", headers={"If-Modified-Since": since}).json()["Invoices"]

    assert [i["InvoiceNumber"] for i in found] == ["NEW"]


def test_concurrent_writes_in_process_are_all_saved(api):
    api.emulator.set_rate_limits(max_concurrent=50, calls_per_window=1000)
    statuses = []

    def create(n):
        response = api.put("/Invoices", json=bill(InvoiceNumber=f"T-{n}"))
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert statuses == [200] * 20
    assert len({i["InvoiceNumber"] for i in api.emulator.invoices()}) == 20


def test_one_contact_by_id_or_number_archived_too(api):
    """Issue 12 item 16: GET /Contacts/{ContactID} answered 404 for every contact."""
    everything = api.get("/Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    archived = next(c for c in everything if c["Name"] == "Old Vendor Inc")
    one = api.get(f"/Contacts/{archived['ContactID']}")
    assert one.status_code == 200, one.text
    assert [c["ContactID"] for c in one.json()["Contacts"]] == [archived["ContactID"]]

    created = api.put(
        "/Contacts", json={"Contacts": [{"Name": "Acme Parts", "ContactNumber": "VEND-9"}]}
    ).json()["Contacts"][0]
    by_number = api.get("/Contacts/VEND-9").json()["Contacts"]
    assert [c["ContactID"] for c in by_number] == [created["ContactID"]]
    missing = api.get("/Contacts/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
