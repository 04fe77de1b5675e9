import gc
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncsvc.settings")

app = Celery("syncsvc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def load_url_conf(**kwargs) -> None:
    """Payloads link back to their document (reverse()), which imports the whole URLconf (the
    API, the export's openpyxl...): ~0.6 s CPU. Done here, in the worker's main process before
    the pool forks, every pool process has it instead of paying it on its first task."""
    import django
    from django.urls import reverse

    django.setup()
    reverse("documents:list")
    # What start-up made lives as long as the worker: out of the collector's reach, a full
    # collection no longer walks it (it was ~10% of a batch's CPU), and the pool processes keep
    # sharing those pages instead of copying them when the collector touches them.
    gc.freeze()
