"""API keys of partner systems: create (the key shown once), revoke, and find by the key itself.

A key reads `lsk_<prefix>_<secret>`: the prefix (not secret) finds the row, the whole key is
checked against its SHA-256 digest in constant time. The secret is 256 random bits, so a slow
password hash would add nothing but latency to every API call.
"""

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import ApiKey, Organization

KEY_SCHEME = "lsk"
PREFIX_BYTES = 4  # 8 hex characters
SECRET_BYTES = 32
# last_used_at is written at most this often, not on every call.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key: the row, and the key itself, which is shown once and never stored."""

    api_key: ApiKey
    plaintext: str  # shown to the admin once, never stored


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _split(plaintext: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = plaintext.split("_")
    if len(parts) != 3 or parts[0] != KEY_SCHEME or not parts[1] or not parts[2]:
        # Neither part contains "_": the prefix is hex and the secret's "_" were replaced.
        return None
    return parts[1]


def api_key_create(*, org: Organization, name: str, actor) -> CreatedApiKey:
    """A new API key for the organisation, named after the system that uses it; only its digest
    is stored. ValidationError for a blank or over-long name."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the key after the system that will use it."})
    if len(name) > 100:
        raise ValidationError({"name": "Use at most 100 characters."})
    for _ in range(3):
        prefix = secrets.token_hex(PREFIX_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES).replace("_", "-")
        plaintext = f"{KEY_SCHEME}_{prefix}_{secret}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    org=org,
                    name=name,
                    prefix=prefix,
                    hashed_key=_digest(plaintext),
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError:
            continue  # the prefix was taken (1 in 4 billion): draw again
        return CreatedApiKey(api_key=api_key, plaintext=plaintext)
    raise RuntimeError("Could not draw a free API key prefix.")


def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    """Revoke a key: every call with it answers 401 from now on. Revoking twice is a no-op."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        api_key.save(update_fields=["revoked_at", "revoked_by"])
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key this plaintext is, with its organisation; None for anything else."""
    prefix = _split(plaintext or "")
    if prefix is None:
        return None
    api_key = ApiKey.objects.select_related("org").filter(prefix=prefix).first()
    if api_key is None:
        # Spend the same time as a wrong secret, so a prefix cannot be probed by timing.
        hmac.compare_digest(_digest(plaintext), _digest(""))
        return None
    if not hmac.compare_digest(api_key.hashed_key, _digest(plaintext)):
        return None
    if api_key.revoked_at is not None:
        return None
    _touch(api_key)
    return api_key


def _touch(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def api_key_list(*, org: Organization) -> QuerySet[ApiKey]:
    """The organisation's API keys, revoked ones included, with who created and revoked them."""
    return ApiKey.objects.for_org(org).select_related("created_by", "revoked_by")


def api_key_get(*, org: Organization, api_key_id: int) -> ApiKey:
    """One API key of the organisation; another organisation's id is a 404."""
    return get_object_or_404(ApiKey.objects.for_org(org), pk=api_key_id)
