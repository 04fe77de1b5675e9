"""Change data capture (GET /cdc): each entity's objects created or changed since a time, in
full, and the ones deleted as {"Id", "status": "Deleted"}; within 30 days. Every answer is held
to Intuit's XML Schemas (IntuitResponse › CDCResponse › QueryResponse)."""

from integrations.emulators.qbo import api as qbo_api

from .conftest import fault

SINCE = "2026-11-18T03:00:00-08:00"  # before the clock's start


def cdc(api, entities: str, since: str = SINCE):
    return api.get("/cdc", params={"entities": entities, "changedSince": since})


def test_changed_and_deleted_entities_since_a_time(api, emulator, clock):
    first = api.create_bill()
    second = api.create_bill(DocNumber="SUP-1002")
    clock.advance(60)
    later = "2026-11-18T03:07:00-08:00"  # after both were created
    answer = cdc(api, "Bill,Invoice", later).json()
    assert answer["CDCResponse"] == [{"QueryResponse": [{}, {}]}]
    assert "time" in answer

    emulator.edit_entity("Bill", first["Id"], {"DueDate": "2027-01-31"})
    emulator.delete_entity("Bill", second["Id"])
    (response,) = cdc(api, "Bill,Invoice", later).json()["CDCResponse"]
    bills, invoices = response["QueryResponse"]
    assert invoices == {}
    changed, deleted = bills["Bill"]
    assert (changed["Id"], changed["DueDate"]) == (first["Id"], "2027-01-31")
    assert deleted == {
        "domain": "QBO",
        "status": "Deleted",
        "Id": second["Id"],
        "MetaData": {"LastUpdatedTime": "2026-11-18T03:07:40.000-08:00"},
    }
    assert (bills["startPosition"], bills["maxResults"]) == (1, 2)
    # From the start, the first bill is there once, as it is now.
    everything = cdc(api, "Bill").json()["CDCResponse"][0]["QueryResponse"][0]["Bill"]
    assert [(b["Id"], b.get("status")) for b in everything] == [
        (first["Id"], None),
        (second["Id"], "Deleted"),
    ]


def test_a_bad_cdc_request_is_a_fault(api, bad_requests):
    assert fault(api.get("/cdc", params={"changedSince": SINCE}))[0] == "2020"
    assert fault(cdc(api, "Bill", "yesterday"))[0] == "2020"
    assert fault(cdc(api, "Nonsense"))[0] == "4000"
    # QuickBooks looks back 30 days at most.
    assert fault(cdc(api, "Bill", "2026-10-01T00:00:00-08:00"))[0] == "4000"


def test_an_answer_holds_the_live_objects_first_then_the_deleted(api, emulator, monkeypatch):
    monkeypatch.setattr(qbo_api, "CDC_MAX_OBJECTS", 3)
    live = [api.create_bill(DocNumber=f"L-{n}") for n in range(2)]
    gone = [api.create_bill(DocNumber=f"G-{n}") for n in range(2)]
    for bill in gone:
        emulator.delete_entity("Bill", bill["Id"])

    bills = cdc(api, "Bill").json()["CDCResponse"][0]["QueryResponse"][0]

    assert [(b["Id"], b.get("status")) for b in bills["Bill"]] == [
        (live[0]["Id"], None),
        (live[1]["Id"], None),
        (gone[0]["Id"], "Deleted"),
    ]
    assert bills["maxResults"] == 3
    monkeypatch.setattr(qbo_api, "CDC_MAX_OBJECTS", 1)
    only = cdc(api, "Bill").json()["CDCResponse"][0]["QueryResponse"][0]["Bill"]
    assert [b["Id"] for b in only] == [live[0]["Id"]]
