from django.conf import settings
from django.db import models


class DatasetSync(models.TextChoices):
    """When the items of an expense dataset pushed over the API go to the ledger."""

    STAGED = "staged", "Held until a sync over the dataset starts"
    ON_PUSH = "on_push", "Each item syncs as soon as it is pushed"


class Organization(models.Model):
    """A tenant. Every tenant-owned row points at one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="Default ISO 4217 currency.")
    # Staged (Codat's model) lets a sync push a whole dataset on the batched path; on_push
    # keeps the older behaviour of one push per item as it arrives.
    dataset_sync = models.CharField(
        max_length=16,
        choices=DatasetSync.choices,
        default=DatasetSync.STAGED,
        help_text="When pushed expense datasets sync: held until POST /syncs, or on push.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AP_CLERK = "ap_clerk", "AP clerk"
    ACCOUNTING_SYNC = "accounting_sync", "Accounting sync"
    SUPPORT = "support", "Support"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    can_export = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "org"], name="membership_unique_user_org"),
        ]
        ordering = ["org__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.get_role_display()})"


class OrgQuerySet(models.QuerySet):
    def for_org(self, org: Organization) -> "OrgQuerySet":
        return self.filter(org=org)


class OrgScopedModel(models.Model):
    """Base of every tenant-owned model: one `org` column and one way to scope by it."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True


class SecretKey(models.Model):
    """What every key to the REST API keeps (accounts.services.secret_key_create and
    secret_key_authenticate work on it): an organisation's API key, a partner's key.

    Only a SHA-256 digest of the key is stored (the key is 256 random bits, so a fast hash is
    enough: there is nothing to brute-force); the key itself is shown once, when it is created.
    The prefix is not secret: it finds the row and tells keys apart on the admin page.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class ApiKey(OrgScopedModel, SecretKey):
    """A partner system's key to the REST API: it acts for one organisation."""

    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(SecretKey.Meta):
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
