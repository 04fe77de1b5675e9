"""What each webhook event says: the `data` of the Standard Webhooks envelope.

Every body is ``{"type": <event>, "timestamp": <ISO 8601, UTC>, "data": {…}}``, sent with the
headers ``webhook-id`` (the message id, the same on every retry: dedupe on it),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`` keyed with the base64
decoded part of the endpoint's ``whsec_…`` secret). Verify with any Standard Webhooks library,
e.g. ``standardwebhooks.Webhook(secret).verify(body, headers)``, which also rejects timestamps
more than five minutes away.

``sync.completed`` / ``sync.failed`` — a sync (SyncRun) has finished; completed when its status
code is 2xxx (2000 data pushed, 2040 nothing to push), failed otherwise (one failed item fails the
sync)::

    {
      "id": "6f1c…",                      # the sync id (GET /api/v1/syncs/{id})
      "status_code": 2000,                # DESIGN §5
      "status": "Success, data pushed",
      "trigger": "api",                   # manual | bulk | api | retry | force | …
      "retry_of": null,                   # the sync id this run retried, if any
      "connection": {"id": 3, "name": "Xero", "provider": "xero"},
      "counts": {"total": 100, "pushed": 99, "nothing_to_push": 0, "failed": 1},
      "started_at": "2026-11-02T10:00:00Z",
      "finished_at": "2026-11-02T10:01:12Z"
    }

``record.failed`` — one ledger entry of one document could not be pushed (after its own retries);
what the ledger said, what it means and how to fix it::

    {
      "record_id": 812,                   # the sync record (the history page's row)
      "sync_id": "6f1c…",                 # the sync it failed in, or null (an automatic push)
      "entry_type": "bill",               # or bill_payment, invoice, invoice_payment, expense
      "document": {"id": 55, "number": "INV-00012", "kind": "bill"},
      "connection": {"id": 3, "name": "Xero", "provider": "xero"},
      "status_code": 4000,
      "message": "Account code '999' is not a valid code for this document.",
      "explanation": "The category is not mapped to a ledger account.",
      "hint": "Map the category in Integrations › Mappings, then retry.",
      "failed_at": "2026-11-02T10:01:10Z"
    }
"""

import datetime

from webhooks.models import WebhookEventType


def _iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _connection(connection) -> dict:
    return {"id": connection.pk, "name": connection.name, "provider": connection.provider}


def webhook_event_type_for_run(run) -> str:
    return (
        WebhookEventType.SYNC_COMPLETED
        if 2000 <= run.status_code < 3000
        else WebhookEventType.SYNC_FAILED
    )


def webhook_payload_for_run(run) -> dict:
    """The data of sync.completed / sync.failed for a finished SyncRun."""
    from synclog.models import StatusCode

    return {
        "id": str(run.public_id),
        "status_code": run.status_code,
        "status": str(StatusCode(run.status_code).label)
        if run.status_code in StatusCode.values
        else "",
        "trigger": run.trigger,
        "retry_of": str(run.retry_of.public_id) if run.retry_of_id else None,
        "connection": _connection(run.connection),
        "counts": {
            "total": run.total,
            "pushed": run.pushed,
            "nothing_to_push": run.nothing_to_push,
            "failed": run.failed,
        },
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


def webhook_payload_for_record(record) -> dict:
    """The data of record.failed for a Failed SyncRecord (its last error as stored on it)."""
    document = record.document
    return {
        "record_id": record.pk,
        "sync_id": str(record.run.public_id) if record.run_id else None,
        "entry_type": record.entry_type,
        "document": {"id": document.pk, "number": document.number, "kind": document.kind},
        "connection": _connection(record.connection),
        "status_code": record.last_error_code,
        "message": record.last_error_message,
        "explanation": record.last_error_explanation,
        "hint": record.last_error_hint,
        "failed_at": _iso(record.updated_at),
    }
