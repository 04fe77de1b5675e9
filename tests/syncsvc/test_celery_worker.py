"""The Celery worker that `make run` starts comes up against the configured broker and answers."""

import os
import uuid

import pytest
from django.conf import settings

from bench.harness.processes import Process, celery_command, wait_until
from syncsvc.celery import app

pytestmark = pytest.mark.worker


def test_worker_starts_and_answers_a_ping(tmp_path):
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the filesystem broker has no broadcast; set REDIS_URL (CI does)")
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    # `make run`'s command line: every default queue, one process.
    worker = Process(
        name,
        celery_command(
            "worker", "-n", name, "--pool=solo", "--without-gossip", "--without-mingle",
            "--loglevel=WARNING",
        ),
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "syncsvc.settings_test"},
        log_path=tmp_path / "worker.log",
    ).launch()  # fmt: skip

    def replies() -> list:
        assert worker.alive, f"worker exited:\n{worker.log_tail()}"
        return app.control.ping(destination=[name], timeout=1.0)

    try:
        assert wait_until(replies, timeout=60, interval=0, what=name) == [{name: {"ok": "pong"}}]
    finally:
        worker.stop()
