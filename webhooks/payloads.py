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
      "finished_at": "2026-11-02T10:01:12Z",
      "failed_transactions": [            # sync.failed: its failed items (the first 100)
        {"id": 4411, "record_id": 812, "document_id": 55, "document_number": "INV-00012",
         "transaction_id": "card-0042",   # your id, for items of expense datasets
         "entry_type": "expense", "status": "failed", "status_code": 4000,
         "message": "…", "explanation": "…", "hint": "…"}
      ],
      "failed_transactions_url": "https://…/api/v1/syncs/6f1c…/transactions?status=failed",
      "failed_transactions_truncated": false   # true: page through the URL for the rest
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

``connection.status_changed`` — a connection can no longer push (``needs_reauth``: the ledger
refused our authorisation, reconnect it; ``disconnected``; ``disabled``) or can again
(``active``)::

    {
      "connection": {"id": 3, "name": "Xero", "provider": "xero"},
      "status": "needs_reauth",           # active | needs_reauth | disabled | disconnected
      "previous_status": "active",        # null for a new connection
      "reason": "The ledger refused our authorisation (401).",
      "changed_at": "2026-11-02T10:01:10Z"
    }
"""

import datetime

from django.conf import settings

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
        "status": str(StatusCode(run.status_code).label),
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


# A sync.failed body lists this many failed items; the rest are a page of the API away.
FAILED_TRANSACTIONS_IN_BODY = 100


def webhook_failed_transactions(run) -> dict:
    """The failed items of a finished SyncRun as GET /syncs/{id}/transactions shows them, so a
    partner can act on sync.failed without a second call (two queries)."""
    from synclog.models import RunItemOutcome, SyncAttempt, SyncRunItem

    items = list(
        SyncRunItem.objects.filter(run=run, outcome=RunItemOutcome.FAILED)
        .select_related("record__document__expense_dataset_item")
        .order_by("id")[: FAILED_TRANSACTIONS_IN_BODY + 1]
    )
    truncated = len(items) > FAILED_TRANSACTIONS_IN_BODY
    items = items[:FAILED_TRANSACTIONS_IN_BODY]
    last: dict[int, SyncAttempt] = {}
    for attempt in SyncAttempt.objects.filter(
        run=run, record_id__in=[item.record_id for item in items]
    ).order_by("record_id", "-started_at", "-id"):
        last.setdefault(attempt.record_id, attempt)
    listed = []
    for item in items:
        record, attempt = item.record, last.get(item.record_id)
        dataset_item = getattr(record.document, "expense_dataset_item", None)
        listed.append(
            {
                "id": item.pk,
                "record_id": record.pk,
                "document_id": record.document_id,
                "document_number": record.document.number,
                "transaction_id": dataset_item.transaction_id if dataset_item else None,
                "entry_type": record.entry_type,
                "status": item.outcome,
                "status_code": (attempt.status_code if attempt else None)
                or item.status_code
                or record.last_error_code,
                "message": attempt.error_message if attempt else record.last_error_message,
                "explanation": attempt.explanation if attempt else record.last_error_explanation,
                "hint": attempt.hint if attempt else record.last_error_hint,
            }
        )
    return {
        "failed_transactions": listed,
        "failed_transactions_url": f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/syncs/"
        f"{run.public_id}/transactions?status=failed",
        "failed_transactions_truncated": truncated,
    }


def webhook_payload_for_connection_status(connection, *, previous: str | None) -> dict:
    """The data of connection.status_changed, the connection as it is now."""
    return {
        "connection": _connection(connection),
        "status": connection.status,
        "previous_status": previous,
        "reason": connection.last_error,
        "changed_at": _iso(connection.updated_at),
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
