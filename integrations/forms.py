import json

from django import forms
from django.conf import settings

from integrations.connectors import connector_class_for
from integrations.connectors.types import EntryKind
from integrations.models import LockedPeriodPolicy, Provider


class ConnectForm(forms.Form):
    provider = forms.ChoiceField(choices=Provider.choices, initial=Provider.XERO)
    name = forms.CharField(
        max_length=120, required=False, help_text="Leave empty to use the ledger's name."
    )
    base_url = forms.CharField(
        label="Emulator address",
        max_length=200,
        required=False,
        help_text="Connect to a ledger emulator on this machine instead of the real service.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if settings.LEDGER_EMULATOR_ALLOWED:
            self.fields["base_url"].initial = settings.XERO_EMULATOR_URL
            # static/js/connect.js puts the chosen ledger's emulator address in the field.
            self.fields["provider"].widget.attrs["data-emulator-urls"] = json.dumps(
                emulator_urls_by_provider()
            )
            self.fields["base_url"].help_text += " " + "; ".join(
                f"{Provider(provider).label}: {url}"
                for provider, url in emulator_urls_by_provider().items()
            )
        else:
            del self.fields["base_url"]

    def clean(self):
        cleaned = super().clean()
        provider, base_url = cleaned.get("provider"), cleaned.get("base_url", "")
        # The address prefilled is Xero's emulator: one ledger's emulator cannot answer as the
        # other's (its consent page would not even be found), so say which address to use.
        emulators = emulator_urls_by_provider()
        if base_url and provider in emulators:
            others = {url for p, url in emulators.items() if p != provider}
            if base_url.strip().rstrip("/") in others - {emulators[provider]}:
                self.add_error(
                    "base_url",
                    f"That is another ledger's emulator; {Provider(provider).label}'s is at "
                    f"{emulators[provider]}.",
                )
        return cleaned


def emulator_urls_by_provider() -> dict[str, str]:
    return {
        Provider.XERO: settings.XERO_EMULATOR_URL.rstrip("/"),
        Provider.QUICKBOOKS: settings.QBO_EMULATOR_URL.rstrip("/"),
        Provider.MYOB: settings.MYOB_EMULATOR_URL.rstrip("/"),
    }


class TenantChoiceForm(forms.Form):
    """Which of the consent's ledger organisations this connection pushes to."""

    tenant_id = forms.ChoiceField(widget=forms.RadioSelect, label="Organisation in the ledger")
    confirm_shared = forms.BooleanField(
        required=False,
        label="Connect it even though another organisation here already pushes to it",
    )

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].choices = [(t.tenant_id, t.name) for t in tenants]


class LockedPeriodPolicyForm(forms.Form):
    """What a push dated in the ledger's locked period does."""

    locked_period_policy = forms.ChoiceField(
        choices=LockedPeriodPolicy.choices,
        widget=forms.RadioSelect,
        label="A push dated on or before the ledger's lock date",
    )


# Expense types spent from an account, and what the mapping page calls that account.
SPEND_KINDS = {"card": "Card expenses are spent from", "bank": "Bank expenses are spent from"}


def _choices(options, *, empty: str) -> list[tuple[str, str]]:
    return [("", empty), *options]


class MappingForm(forms.Form):
    """One select per category, department and vendor, plus the payment bank account.

    Field names carry the kind and our id (``account_12``), so a post names what it maps.
    """

    def __init__(
        self, *args, categories, departments, vendors, choices, mappings, connection, **kwargs
    ):
        super().__init__(*args, **kwargs)
        account_choices = _choices(choices["accounts"], empty="— not mapped —")
        tracking_choices = _choices(choices["tracking"], empty="— not mapped —")
        # QuickBooks and MYOB take a bill's vendor by their own id only: nothing is matched.
        self.vendors_match_by_name = (
            EntryKind.BILL
            not in connector_class_for(connection.provider).capabilities.contact_needs_mapping
        )
        contact_choices = _choices(
            choices["contacts"],
            empty="— match by name —" if self.vendors_match_by_name else "— not mapped —",
        )
        self.sections = {"account": [], "tracking": [], "contact": []}
        for kind, objects, options in (
            ("account", categories, account_choices),
            ("tracking", departments, tracking_choices),
            ("contact", vendors, contact_choices),
        ):
            for obj in objects:
                name = f"{kind}_{obj.pk}"
                current = mappings.get((kind, obj.pk))
                self.fields[name] = forms.ChoiceField(
                    choices=options,
                    required=False,
                    label=str(obj.name),
                    initial=current.external_id if current else "",
                )
                self.sections[kind].append(name)
        self.fields["payment_account_code"] = forms.ChoiceField(
            choices=_choices(choices["bank_accounts"], empty="— choose —"),
            required=False,
            label="Pay bills from",
            initial=connection.settings.get("payment_account_code", ""),
        )
        spend = connection.settings.get("spend_account_codes", {})
        for kind, label in SPEND_KINDS.items():
            self.fields[f"spend_{kind}_account_code"] = forms.ChoiceField(
                choices=_choices(choices["bank_accounts"], empty="— choose —"),
                required=False,
                label=label,
                initial=spend.get(kind, ""),
            )

    @property
    def spend_fields(self):
        return [self[f"spend_{kind}_account_code"] for kind in SPEND_KINDS]

    @property
    def account_fields(self):
        return [self[name] for name in self.sections["account"]]

    @property
    def tracking_fields(self):
        return [self[name] for name in self.sections["tracking"]]

    @property
    def contact_fields(self):
        return [self[name] for name in self.sections["contact"]]
