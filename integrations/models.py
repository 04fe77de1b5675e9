from django.conf import settings as django_settings
from django.db import models

from accounts.models import OrgScopedModel
from integrations.crypto import decrypt_json, encrypt_json


class Provider(models.TextChoices):
    XERO = "xero", "Xero"
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    MYOB = "myob", "MYOB Business"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_REAUTH = "needs_reauth", "Needs reconnecting"
    DISABLED = "disabled", "Disabled"
    DISCONNECTED = "disconnected", "Disconnected"


class LockedPeriodPolicy(models.TextChoices):
    """What a push dated in the ledger's locked period does (the ledger would refuse it)."""

    HOLD = "hold", "Hold it until the ledger's lock date moves"
    REDATE = "redate", "Re-date it to the first open day"


class Connection(OrgScopedModel):
    """An organisation's link to one ledger tenant (a Xero organisation, a QuickBooks company)."""

    provider = models.CharField(max_length=32, choices=Provider.choices)
    name = models.CharField(max_length=120)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    # Fernet token of a JSON object; read and written only through `credentials`.
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    # Empty means the provider's real API; otherwise an emulator's root (see services).
    base_url = models.URLField(blank=True, default="")
    tenant_id = models.CharField(max_length=64, blank=True, default="")
    tenant_name = models.CharField(max_length=200, blank=True, default="")
    # The ledger's id of our link to the tenant (Xero: the connection id of our consent), the
    # only one Disconnect deletes there.
    ledger_connection_id = models.CharField(max_length=64, blank=True, default="")
    # Provider options a user sets, e.g. {"payment_account_code": "090"}; never secrets.
    settings = models.JSONField(default=dict, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # The ledger's lock date as last read (on connect, by beat, after a refusal): nothing
    # dated on or before it is sent. None: nothing locked, or not read yet (lock_date_read_at).
    lock_date = models.DateField(null=True, blank=True)
    lock_date_source = models.CharField(max_length=200, blank=True, default="")
    lock_date_read_at = models.DateTimeField(null=True, blank=True)
    locked_period_policy = models.CharField(
        max_length=8, choices=LockedPeriodPolicy.choices, default=LockedPeriodPolicy.HOLD
    )
    connected_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["org", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def credentials(self) -> dict:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict) -> None:
        self.credentials_encrypted = encrypt_json(value) if value else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class MappingKind(models.TextChoices):
    CONTACT = "contact", "Contact"
    ACCOUNT = "account", "Account"  # category → ledger account
    TRACKING = "tracking", "Tracking"  # department → tracking option
    TAX = "tax", "Tax rate"


class Mapping(models.Model):
    """Our object (by id) ↔ the ledger's, for one connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="mappings")
    kind = models.CharField(max_length=16, choices=MappingKind.choices)
    local_id = models.PositiveBigIntegerField()
    external_id = models.CharField(max_length=100)
    # What the ledger calls it (account code, "Department: Sales"), for pages and payloads.
    external_name = models.CharField(max_length=200, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "local_id"], name="mapping_unique_local_object"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.local_id} → {self.external_name or self.external_id}"


class ConnectionEventKind(models.TextChoices):
    CONNECTED = "connected", "Connected"
    RECONNECTED = "reconnected", "Reconnected"
    DISABLED = "disabled", "Disabled"
    ENABLED = "enabled", "Enabled"
    DISCONNECTED = "disconnected", "Disconnected"
    POLICY_CHANGED = "policy_changed", "Locked-period policy changed"
    LEDGER_CHECK = "ledger_check", "Ledger check requested"


class ConnectionEvent(models.Model):
    """Audit of a connection: who connected, disabled, enabled or disconnected it, and when;
    written in the transaction of the change itself."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=ConnectionEventKind.choices)
    actor = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(auto_now_add=True)
    # e.g. "Revoking access at the ledger failed: …" on a disconnect.
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["connection", "-at"])]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"
