"""Partners: systems that serve many companies (organisations) with one key.

A partner acts on an organisation it created or was granted, through that grant's own API key
(`PartnerOrganization.api_key`, an ordinary per-organisation key that no one holds in plaintext):
so throttling, idempotency and the actor label of every per-organisation endpoint work unchanged,
and the organisation's admin sees (and can revoke) the partner's access on the API keys page.
"""

from django.conf import settings
from django.db import models

from accounts.models import ApiKey, Organization, OrgScopedModel, SecretKey


class Partner(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerApiKey(SecretKey):
    """A partner's key (`lsp_<prefix>_<secret>`): only a SHA-256 digest is kept, as for
    organisations' keys; created by a staff user (admin or `manage.py partner_key`)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(SecretKey.Meta):
        verbose_name = "partner API key"

    def __str__(self) -> str:
        return f"{self.partner}: {self.name} ({self.prefix}…)"


class PartnerOrganization(models.Model):
    """An organisation in a partner's scope: created by it, or granted by staff."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="grants")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # The organisation's key the partner acts through (revoking it ends the partner's access).
    api_key = models.OneToOneField(ApiKey, on_delete=models.PROTECT, related_name="partner_grant")
    created_org = models.BooleanField(default=False, help_text="The partner created it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "org"], name="partner_org_unique"),
        ]
        ordering = ["org__name", "id"]

    def __str__(self) -> str:
        return f"{self.partner} → {self.org}"


class ConnectLink(OrgScopedModel):
    """A one-time link a partner sends to a company's owner: it lets them create their admin
    sign-in and go on to connect the ledger through the normal OAuth pages."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Connect link for {self.org_id} ({'used' if self.used_at else 'open'})"
