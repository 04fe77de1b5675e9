"""The partner flow on each ledger the product has (Xero, QuickBooks Online, MYOB), over the API
alone: push a dataset of expenses, sync it, read every failure's machine-readable missing
mapping, set the mappings from the ledger's own options, retry the failed items until the sync
ends 2000, and find each expense in the ledger once. On QuickBooks and MYOB a merchant is a
vendor the ledger must know by id, so the partner maps it too; Xero takes contacts by name."""

import pytest

from tests.factories import CategoryFactory
from tests.ledger_fixtures import LEDGERS

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]

EXPENSES = 12
FIX_ROUNDS = 3  # each retry may name the next missing mapping of an item (vendor, then account)


def expenses(office, travel) -> list[dict]:
    items = [
        {
            "id": f"card-{n:03d}",
            "issue_date": "2026-11-03",
            "currency": "USD",
            "merchant_name": "Café Central",
            "category": office.pk,
            "lines": [{"description": f"Lunch {n}", "unit_amount": f"{n + 10}.50"}],
        }
        for n in range(EXPENSES)
    ]
    items[7] = {**items[7], "category": travel.pk, "notes": "Train to Lyon"}
    return items


def sync_until_finished(api, sync_id, drain) -> dict:
    for _ in range(10):
        drain()
        sync = api.get(f"/api/v1/syncs/{sync_id}").json()
        if sync["finished"]:
            return sync
    raise AssertionError(f"sync {sync_id} did not finish: {sync}")


def failures(api, sync_id) -> list[dict]:
    url = f"/api/v1/syncs/{sync_id}/transactions?page_size=100"
    return [t for t in api.get(url).json()["results"] if t["status"] == "failed"]


def fix_mappings(api, connection, failed: list[dict]) -> None:
    """What the partner does with the failures: each names its missing mapping; the ledger's
    options say what to map it to (any expense account, any vendor: the partner's choice)."""
    options = api.get(f"/api/v1/connections/{connection.pk}/mapping-options").json()
    missing = [t["error"]["missing_mapping"] for t in failed]
    assert all(missing), [t["error"] for t in failed]
    body: dict[str, list] = {}
    for item in {(m["kind"], m["local_id"]): m for m in missing}.values():
        assert item["local_id"], item  # the id to map, not only a name
        if item["kind"] == "account":
            body.setdefault("accounts", []).append(
                {"category_id": item["local_id"], "account_id": options["accounts"][0]["id"]}
            )
        elif item["kind"] == "contact":
            vendors = [c for c in options["contacts"] if c.get("is_supplier", True)]
            body.setdefault("contacts", []).append(
                {"vendor_id": item["local_id"], "contact_id": vendors[0]["id"]}
            )
        else:
            raise AssertionError(f"unexpected missing mapping {item}")
    response = api.patch(f"/api/v1/connections/{connection.pk}/mappings", body, format="json")
    assert response.status_code == 200, response.content


def test_a_partner_pushes_syncs_and_fixes_every_failure_over_the_api(
    api, org, office, connection, drain, ledger_books
):
    travel = CategoryFactory(org=org, name="Travel", code="999")  # mapped to nothing yet
    pushed = api.post(
        "/api/v1/expense-datasets", {"items": expenses(office, travel)}, format="json"
    )
    assert pushed.status_code == 201, pushed.content
    dataset = pushed.json()

    started = api.post("/api/v1/syncs", {"dataset_ids": [dataset["id"]]}, format="json")
    assert started.status_code == 202, started.content
    sync = sync_until_finished(api, started.json()["id"], drain)
    assert sync["status_code"] == 4000, sync
    assert sync["counts"]["failed"] >= 1

    for _ in range(FIX_ROUNDS):
        failed = failures(api, sync["id"])
        if not failed:
            break
        fix_mappings(api, connection, failed)
        retry = api.post(f"/api/v1/syncs/{sync['id']}/retry-failed")
        assert retry.status_code == 202, retry.content
        sync = sync_until_finished(api, retry.json()["id"], drain)
    assert sync["status_code"] == 2000, (sync, failures(api, sync["id"]))

    final = api.get(f"/api/v1/expense-datasets/{dataset['id']}").json()
    assert final["counts"]["complete"] == EXPENSES
    # Each expense is in the ledger once, whatever the retries: twelve entries, twelve numbers.
    numbers = [bill.number for bill in ledger_books.bills()]
    assert sorted(numbers) == sorted(f"card-{n:03d}" for n in range(EXPENSES))
