"""Sending deliveries: one POST at a time under a lease, Svix's retry schedule, redelivery by
hand, the disabling of an endpoint failing for five days, and the sweep of lost tasks."""

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webhooks import urlcheck
from webhooks.models import (
    ENDPOINT_DISABLE_AFTER,
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from webhooks.services.endpoints import _disable
from webhooks.services.signing import webhook_message_body, webhook_signature_headers

# Delay before attempt n+1 (n = automatic attempts made so far): Svix's schedule.
RETRY_SCHEDULE_SECONDS: tuple[int, ...] = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    10 * 3600,
)
DISABLE_AFTER = ENDPOINT_DISABLE_AFTER
HTTP_TIMEOUT_SECONDS = 10.0
RESPONSE_BODY_LIMIT = 2000
# A worker sending a delivery holds it this long; a crash frees it for the sweep.
SEND_LEASE = datetime.timedelta(seconds=60)
# The sweep leaves a task this long to start before it sends another.
SWEEP_GRACE = datetime.timedelta(seconds=60)
QUEUE = "sync"
USER_AGENT = "ledgersync-webhooks/1.0"

logger = logging.getLogger(__name__)


def _enqueue(
    delivery_ids: list[int],
    *,
    countdown: float = 0,
    on_sent: Callable[[bool], None] | None = None,
) -> None:
    """Send the deliveries' tasks once the transaction commits; `on_sent` is then told whether
    the broker took them all."""
    if not delivery_ids:
        return

    def send() -> bool:
        from webhooks.tasks import webhook_deliver

        for index, delivery_id in enumerate(delivery_ids):
            try:
                webhook_deliver.apply_async(args=[delivery_id], countdown=countdown, queue=QUEUE)
            except Exception:
                # The broker is down. The rows are the truth: the sweep sends a delivery that is
                # due or whose redelivery was asked for (webhook_deliveries_sweep), so the
                # request that emitted or redelivered it must not fail.
                logger.warning(
                    "Broker unavailable: %d webhook deliveries left to the sweep",
                    len(delivery_ids) - index,
                )
                return False
        return True

    transaction.on_commit(send if on_sent is None else lambda: on_sent(send()))


@dataclasses.dataclass
class Redelivery:
    """A redelivery asked for, and what happens to it. Its task goes to the broker when the
    caller's transaction commits (at once from a view: requests run in autocommit); `queued`
    says whether the broker took it, None until then."""

    delivery: WebhookDelivery
    queued: bool | None = None

    @property
    def left_to_sweep(self) -> bool:
        """The broker was down: the saved request waits for webhook_deliveries_sweep."""
        return self.queued is False

    @property
    def sweep_within(self) -> datetime.timedelta:
        return redelivery_sweep_within()


def redelivery_sweep_within() -> datetime.timedelta:
    """The longest a redelivery left to the sweep waits once the broker answers again: the
    sweep leaves it SWEEP_GRACE first, then runs on beat's schedule."""
    return SWEEP_GRACE + datetime.timedelta(seconds=settings.WEBHOOK_SWEEP_INTERVAL_SECONDS)


def webhook_delivery_redeliver(
    *, delivery: WebhookDelivery, actor=None, actor_label: str = ""
) -> Redelivery:
    """Send the message to its endpoint once more, now (a manual attempt, logged with who:
    `actor`, a user, or `actor_label`, the API key that asked when no user did).

    A delivery still in its retry schedule keeps it; otherwise the attempt decides the status.
    The request is saved first, so a broker that is down leaves it to the sweep, not lost.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if not delivery.endpoint.is_active:
            raise ValidationError("The endpoint is disabled: enable it before redelivering.")
        user = actor if getattr(actor, "is_authenticated", False) else None
        delivery.redeliver_requested_at = timezone.now()
        delivery.redeliver_requested_by = user
        delivery.redeliver_requested_label = "" if user else actor_label[:150]
        delivery.redeliver_left_to_sweep = False
        delivery.save(
            update_fields=[
                "redeliver_requested_at",
                "redeliver_requested_by",
                "redeliver_requested_label",
                "redeliver_left_to_sweep",
                "updated_at",
            ]
        )
    redelivery = Redelivery(delivery)
    requested_at = delivery.redeliver_requested_at

    def on_sent(queued: bool) -> None:
        redelivery.queued = queued
        if not queued:
            # Kept on the row, so the delivery page says the sweep sends it, not that it is
            # on its way (unless it was sent or asked for again meanwhile).
            WebhookDelivery.objects.filter(
                pk=delivery.pk, redeliver_requested_at=requested_at
            ).update(redeliver_left_to_sweep=True)

    _enqueue([delivery.pk], on_sent=on_sent)
    return redelivery


@dataclasses.dataclass
class _PostResult:
    status_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _read_limited(response: httpx.Response) -> str:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_LIMIT:
            break
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")


def _post(url: str, body: bytes, headers: dict[str, str]) -> _PostResult:
    """POST to the address that was checked (no redirects, explicit timeouts)."""
    started = time.monotonic()
    result = _PostResult()
    # Checked again now, not only when saved: the host's addresses may have changed since.
    try:
        _scheme, host, port = urlcheck.url_parts(url)
    except ValueError:
        result.error = "Not sent: the URL is not valid."
        return result
    try:
        addresses = urlcheck.resolve_host(host, port)
    except (OSError, UnicodeError):
        result.error = f"Not sent: {host} could not be resolved."
        return result
    try:
        urlcheck.check_addresses(host, addresses)
    except ValueError as error:
        result.error = f"Not sent: {error}"
        return result
    target = httpx.URL(url)
    request_headers = {
        **headers,
        "Host": target.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    with httpx.Client(
        timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: it would bypass the address check
    ) as client:
        for address in addresses:
            try:
                with client.stream(
                    "POST",
                    target.copy_with(host=address),
                    content=body,
                    headers=request_headers,
                    extensions={"sni_hostname": host},
                ) as response:
                    result.status_code = response.status_code
                    result.response_body = _read_limited(response)
                result.error = ""
                break
            except httpx.ConnectError as error:
                # Nothing was sent: the host's next address may answer.
                result.error = f"Could not connect to {host}: {error}"
            except httpx.TimeoutException:
                result.error = f"No answer within {HTTP_TIMEOUT_SECONDS:g} seconds."
                break
            except httpx.HTTPError as error:
                result.error = f"{type(error).__name__}: {error}"
                break
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if result.status_code is not None and not result.success:
        result.error = f"The endpoint answered HTTP {result.status_code}."
    return result


def _claim(delivery_id: int) -> tuple[WebhookDelivery, bool, int | None, str] | None:
    """Take the delivery for one attempt if one is due; None when there is nothing to do.
    With it: whether the attempt is a manual one, and who asked (a user's id, or a label)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "message")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or (delivery.claimed_until and delivery.claimed_until > now):
            return None
        manual = delivery.redeliver_requested_at is not None
        due = (
            delivery.status == DeliveryStatus.PENDING
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at <= now
        )
        if not (manual or due):
            return None  # a duplicate or early task: the schedule has its own
        actor_id = delivery.redeliver_requested_by_id if manual else None
        actor_label = delivery.redeliver_requested_label if manual else ""
        delivery.redeliver_requested_at = None
        delivery.redeliver_requested_by = None
        delivery.redeliver_requested_label = ""
        delivery.redeliver_left_to_sweep = False
        if not delivery.endpoint.is_active:
            if due:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.last_error = "Not sent: the endpoint is disabled."
            delivery.save()
            return None
        delivery.claimed_until = now + SEND_LEASE
        delivery.save(
            update_fields=[
                "claimed_until",
                "redeliver_requested_at",
                "redeliver_requested_by",
                "redeliver_requested_label",
                "redeliver_left_to_sweep",
                "updated_at",
            ]
        )
    return delivery, manual, actor_id, actor_label


def webhook_delivery_send(*, delivery_id: int) -> WebhookDeliveryAttempt | None:
    """One attempt of a delivery, if one is due (the task's body; safe to run twice).

    Logs the attempt, then ends the delivery (2xx), schedules the next attempt, or fails it when
    the schedule is spent; tracks how long the endpoint has been failing and disables it after
    five days of nothing but failures.
    """
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, manual, actor_id, actor_label = claimed
    endpoint, message = delivery.endpoint, delivery.message
    body = webhook_message_body(message)
    headers = webhook_signature_headers(
        secret=endpoint.secret, webhook_id=message.webhook_id, body=body
    )
    attempted_at = timezone.now()
    result = _post(endpoint.url, body, headers)

    with transaction.atomic():
        # Endpoint before delivery, always: disabling an endpoint updates its deliveries.
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if endpoint is None or delivery is None:
            return None  # deleted while we were sending
        attempt = WebhookDeliveryAttempt.objects.create(
            delivery=delivery,
            manual=manual,
            actor_id=actor_id,
            actor_label=actor_label,
            url=endpoint.url,
            success=result.success,
            status_code=result.status_code,
            response_body=result.response_body,
            error=result.error[:2000],
            duration_ms=result.duration_ms,
            attempted_at=attempted_at,
        )
        delivery.attempt_count += 1
        delivery.last_attempt_at = attempted_at
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error[:2000]
        delivery.claimed_until = None
        if result.success:
            delivery.status = DeliveryStatus.SUCCESS
            delivery.next_attempt_at = None
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
        else:
            if not manual:
                made = delivery.attempts.filter(manual=False).count()
                if made < len(RETRY_SCHEDULE_SECONDS):
                    delivery.status = DeliveryStatus.PENDING
                    delivery.next_attempt_at = attempted_at + datetime.timedelta(
                        seconds=RETRY_SCHEDULE_SECONDS[made]
                    )
                else:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.next_attempt_at = None
            elif delivery.status != DeliveryStatus.PENDING:
                # A manual attempt outside the schedule: it fails on its own.
                delivery.status = DeliveryStatus.FAILED
            _endpoint_failed(endpoint, at=attempted_at, error=result.error)
        delivery.save()
        if not endpoint.is_active:
            # Disabled by this failure (or meanwhile): this delivery ends here too.
            _stop_for_disabled_endpoint(delivery)
        if delivery.redeliver_requested_at is not None:
            # Asked for while this attempt was on the wire: its task found the delivery busy.
            _enqueue([delivery.pk])
        elif delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at:
            wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
            _enqueue([delivery.pk], countdown=max(0.0, wait))
    return attempt


def _endpoint_failed(endpoint: WebhookEndpoint, *, at: datetime.datetime, error: str) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = at
        endpoint.save(update_fields=["failing_since", "updated_at"])
        return
    if endpoint.is_active and at - endpoint.failing_since >= DISABLE_AFTER:
        since = timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M %Z")
        _disable(
            endpoint,
            reason=(
                f"Disabled automatically: every delivery has failed since {since} "
                f"(over {DISABLE_AFTER.days} days). Last error: {error}"
            ),
            now=at,
        )


def _stop_for_disabled_endpoint(delivery: WebhookDelivery) -> None:
    if delivery.status == DeliveryStatus.PENDING:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])


def webhook_deliveries_sweep(*, now: datetime.datetime | None = None) -> int:
    """Enqueue deliveries that are overdue and not being sent: their task was lost.

    Brokers lose messages on restart, and long countdowns may be dropped; the delivery rows are
    the truth, so a beat task runs this and a duplicate task is harmless (the claim checks).
    """
    now = now or timezone.now()
    overdue = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        )
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:5000]
    )
    manual = list(
        WebhookDelivery.objects.filter(redeliver_requested_at__lte=now - SWEEP_GRACE)
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:5000]
    )
    ids = list(dict.fromkeys(overdue + manual))
    _enqueue(ids)
    return len(ids)
