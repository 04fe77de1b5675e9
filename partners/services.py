"""Every write of partners: keys, organisations a partner creates or is granted, connect links."""

import datetime
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiKey, Membership, Organization, Role
from accounts.services import (
    api_key_create,
    secret_digest,
    secret_key_authenticate,
    secret_key_create,
)
from partners.models import ConnectLink, Partner, PartnerApiKey, PartnerOrganization

KEY_SCHEME = "lsp"
CONNECT_LINK_TTL = datetime.timedelta(days=7)


def is_partner_key(plaintext: str) -> bool:
    """Whether the plaintext is shaped like a partner key (not an organisation's API key)."""
    return plaintext.startswith(f"{KEY_SCHEME}_")


@dataclass(frozen=True)
class CreatedPartnerKey:
    """A new partner key: the row, and the key itself, shown once and never stored."""

    api_key: PartnerApiKey
    plaintext: str  # shown once


def partner_key_create(*, partner: Partner, name: str, actor) -> CreatedPartnerKey:
    """A new key for the partner (only its digest is stored)."""
    name = (name or "").strip()[:100] or "Partner key"
    api_key, plaintext = secret_key_create(
        scheme=KEY_SCHEME,
        what="partner key",
        create=lambda prefix, digest: PartnerApiKey.objects.create(
            partner=partner,
            name=name,
            prefix=prefix,
            hashed_key=digest,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        ),
    )
    return CreatedPartnerKey(api_key=api_key, plaintext=plaintext)


def partner_key_revoke(*, api_key: PartnerApiKey) -> PartnerApiKey:
    """The key stops working from now; revoking it again changes nothing."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def partner_key_authenticate(*, plaintext: str) -> PartnerApiKey | None:
    """The active partner key this plaintext is, with its partner; None for anything else."""
    return secret_key_authenticate(
        keys=PartnerApiKey.objects.select_related("partner"), scheme=KEY_SCHEME, plaintext=plaintext
    )


@transaction.atomic
def partner_grant(*, partner: Partner, org: Organization, created_org: bool = False):
    """Put an organisation in the partner's scope (a no-op when it is): the partner acts on it
    through an organisation key of its own, listed on the organisation's API keys page."""
    existing = PartnerOrganization.objects.filter(partner=partner, org=org).first()
    if existing is not None:
        return existing
    delegate = api_key_create(org=org, name=f"Partner {partner.name}"[:100], actor=None)
    # No one holds this key's plaintext: the partner authenticates with its own key.
    ApiKey.objects.filter(pk=delegate.api_key.pk).update(hashed_key="")
    return PartnerOrganization.objects.create(
        partner=partner, org=org, api_key=delegate.api_key, created_org=created_org
    )


def _free_slug(name: str) -> str:
    base = slugify(name)[:60] or "organisation"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def partner_organization_create(*, partner: Partner, name: str, currency: str) -> Organization:
    """A new organisation (a free slug from its name) in the partner's scope, in one
    transaction."""
    org = Organization.objects.create(name=name, slug=_free_slug(name), currency=currency)
    partner_grant(partner=partner, org=org, created_org=True)
    return org


@dataclass(frozen=True)
class CreatedConnectLink:
    """A new connect link: the row, and the token its URL carries (only the digest is kept)."""

    link: ConnectLink
    token: str  # in the URL; only its digest is kept


def connect_link_create(*, partner: Partner, org: Organization) -> CreatedConnectLink:
    """A link the organisation's admin opens to connect its ledger for the partner; it expires
    after CONNECT_LINK_TTL."""
    token = secrets.token_urlsafe(32)
    link = ConnectLink.objects.create(
        org=org,
        partner=partner,
        token_digest=secret_digest(token),
        expires_at=timezone.now() + CONNECT_LINK_TTL,
    )
    return CreatedConnectLink(link=link, token=token)


def connect_link_open(*, token: str) -> ConnectLink | None:
    """The link this token is, when it is neither used nor expired."""
    link = (
        ConnectLink.objects.select_related("org")
        .filter(token_digest=secret_digest(token or ""), used_at__isnull=True)
        .first()
    )
    if link is None or link.expires_at <= timezone.now():
        return None
    return link


@transaction.atomic
def connect_link_redeem(*, token: str, username: str, email: str, password: str):
    """Create the company owner's admin sign-in and use the link up (once: a second use, or a
    race with one, finds it used)."""
    link = connect_link_open(token=token)
    if link is not None:
        link = ConnectLink.objects.select_for_update().filter(pk=link.pk, used_at=None).first()
    if link is None:
        raise ValidationError("This link was used or has expired: ask for a new one.")
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."})
    user = user_model(username=username, email=email)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, org=link.org, role=Role.ADMIN, can_export=True)
    link.used_at = timezone.now()
    link.used_by = user
    link.save(update_fields=["used_at", "used_by"])
    return user, link.org
