"""The Celery worker that `make run` starts comes up against the configured broker and answers."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from syncsvc.celery import app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


def test_worker_starts_and_answers_a_ping():
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the filesystem broker has no broadcast; set REDIS_URL (CI does)")
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "syncsvc",
            "worker",
            "-n",
            name,
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "syncsvc.settings_test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        replies = []
        while not replies and time.monotonic() < deadline:
            assert worker.poll() is None, f"worker exited: {worker.stderr.read()}"
            replies = app.control.ping(destination=[name], timeout=1.0)
        assert replies == [{name: {"ok": "pong"}}]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
