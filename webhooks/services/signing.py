"""Secrets and Standard Webhooks signatures of the messages we send."""

import base64
import datetime
import json
import secrets
import time

import standardwebhooks

from webhooks.models import WebhookMessage

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def webhook_secret_generate() -> str:
    """A new endpoint signing secret, `whsec_` and 24 random bytes in base64 (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_message_body(message: WebhookMessage) -> bytes:
    """The JSON body of a message, the same bytes on every attempt (Standard Webhooks envelope)."""
    envelope = {
        "type": message.event_type,
        "timestamp": message.created_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "data": message.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_signature_headers(
    *, secret: str, webhook_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The webhook-id, webhook-timestamp and webhook-signature headers of one attempt."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = standardwebhooks.Webhook(secret).sign(
        webhook_id, datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC), body.decode()
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
