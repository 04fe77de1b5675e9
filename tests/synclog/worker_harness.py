"""Real Celery worker processes (and a Redis of our own) for tests of the sync engine, on the
process harness the benchmarks use (bench/harness/processes.py): what is left here is what a test
adds, the workers' environment (the test's database and settings) and the context managers that
stop everything at the end of a test and fail it if a worker process is left behind.

A worker is `python -m celery -A syncsvc worker ...` in a process group of its own, so that a test
can kill it the way a host crash would (SIGKILL to the whole group: main process, pool children
and embedded beat) and be sure nothing is left behind. Everything polls against deadlines;
nothing sleeps a fixed time hoping that something has happened.
"""

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from bench.harness.processes import (
    QUEUES,
    RedisServer,
    Worker,
    WorkerPool,
    port_is_open,
    purge_queues,
)

__all__ = [
    "FAST_SYNC",
    "QUEUES",
    "WORKER_MARKS",
    "Worker",
    "own_redis",
    "running_worker",
    "worker_pool",
]

# A module of real-worker tests: committed rows (the workers read them through their own
# connections) and a Redis broker.
WORKER_MARKS = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="real workers need a Redis broker: set REDIS_URL (CI does)",
    ),
]

# Short engine timings, for the workers (through the environment) and for the test process
# (through the `settings` fixture), so that coalescing, backoff, leases and the sweep happen in
# seconds, not minutes.
FAST_SYNC = {
    "SYNC_COALESCE_SECONDS": 0.2,
    "SYNC_BACKOFF_BASE_SECONDS": 0.2,
    "SYNC_BACKOFF_CAP_SECONDS": 2.0,
    "SYNC_BILL_FIRST_DELAY_SECONDS": 0.5,
    "SYNC_LEASE_SECONDS": 5.0,
    "SYNC_SWEEP_AFTER_SECONDS": 2.0,
    "SYNC_SWEEP_BULK_AFTER_SECONDS": 2.0,
    "SYNC_SWEEP_INTERVAL_SECONDS": 1.0,
    # Bulk runs go to the ledger in batches (a search and a create each): small batches keep
    # several in flight at once, as a big backlog would.
    "SYNC_BATCH_SIZE": 5,
}


def database_url_for_workers() -> str:
    """The database the test sees (pytest-django's `test_<name>`), as a URL for a child."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def worker_env(broker_url: str, extra: dict) -> dict[str, str]:
    """A test's worker: the test's database and settings, the broker given to its pool."""
    env = {**os.environ, **{key: str(value) for key, value in FAST_SYNC.items()}}
    env.update(
        DJANGO_SETTINGS_MODULE="syncsvc.settings_test",
        # The test's own database (test_<name>), where the test's committed rows are.
        DATABASE_URL=database_url_for_workers(),
        # Broker, result backend and rate limiter all on the broker given to this pool.
        REDIS_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_RESULT_BACKEND=broker_url,
        LEDGER_EMULATOR_ALLOWED="1",
        # The emulator addresses this test allowed (only those may be pushed to).
        LEDGER_EMULATOR_URLS=",".join([settings.XERO_EMULATOR_URL, *settings.LEDGER_EMULATOR_URLS]),
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


@contextlib.contextmanager
def worker_pool(
    tmp_path: Path, *, broker_url: str, extra_env: dict | None = None
) -> Iterator[WorkerPool]:
    """Workers for one test (`pool.start(queues=..., concurrency=..., beat=...)`); their logs are
    printed when the test body fails; none may be left running at the end."""
    purge_queues(broker_url)
    pool_extra = dict(extra_env or {})
    pool = WorkerPool(
        tmp_path,
        # In every worker's command line, for pgrep.
        label=f"lsw-{uuid.uuid4().hex[:10]}",
        env=lambda extra: worker_env(broker_url, {**pool_extra, **extra}),
    )
    try:
        yield pool
    except BaseException:
        print(pool.logs())
        raise
    finally:
        leftovers = pool.stop_all()
        with contextlib.suppress(Exception):
            purge_queues(broker_url)
        assert not leftovers, f"worker processes left behind: {leftovers}"


@contextlib.contextmanager
def running_worker(
    tmp_path: Path, *, broker_url: str, beat: bool = False, extra_env: dict | None = None
) -> Iterator[Worker]:
    """One worker on every queue, started and answering, stopped on exit."""
    with worker_pool(tmp_path, broker_url=broker_url, extra_env=extra_env) as pool:
        yield pool.start(beat=beat)


@contextlib.contextmanager
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of our own that the test crashes (`crash()`) and starts again."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.crash()
        assert not port_is_open(server.port), f"port {server.port} still open"
