"""Idempotency-Key: replay of the stored answer, conflicts, scope, expiry."""

from .conftest import bill


def test_same_key_and_body_replays_without_a_second_invoice(api):
    headers = {"Idempotency-Key": "doc-42-v1-create"}

    first = api.put("/Invoices", json={"Invoices": [bill()]}, headers=headers)
    second = api.put("/Invoices", json={"Invoices": [bill()]}, headers=headers)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(api.emulator.invoices()) == 1
    assert api.emulator.call_count() == 2  # a replay still counts against the rate limit


def test_same_key_different_body_is_a_conflict(api):
    headers = {"Idempotency-Key": "doc-42-v1-create"}
    api.put("/Invoices", json={"Invoices": [bill()]}, headers=headers)

    response = api.put("/Invoices", json={"Invoices": [bill(InvoiceNumber="X")]}, headers=headers)

    assert response.status_code == 409
    assert response.json()["Type"] == "IdempotencyKeyConflict"
    assert len(api.emulator.invoices()) == 1


def test_validation_failures_are_replayed_too(api):
    headers = {"Idempotency-Key": "k-bad"}
    bad = {"Invoices": [bill(Type="NOPE")]}

    first = api.put("/Invoices", json=bad, headers=headers)
    second = api.put("/Invoices", json=bad, headers=headers)

    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()


def test_keys_are_per_tenant_and_expire_after_24_hours(api, clock):
    headers = {"Idempotency-Key": "k-1"}
    api.put("/Invoices", json=bill(), headers=headers)

    clock.advance(24 * 3600 + 1)
    api.emulator.expire_tokens()
    api.token = api.emulator.connect()
    api.put("/Invoices", json=bill(), headers=headers)

    assert len(api.emulator.invoices()) == 2


def test_get_ignores_the_key(api):
    api.create_bill()
    headers = {"Idempotency-Key": "k-get"}

    assert api.get("/Invoices", headers=headers).json()["Invoices"]
    assert api.emulator.state()["idempotencyKeys"] == 0


def test_key_longer_than_128_characters_is_refused(api):
    response = api.put("/Invoices", json=bill(), headers={"Idempotency-Key": "k" * 129})

    assert response.status_code == 400
    assert api.emulator.invoices() == []
