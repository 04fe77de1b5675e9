import gc
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

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
