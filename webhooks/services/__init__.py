"""Every write of the webhooks app: endpoints (endpoints), emitting events (emit), sending and
retrying deliveries (delivery), secrets and signatures (signing).

Public surface (keyword-only arguments):

- ``webhook_endpoint_create(org, url, events, description, actor)`` → ``(endpoint, secret)``; the
  secret (``whsec_…``) is returned once and stored encrypted.
- ``webhook_endpoint_update(endpoint, actor, url=…, events=…, description=…, is_active=…)``,
  ``webhook_endpoint_enable`` / ``webhook_endpoint_disable``, ``webhook_endpoint_secret_rotate``
  (→ the new secret), ``webhook_endpoint_delete``. Bad input raises Django's ValidationError with
  a ``message_dict`` keyed by field (``url``, ``events``, ``description``).
- ``webhook_event_emit(org, event_type, payload)`` → the deliveries, one per active endpoint of
  that organisation subscribed to the event; called inside the caller's transaction, sent after
  it commits. ``webhook_emit_run_finished(run)`` and ``webhook_emit_record_failed(record)`` build
  the payload (webhooks.payloads) and emit.
- ``webhook_delivery_redeliver(delivery, actor, actor_label)``: one more attempt, now, asked
  for by a user or an API key (``actor_label``) → a ``Redelivery`` that says whether the broker
  took its task or it was left to the sweep (broker down).
- ``webhook_delivery_send(delivery_id)``: the Celery task's body (webhooks.tasks.webhook_deliver).
- ``webhook_deliveries_sweep()``: re-enqueues deliveries whose task was lost (beat).

Delivery follows Svix's schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after
each failure; after the eighth failure the delivery is failed. Any answer but a 2xx is a failure
(4xx too: a receiver that is being deployed answers 404 for a while). An endpoint whose attempts
have all failed for five days is disabled and its owner told on the webhooks page.
"""

from webhooks.services.delivery import (
    DISABLE_AFTER,
    RESPONSE_BODY_LIMIT,
    RETRY_SCHEDULE_SECONDS,
    redelivery_sweep_within,
    webhook_deliveries_sweep,
    webhook_delivery_redeliver,
    webhook_delivery_send,
)
from webhooks.services.emit import (
    webhook_emit_connection_status_changed,
    webhook_emit_record_failed,
    webhook_emit_records_failed,
    webhook_emit_run_finished,
    webhook_event_emit,
)
from webhooks.services.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
)
from webhooks.services.signing import (
    webhook_message_body,
    webhook_secret_generate,
    webhook_signature_headers,
)

__all__ = [
    "RETRY_SCHEDULE_SECONDS",
    "DISABLE_AFTER",
    "RESPONSE_BODY_LIMIT",
    "redelivery_sweep_within",
    "webhook_secret_generate",
    "webhook_message_body",
    "webhook_signature_headers",
    "webhook_endpoint_create",
    "webhook_endpoint_update",
    "webhook_endpoint_enable",
    "webhook_endpoint_disable",
    "webhook_endpoint_secret_rotate",
    "webhook_endpoint_delete",
    "webhook_event_emit",
    "webhook_emit_run_finished",
    "webhook_emit_connection_status_changed",
    "webhook_emit_record_failed",
    "webhook_emit_records_failed",
    "webhook_delivery_redeliver",
    "webhook_delivery_send",
    "webhook_deliveries_sweep",
]
