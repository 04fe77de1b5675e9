"""Celery tasks: thin. Each takes ids and calls one service; the service schedules retries."""

from celery import shared_task

from webhooks import services


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    services.webhook_delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhook_sweep() -> int:
    return services.webhook_deliveries_sweep()
