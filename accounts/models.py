from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A tenant. Every tenant-owned row points at one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    currency = models.CharField(max_length=3, default="USD", help_text="Default ISO 4217 currency.")
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
