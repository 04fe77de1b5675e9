"""Wire format: MS-JSON dates, the where filter, and every field name checked against Xero's
published OpenAPI schemas."""

from datetime import date

import pytest

from integrations.emulators.xero import EmulatorConfig
from integrations.emulators.xero.where import WhereError, compile_where
from integrations.emulators.xero.wire import ms_date, parse_date

from .conftest import bill
from .spec_fields import problems, schema

# What real Xero sends beyond the schemas (see EmulatorConfig.spec_strict).
XERO_EXTRAS = {"Id", "Status", "ProviderName", "DateTimeUTC", "DateString", "DueDateString"}


def test_ms_json_dates_round_trip():
    assert ms_date(date(2025, 12, 1)) == "/Date(1764547200000+0000)/"
    assert parse_date("/Date(1764547200000+0000)/") == date(2025, 12, 1)
    assert parse_date("/Date(1764547200000)/") == date(2025, 12, 1)
    assert parse_date("2025-12-01") == date(2025, 12, 1)
    assert parse_date("2025-12-01T00:00:00") == date(2025, 12, 1)
    with pytest.raises(ValueError):
        parse_date("01/12/2025")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('Status=="ACTIVE"', True),
        ('Status == "active" AND Type=="BANK"', True),
        ('Type=="EXPENSE" OR Code=="090"', True),
        ('Type=="EXPENSE" && Code=="090"', False),
        ('Name.Contains("bank")', True),
        ('Name.StartsWith("Savings")', False),
        ("EnablePaymentsToAccount==false", True),
        ('AccountID==Guid("00000000-0000-0000-0000-000000000001")', True),
        ('Name=="Bank AND Cash"', False),
    ],
)
def test_where_filter(where, expected):
    account = {
        "AccountID": "00000000-0000-0000-0000-000000000001",
        "Code": "090",
        "Name": "Business Bank Account",
        "Type": "BANK",
        "Status": "ACTIVE",
        "EnablePaymentsToAccount": False,
    }
    assert compile_where(where)(account) is expected


@pytest.mark.parametrize("where", ["Status=ACTIVE", 'Status=="A" AND', "DROP TABLE"])
def test_where_filter_rejects_what_it_cannot_parse(where):
    with pytest.raises(WhereError):
        compile_where(where)


def test_unparseable_where_is_a_query_parse_exception(api):
    response = api.get("/Accounts", params={"where": "Status=ACTIVE"})

    assert response.status_code == 400
    assert response.json()["Type"] == "QueryParseException"


def test_accounts_filter_by_status_and_type(api):
    def codes(where):
        return [a["Code"] for a in api.get("/Accounts", params={"where": where}).json()["Accounts"]]

    assert codes('Type=="BANK"') == ["090", "091"]
    active = codes('Status=="ACTIVE"')
    assert "477" not in active and {
        "400",
        "412",
        "429",
        "445",
        "469",
        "485",
        "489",
        "493",
        "200",
    } <= set(active)


def _exercise(api) -> list[tuple[str, dict, str]]:
    """(schema name, body, spec file) for one of every answer the adapter relies on."""
    answers = []

    def record(name, response, spec="xero_accounting.yaml"):
        answers.append((name, response.json(), spec))
        return response.json()

    tracking = [{"Name": "Department", "Option": "Sales"}]
    line = {
        "Description": "x",
        "Quantity": 1,
        "UnitAmount": 10,
        "AccountCode": "429",
        "Tracking": tracking,
    }
    invoice = record("Invoices", api.put("/Invoices", json=bill(LineItems=[line])))["Invoices"][0]
    invoice_id = invoice["InvoiceID"]
    record(
        "Invoices",
        api.put(
            "/Invoices",
            params={"summarizeErrors": "false"},
            json={"Invoices": [bill(InvoiceNumber="X", Type="NOPE"), bill()]},
        ),
    )
    record("Error", api.put("/Invoices", json=bill(Type="NOPE")))
    record("Invoices", api.post(f"/Invoices/{invoice_id}", json={"Reference": "r"}))
    record("Invoices", api.get("/Invoices", params={"page": 1}))
    record("Payments", api.pay(invoice_id, 5))
    record(
        "Payments",
        api.put(
            "/Payments",
            params={"summarizeErrors": "false"},
            json={
                "Payments": [
                    {
                        "Invoice": {"InvoiceID": invoice_id},
                        "Account": {"Code": "090"},
                        "Amount": 1000,
                    }
                ]
            },
        ),
    )
    record("Invoices", api.get(f"/Invoices/{invoice_id}"))
    record(
        "Attachments",
        api.put(
            f"/Invoices/{invoice_id}/Attachments/a.pdf",
            content=b"x",
            headers={"Content-Type": "application/pdf"},
        ),
    )
    record("Attachments", api.get(f"/Invoices/{invoice_id}/Attachments"))
    record("Accounts", api.get("/Accounts"))
    record("Contacts", api.get("/Contacts"))
    record(
        "Contacts",
        api.put(
            "/Contacts", json={"Contacts": [{"Name": "Fresh Supplier", "ContactNumber": "V-1"}]}
        ),
    )
    record("TrackingCategories", api.get("/TrackingCategories"))
    record("Organisations", api.get("/Organisation"))
    auth = {"Authorization": f"Bearer {api.token['access_token']}"}
    connections = api.http.get("/connections", headers=auth).json()
    answers += [("Connection", c, "xero_identity.yaml") for c in connections]
    api.emulator.book_invoice(invoice_id)
    record("Invoices", api.get(f"/Invoices/{invoice_id}"))
    return answers


@pytest.mark.parametrize("config", [EmulatorConfig(spec_strict=True)], ids=["spec_strict"])
def test_strict_answers_use_only_fields_the_spec_declares(api):
    for name, body, spec in _exercise(api):
        assert problems(body, schema(name, spec)) == [], name


def test_default_answers_add_only_what_real_xero_adds(api):
    for name, body, spec in _exercise(api):
        extra = {
            p.split(": ")[0].rsplit(".", 1)[-1]
            for p in problems(body, schema(name, spec))
            if "not declared" in p
        }
        if name == "Error":
            continue  # Elements echo the submitted invoice, as Xero does
        assert extra <= XERO_EXTRAS, (name, extra)
