"""MYOB is registered like the other ledgers: the provider, its connector from
settings.LEDGER_CONNECTORS with the limits the engine plans from, and its emulator address."""

import pytest
from django.core.exceptions import ValidationError

from integrations.connectors import connector_class_for
from integrations.connectors.myob import MyobConnector
from integrations.forms import ConnectForm
from integrations.models import Provider
from integrations.services import base_url_validate


def test_the_myob_provider_names_its_connector():
    assert Provider.MYOB == "myob"
    assert connector_class_for(Provider.MYOB) is MyobConnector


def test_capabilities_are_the_api_keys_limits_without_batches():
    capabilities = MyobConnector.capabilities
    assert capabilities.per_minute == 8 * 60
    assert capabilities.per_day == 1_000_000
    assert capabilities.batch_size == 1
    assert capabilities.paid_entry_is_booked
    # MYOB's limits are the API key's: every connection, of every organisation, shares one.
    assert capabilities.quota_scope == "app"


def test_only_the_configured_myob_emulator_address_is_accepted(settings):
    settings.LEDGER_EMULATOR_ALLOWED = True
    settings.MYOB_EMULATOR_URL = "http://127.0.0.1:8127"
    assert base_url_validate("http://127.0.0.1:8127/") == "http://127.0.0.1:8127"
    with pytest.raises(ValidationError):
        base_url_validate("http://127.0.0.1:8128")


def test_the_connect_form_offers_myob_with_its_emulator_address(settings):
    settings.LEDGER_EMULATOR_ALLOWED = True
    settings.MYOB_EMULATOR_URL = "http://127.0.0.1:8127"
    form = ConnectForm()
    assert (Provider.MYOB, "MYOB Business") in form.fields["provider"].choices
    assert "http://127.0.0.1:8127" in form.fields["provider"].widget.attrs["data-emulator-urls"]
    wrong = ConnectForm(data={"provider": Provider.MYOB, "base_url": settings.QBO_EMULATOR_URL})
    assert not wrong.is_valid()
    assert "MYOB Business's is at" in wrong.errors["base_url"][0]
