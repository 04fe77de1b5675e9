"""Writes of accounts: API keys of partner systems (create, the key shown once; revoke; find by
the key itself), and the secret-key scheme they share with partner keys (partners.services).

A key reads `<scheme>_<prefix>_<secret>` (`lsk` for an organisation's key, `lsp` for a
partner's): the prefix (not secret) finds the row, the whole key is checked against its SHA-256
digest in constant time. The secret is 256 random bits, so a slow password hash would add
nothing but latency to every API call.
"""

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import ApiKey, Organization

KEY_SCHEME = "lsk"
PREFIX_BYTES = 4  # 8 hex characters
SECRET_BYTES = 32
# last_used_at is written at most this often, not on every call.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


# --- the secret-key scheme (organisation and partner keys) -------------------------------------


def secret_digest(plaintext: str) -> str:
    """What is stored of a key or token: its SHA-256 digest (hex)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _split(plaintext: str, scheme: str) -> str | None:
    """The prefix of a well-formed key of `scheme`, else None."""
    parts = plaintext.split("_")
    if len(parts) != 3 or parts[0] != scheme or not parts[1] or not parts[2]:
        # Neither part contains "_": the prefix is hex and the secret's "_" were replaced.
        return None
    return parts[1]


def secret_key_create(
    *, scheme: str, what: str, create: Callable[[str, str], models.Model]
) -> tuple[models.Model, str]:
    """A new key of `scheme`: `create(prefix, digest)` saves its row (only the digest is
    stored); a prefix already taken is drawn again. The row and the key, shown once."""
    for _ in range(3):
        prefix = secrets.token_hex(PREFIX_BYTES)
        secret = secrets.token_urlsafe(SECRET_BYTES).replace("_", "-")
        plaintext = f"{scheme}_{prefix}_{secret}"
        try:
            with transaction.atomic():
                row = create(prefix, secret_digest(plaintext))
        except IntegrityError:
            continue  # the prefix was taken (1 in 4 billion): draw again
        return row, plaintext
    raise RuntimeError(f"Could not draw a free {what} prefix.")


def secret_key_authenticate(*, keys: models.QuerySet, scheme: str, plaintext: str):
    """The active key of `keys` this plaintext is (its last_used_at kept to the minute), or None:
    malformed, unknown (answered in the time a wrong secret takes), wrong or revoked."""
    prefix = _split(plaintext or "", scheme)
    if prefix is None:
        return None
    key = keys.filter(prefix=prefix).first()
    if key is None:
        # Spend the same time as a wrong secret, so a prefix cannot be probed by timing.
        hmac.compare_digest(secret_digest(plaintext), secret_digest(""))
        return None
    if not hmac.compare_digest(key.hashed_key, secret_digest(plaintext)):
        return None
    if key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        type(key).objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- an organisation's API keys ------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key: the row, and the key itself, which is shown once and never stored."""

    api_key: ApiKey
    plaintext: str  # shown to the admin once, never stored


def api_key_create(*, org: Organization, name: str, actor) -> CreatedApiKey:
    """A new API key for the organisation, named after the system that uses it; only its digest
    is stored. ValidationError for a blank or over-long name."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the key after the system that will use it."})
    if len(name) > 100:
        raise ValidationError({"name": "Use at most 100 characters."})
    api_key, plaintext = secret_key_create(
        scheme=KEY_SCHEME,
        what="API key",
        create=lambda prefix, digest: ApiKey.objects.create(
            org=org,
            name=name,
            prefix=prefix,
            hashed_key=digest,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        ),
    )
    return CreatedApiKey(api_key=api_key, plaintext=plaintext)


def api_key_revoke(*, api_key: ApiKey, actor) -> ApiKey:
    """Revoke a key: every call with it answers 401 from now on. Revoking twice is a no-op."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        api_key.save(update_fields=["revoked_at", "revoked_by"])
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key this plaintext is, with its organisation; None for anything else."""
    return secret_key_authenticate(
        keys=ApiKey.objects.select_related("org"), scheme=KEY_SCHEME, plaintext=plaintext
    )
