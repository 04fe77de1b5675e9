"""Celery beat: forget Idempotency-Keys after 24 hours."""

from celery import shared_task

from api.idempotency import idempotency_keys_purge as purge


@shared_task(ignore_result=True)
def idempotency_keys_purge() -> int:
    return purge()
