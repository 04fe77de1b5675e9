"""One benchmark run (`Bench`): its own database, its own Redis db (locked against a second run),
the ledger emulator, Celery workers and beat, all stopped and removed on the way out, also on
Ctrl-C, SIGTERM or an exception; and the command-line options every script shares."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness.database import (
    BENCH_APPLICATION_NAME,
    create_database,
    database_url,
    drop_database,
)
from bench.harness.emulators import Emulator, launch_emulator
from bench.harness.organisations import UNLIMITED_EMULATOR
from bench.harness.printing import log, result
from bench.harness.processes import (
    ROOT,
    Beat,
    Process,
    Worker,
    WorkerPool,
    pid_alive,
    purge_queues,
    raise_interrupt,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
# Short engine timings for the worker processes, so that backoff, leases and the sweep act in
# seconds. Scripts override what they measure (see each script).
FAST_SYNC = {
    "SYNC_COALESCE_SECONDS": "0.2",
    "SYNC_BACKOFF_BASE_SECONDS": "0.2",
    "SYNC_BACKOFF_CAP_SECONDS": "2",
    "SYNC_BILL_FIRST_DELAY_SECONDS": "0.5",
    "SYNC_LEASE_SECONDS": "30",
    "SYNC_SWEEP_AFTER_SECONDS": "60",
    "SYNC_SWEEP_INTERVAL_SECONDS": "30",
}
LOCK_KEY = "ledgersync-bench:owner"
LOCK_SECONDS = 6 * 3600
EXIT_BUSY = 75  # EX_TEMPFAIL: another run holds our Redis db


def add_quota_arguments(
    parser: argparse.ArgumentParser,
    *,
    window_seconds: float = 60.0,
    workers: int = 2,
    concurrency: int = 3,
) -> None:
    """The quota a run's tenant has (Xero's: 60 calls per 60 s, 5 at once) and the workers that
    spend it; each script says its own defaults."""
    parser.add_argument("--calls-per-window", type=int, default=60)
    parser.add_argument("--window-seconds", type=float, default=window_seconds, help="Xero's is 60")
    parser.add_argument("--max-concurrent", type=int, default=5)
    parser.add_argument("--workers", type=int, default=workers)
    parser.add_argument("--concurrency", type=int, default=concurrency, help="processes per worker")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL server to use (its database name is ignored: each run creates "
        "ledgersync_bench_<pid> and drops it at the end)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis server; only db --redis-db is used and flushed (whatever db the URL names)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=int(os.environ.get("BENCH_REDIS_DB", "9")),
        help="the Redis db this run owns (default 9, or $BENCH_REDIS_DB): two runs on one "
        "server at once need different dbs",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the workers' and emulator's logs"
    )


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def _fernet_key(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()


class Bench:
    """One benchmark run: its database, Redis db, emulator, workers; all gone on exit.

    `workers` are the run's current workers (a supervised one that died is replaced in place);
    `pool` holds every worker started, `processes` everything else (emulators, beat, servers)."""

    def __init__(
        self,
        name: str,
        args: argparse.Namespace,
        *,
        sync_env: dict | None = None,
        kept_database: str = "",
    ):
        """kept_database: use (or create) the database of this name and keep it on exit, for a
        bench that loads once and measures again (bench.pages --keep-database)."""
        self.name = name
        self.args = args
        # CREATE/DROP DATABASE go through the server's maintenance database.
        self.server_url = database_url(args.database_url, "postgres")
        self.redis_url = _redis_db(args.redis_url, getattr(args, "redis_db", 9))
        self.db_name = kept_database or f"ledgersync_bench_{os.getpid()}"
        self.keep_database = bool(kept_database)
        self.database_url = database_url(self.server_url, self.db_name)
        self.sync_env = {**FAST_SYNC, **{k: str(v) for k, v in (sync_env or {}).items()}}
        self.tmp = Path(tempfile.mkdtemp(prefix=f"ledgersync-bench-{name}-"))
        self.secret = f"bench-secret-{uuid.uuid4().hex}"
        self.processes: list[Process] = []
        self.pool = WorkerPool(
            self.tmp,
            label=f"bench-{os.getpid()}",
            env=lambda extra: self.env(for_worker=True, extra=extra),
        )
        self.workers: list[Worker] = []
        self.emulators: list[Emulator] = []
        self._db_created = False
        self._supervisor: threading.Thread | None = None
        self._supervising = threading.Event()
        self.restarts = 0

    # environment shared by this process and the workers
    def env(self, *, for_worker: bool, extra: dict | None = None) -> dict:
        env = {
            **os.environ,
            **self.sync_env,
            "DJANGO_SETTINGS_MODULE": "syncsvc.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_RESULT_BACKEND": self.redis_url,
            "LEDGER_EMULATOR_ALLOWED": "1",
            # Only configured emulator addresses may be used (checked at every push).
            "LEDGER_EMULATOR_URLS": ",".join(e.url for e in self.emulators),
            "LEDGERSYNC_VAR_DIR": str(self.tmp / "var"),
            "RATE_LIMIT_KEY_PREFIX": f"ledgersync-bench-{os.getpid()}:rl:",
            "SECRET_KEY": self.secret,
            "CREDENTIALS_ENCRYPTION_KEYS": _fernet_key(self.secret),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        # Workers run as in production (DEBUG off: no per-query bookkeeping); the bench process
        # renders pages with the Django test client, which wants the development settings.
        env["DEBUG"] = "0" if for_worker else "1"
        if for_worker:
            env.pop("PGAPPNAME", None)
        else:
            env["PGAPPNAME"] = BENCH_APPLICATION_NAME
        env.update({k: str(v) for k, v in (extra or {}).items()})
        return env

    def __enter__(self) -> Bench:
        self._previous_term = signal.signal(signal.SIGTERM, raise_interrupt)
        # Two runs must never share a Redis db: each flushes it, and their workers would take
        # each other's tasks (with record ids of the other run's database).
        try:
            self._take_redis_lock()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            signal.signal(signal.SIGTERM, self._previous_term or signal.SIG_DFL)
            raise
        try:
            create_database(self.server_url, self.db_name, keep_existing=self.keep_database)
            # A kept database is never dropped.
            self._db_created = not self.keep_database
            os.environ.update(self.env(for_worker=False))
            log(f"migrating {self.db_name}")
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=self.env(for_worker=True),
                check=True,
            )
            import django

            django.setup()
            self.flush_redis()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self._clean_up(exc_type, exc)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, self._previous_term or signal.SIG_DFL)

    def _clean_up(self, exc_type, exc) -> None:
        self.stop_supervising()
        self.pool.stop_all()
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        for emulator in self.emulators:
            emulator.close()
        if exc_type is not None and not isinstance(exc, KeyboardInterrupt):
            for process in [*self.processes, *self.pool.workers]:
                print(f"--- log of {process.name} ---\n{process.log_tail()}", file=sys.stderr)
        with contextlib.suppress(Exception):
            self.flush_redis(keep_lock=False)
        if self._db_created:
            drop_database(self.server_url, self.db_name)
        if self.args.keep_logs:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)

    def _take_redis_lock(self) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        client = self._redis()
        try:
            for _ in range(2):
                if client.set(LOCK_KEY, owner, nx=True, ex=LOCK_SECONDS):
                    return
                holder = (client.get(LOCK_KEY) or b"").decode()
                host, _, pid = holder.rpartition(":")
                elsewhere = host != socket.gethostname()
                if elsewhere or (pid.isdigit() and pid_alive(int(pid))):
                    print(
                        f"BUSY: another benchmark ({holder}) is using this Redis db; run one at a "
                        "time",
                        file=sys.stderr,
                    )
                    raise SystemExit(EXIT_BUSY)
                client.delete(LOCK_KEY)  # left by a run that is gone
            raise SystemExit(EXIT_BUSY)
        finally:
            client.close()

    def flush_redis(self, *, keep_lock: bool = True) -> None:
        client = self._redis()
        try:
            client.flushdb()
            if keep_lock:
                owner = f"{socket.gethostname()}:{os.getpid()}"
                client.set(LOCK_KEY, owner, ex=LOCK_SECONDS)
        finally:
            client.close()

    # processes
    def start_emulator(self, **rate_limits) -> Emulator:
        """The emulator of the run's ledger (`--ledger`, default Xero), with these limits (in its
        own words; none: lifted)."""
        emulator = launch_emulator(
            getattr(self.args, "ledger", "xero"), env=self.env(for_worker=True), log_dir=self.tmp
        )
        self.processes.append(emulator.process)
        self.emulators.append(emulator)
        from django.conf import settings

        settings.LEDGER_EMULATOR_URLS = [*settings.LEDGER_EMULATOR_URLS, emulator.url]
        emulator.set_rate_limits(**(rate_limits or UNLIMITED_EMULATOR))
        return emulator

    def new_worker(
        self, *, concurrency: int = 2, extra_env: dict | None = None, loglevel: str = "WARNING"
    ) -> Worker:
        """A worker of the run on every queue, not yet launched."""
        worker = self.pool.worker(concurrency=concurrency, extra_env=extra_env, loglevel=loglevel)
        self.workers.append(worker)
        return worker

    def start_workers(
        self,
        count: int,
        *,
        concurrency: int = 2,
        extra_env: dict | None = None,
        loglevel: str = "WARNING",
    ) -> list[Worker]:
        spec = {"concurrency": concurrency, "extra_env": extra_env, "loglevel": loglevel}
        workers = self.pool.start_many([spec] * count)
        self.workers += workers
        log(f"{count} worker(s) x {concurrency} processes ready")
        return workers

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def start_beat(self, extra_env: dict | None = None) -> Process:
        beat = Beat(
            env=self.env(for_worker=True, extra=extra_env),
            log_path=self.tmp / "beat.log",
            schedule=self.tmp / f"beat-{uuid.uuid4().hex[:6]}",
        ).launch()
        self.processes.append(beat)
        return beat

    def supervise(self) -> None:
        """Restart any worker that died (what systemd or Kubernetes would do), until exit."""
        self._supervising.set()

        def loop() -> None:
            while self._supervising.is_set():
                for index, worker in enumerate(list(self.workers)):
                    if not worker.alive and self._supervising.is_set():
                        replacement = self.pool.like(worker)
                        self.workers[index] = replacement
                        replacement.launch()
                        self.restarts += 1
                time.sleep(0.2)

        self._supervisor = threading.Thread(target=loop, daemon=True, name="supervisor")
        self._supervisor.start()

    def stop_supervising(self) -> None:
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
            self._supervisor = None

    def worker_cpu_seconds(self) -> float:
        return sum(worker.cpu_seconds() for worker in self.workers)

    def purge_queues(self) -> None:
        from syncsvc.celery import app

        purge_queues(app.conf.broker_url)

    result = staticmethod(result)
