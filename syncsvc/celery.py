import gc
import os
from queue import Empty

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncsvc.settings")

app = Celery("syncsvc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fix-up closes the database connection before and after every task (unless
# CELERY_DB_REUSE_MAX is set): each task then opened a new PostgreSQL connection, a server
# process whose catalogue caches start cold, and paid for it in the worker and on the server at
# every batch. A worker's connection lives as a web process's does instead (close_old_connections
# below: CONN_MAX_AGE, broken ones dropped, a health check at each task's first query); the
# fix-up still closes it once every 500 tasks.
app.conf.update(CELERY_DB_REUSE_MAX=500)

# A Redis outage killed every busy worker (drill 8b): "Unrecoverable error: AttributeError
# ('NoneType' object has no attribute 'hostname')". On a lost connection Celery 5.7.0 collects the
# connection, then closes it (on_connection_error_after_connected; the close is new in 5.7.0,
# celery#10242 for GH-9705). kombu 5.7.0's redis Channel.close first reads the reply of a BRPOP
# in flight (kombu#1733); on the dead socket that read raises and the close stops there, so
# collect() leaves the task channel open and detaches its transport (client None). Celery's close
# then closes that channel again, and its restore of the unacknowledged tasks (acks_late) builds a
# client from the detached transport: AttributeError, which ignore_errors lets through. Here a
# connection error on that read no longer stops the close: what the BRPOP popped went with the
# broker; the channel closes the first time. No release fixes it (celery and kombu 5.7.0 are the
# newest); celery 5.6.3 has no such close but lacks 5.7.0's reconnect fixes, so we stay on 5.7.0.
# tests/syncsvc/test_broker_loss.py fails without this and says when kombu no longer needs it.
_kombu_redis_channel_close = kombu_redis.Channel.close


def _redis_channel_close(self) -> None:
    if self._in_poll:
        try:
            self._brpop_read()
        except (Empty, *self.connection_errors):
            pass
    _kombu_redis_channel_close(self)


kombu_redis.Channel.close = _redis_channel_close


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **kwargs) -> None:
    """What Django does around a request: drop a connection that is broken (a database restart)
    or older than CONN_MAX_AGE, and check the next one before its first query. Not for a task
    run eagerly (in the caller's process and transaction), as the fix-up does not."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@worker_init.connect
def load_url_conf(**kwargs) -> None:
    """Payloads link back to their document (reverse()), which imports the whole URLconf (the
    API, the export's openpyxl...): ~0.6 s CPU; a push imports its ledger's connector. Done here,
    in the worker's main process before the pool forks, every pool process has them instead of
    paying for them on its first task."""
    import django
    from django.urls import reverse

    django.setup()
    reverse("documents:list")
    from integrations.connectors import connectors_preload

    connectors_preload()
    # What start-up made lives as long as the worker: out of the collector's reach, a full
    # collection no longer walks it (it was ~10% of a batch's CPU), and the pool processes keep
    # sharing those pages instead of copying them when the collector touches them.
    gc.freeze()
