"""Encryption at rest for connection credentials (Fernet, with key rotation)."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    keys = list(settings.CREDENTIALS_ENCRYPTION_KEYS)
    if not keys:
        # Development fallback: a key derived from SECRET_KEY (settings refuse this in production).
        digest = hashlib.sha256(f"ledgersync-credentials:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    # The first key encrypts; every key decrypts, so old keys can be rotated out.
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_json(value: dict) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as error:
        raise ValueError("Credentials cannot be decrypted with the configured keys.") from error
