"""The batch endpoint (at most 30 items, each answered on its own) and `requestid` replay."""

import pytest

from .conftest import fault


def test_batch_items_succeed_or_fail_on_their_own(api):
    bill = api.create_bill()
    response = api.post(
        "/batch",
        json={
            "BatchItemRequest": [
                {"bId": "b1", "operation": "create", "Bill": api.bill(DocNumber="B-1")},
                {"bId": "b2", "operation": "create", "Bill": api.bill()},  # duplicate number
                {
                    "bId": "b3",
                    "operation": "update",
                    "Bill": {"Id": bill["Id"], "SyncToken": "7", "sparse": True},
                },
                {"bId": "q1", "Query": "select * from Bill where DocNumber = 'B-1'"},
                {
                    "bId": "b4",
                    "operation": "update",
                    "Bill": {
                        "Id": bill["Id"],
                        "SyncToken": "0",
                        "sparse": True,
                        "PrivateNote": "n",
                    },
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert list(items) == ["b1", "b2", "b3", "q1", "b4"]
    assert items["b1"]["Bill"]["DocNumber"] == "B-1"
    assert items["b2"]["Fault"]["Error"][0]["code"] == "6140"
    assert items["b3"]["Fault"] == {
        "Error": [
            {
                "Message": "Stale Object Error",
                "Detail": items["b3"]["Fault"]["Error"][0]["Detail"],
                "code": "5010",
            }
        ],
        "type": "ValidationFault",
    }
    # Items run in order: the query sees the bill the first item made.
    assert items["q1"]["QueryResponse"]["Bill"][0]["Id"] == items["b1"]["Bill"]["Id"]
    assert items["b4"]["Bill"]["SyncToken"] == "1"


def test_a_batch_takes_at_most_30_items(api):
    items = [
        {"bId": str(i), "operation": "create", "Bill": api.bill(DocNumber=f"N-{i}")}
        for i in range(31)
    ]
    code, message, _ = fault(api.post("/batch", json={"BatchItemRequest": items}))
    assert (code, message) == ("1040", "Operation batch size exceeded")
    assert api.query("select count(*) from Bill") == {"totalCount": 0}
    ok = api.post("/batch", json={"BatchItemRequest": items[:30]})
    assert len(ok.json()["BatchItemResponse"]) == 30
    assert api.query("select count(*) from Bill") == {"totalCount": 30}


def test_batch_void_and_delete(api):
    bill = api.create_bill()
    payment = api.pay(bill, 10).json()["BillPayment"]
    other = api.create_bill(DocNumber="DEL-1")
    response = api.post(
        "/batch",
        json={
            "BatchItemRequest": [
                {
                    "bId": "v",
                    "operation": "void",
                    "BillPayment": {"Id": payment["Id"], "SyncToken": "0"},
                },
                {"bId": "d", "operation": "delete", "Bill": {"Id": other["Id"], "SyncToken": "0"}},
            ]
        },
    )
    items = response.json()["BatchItemResponse"]
    assert items[0]["BillPayment"]["TotalAmt"] == 0.0
    assert items[1]["Bill"]["status"] == "Deleted"


def test_a_repeated_requestid_replays_the_first_answer(api):
    first = api.post("/bill", params={"requestid": "rid-1"}, json=api.bill())
    again = api.post("/bill", params={"requestid": "rid-1"}, json=api.bill())
    assert again.status_code == 200 and again.json() == first.json()
    assert api.query("select count(*) from Bill") == {"totalCount": 1}
    # Without it the same body is a second write, refused here by the number check.
    assert fault(api.post("/bill", json=api.bill()))[0] == "6140"
    # A fault is replayed too (it is the request's answer); a batch keeps its answer the same way.
    refused = api.post("/bill", params={"requestid": "rid-2"}, json=api.bill())
    assert fault(refused)[0] == "6140"
    api.emulator.set_unique_doc_numbers(False)
    assert (
        api.post("/bill", params={"requestid": "rid-2"}, json=api.bill()).json() == refused.json()
    )
    batch = {
        "BatchItemRequest": [{"bId": "1", "operation": "create", "Bill": api.bill(DocNumber="Z")}]
    }
    one = api.post("/batch", params={"requestid": "rid-3"}, json=batch).json()
    assert api.post("/batch", params={"requestid": "rid-3"}, json=batch).json() == one
    assert api.query("select count(*) from Bill where DocNumber = 'Z'") == {"totalCount": 1}


@pytest.mark.parametrize(
    ("path", "requestid", "bid"),
    [("/bill", "r" * 51, None), ("/batch", "r" * 37, "1"), ("/batch", "r", "b" * 11)],
)
def test_requestid_and_bid_lengths(api, path, requestid, bid):
    body = (
        api.bill()
        if bid is None
        else {"BatchItemRequest": [{"bId": bid, "Query": "select * from Bill"}]}
    )
    assert fault(api.post(path, params={"requestid": requestid}, json=body))[0] == "2050"


def test_requestids_are_per_company(api, emulator, http):
    from .conftest import Api

    other_realm = emulator.add_realm("Globex (Emulated)")["realmId"]
    other = Api(http, emulator, emulator.connect(other_realm))
    api.post("/bill", params={"requestid": "same"}, json=api.bill())
    made = other.post("/bill", params={"requestid": "same"}, json=other.bill())
    assert made.status_code == 200
    assert len(emulator.entities("Bill", other_realm)) == 1
