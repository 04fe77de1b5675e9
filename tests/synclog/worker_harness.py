"""Real Celery worker processes (and a Redis of our own) for tests of the sync engine.

A worker is `python -m celery -A syncsvc worker ...` in a process group of its own, so that a test
can kill it the way a host crash would (SIGKILL to the whole group: main process, pool children
and embedded beat) and be sure nothing is left behind. Everything here polls against deadlines;
nothing sleeps a fixed time hoping that something has happened.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import redis
from django.conf import settings
from kombu import Connection

from syncsvc.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("interactive", "sync", "bulk")

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
START_DEADLINE_SECONDS = 60.0
STOP_DEADLINE_SECONDS = 15.0


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "",
):
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes.

    On timeout raises AssertionError naming what was awaited and the last value seen; `message`
    may be a callable, so that it describes the state at the moment of failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message() if callable(message) else message
            raise AssertionError(
                f"timed out after {timeout:.1f}s waiting for {what or predicate!r} "
                f"(last value: {value!r})"
            )
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def database_url_for_workers() -> str:
    """The database the test sees (pytest-django's `test_<name>`), as a URL for a child."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def pids_matching(token: str) -> list[int]:
    """Processes whose command line carries `token` (worker names do), zombies excluded."""
    found = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


def purge_queues(broker_url: str) -> None:
    """Drop messages left by an earlier test or run, so a new worker does not get them."""
    with Connection(broker_url, connect_timeout=2) as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)


def ping(broker_url: str, name: str, timeout: float = 0.5) -> bool:
    with Connection(broker_url, connect_timeout=2) as conn:
        replies = app.control.ping(destination=[name], timeout=timeout, connection=conn)
    return any(name in reply for reply in replies)


class Worker:
    """One `celery worker` process group; start() returns once it answers a ping."""

    def __init__(
        self,
        *,
        name: str,
        queues: tuple[str, ...],
        env: dict[str, str],
        broker_url: str,
        log_path: Path,
        concurrency: int = 2,
        beat_schedule: Path | None = None,
    ) -> None:
        self.name = name
        self.queues = queues
        self.env = env
        self.broker_url = broker_url
        self.log_path = log_path
        self.concurrency = concurrency
        self.beat_schedule = beat_schedule
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "syncsvc",
            "worker",
            "-Q",
            ",".join(self.queues),
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "-n",
            self.name,
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        if self.beat_schedule is not None:
            # Embedded beat: the sweep runs in the worker's own process group, so it dies with it.
            command += ["-B", "--schedule", str(self.beat_schedule)]
        return command

    def launch(self) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A group of its own: signals reach the pool children and beat, not pytest.
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}"
                )
            return ping(self.broker_url, self.name)

        try:
            wait_until(answers, timeout=START_DEADLINE_SECONDS, interval=0.2, message=self.name)
        except AssertionError as error:
            self.kill()
            raise AssertionError(f"{error}\n--- worker log ---\n{self.log()}") from None

    def start(self) -> "Worker":
        self.launch()
        self.wait_ready()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _wait_group_gone(self, timeout: float) -> None:
        wait_until(
            lambda: not pids_matching(self.name),
            timeout=timeout,
            interval=0.05,
            message=lambda: f"processes of {self.name} to end: {pids_matching(self.name)}",
        )

    def kill(self) -> None:
        """What a crash does: SIGKILL to every process of the group, no shutdown at all."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        # Pool children are not our children: make sure they are gone too.
        self._wait_group_gone(STOP_DEADLINE_SECONDS)

    def stop(self) -> None:
        """SIGTERM the group (warm shutdown), SIGKILL what is still there after a deadline."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        self._wait_group_gone(STOP_DEADLINE_SECONDS)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20_000:]
        except FileNotFoundError:
            return "(no log)"


class WorkerPool:
    """The workers of one test: started, restarted after a kill, all stopped at the end."""

    def __init__(self, tmp_path: Path, *, broker_url: str, extra_env: dict | None = None):
        self.tmp_path = tmp_path
        self.broker_url = broker_url
        self.token = f"lsw-{uuid.uuid4().hex[:10]}"  # in every worker's command line, for pgrep
        self.extra_env = dict(extra_env or {})
        self.workers: list[Worker] = []
        self._generation = 0

    def env(self) -> dict[str, str]:
        env = {**os.environ, **{key: str(value) for key, value in FAST_SYNC.items()}}
        env.update(
            DJANGO_SETTINGS_MODULE="syncsvc.settings_test",
            # The test's own database (test_<name>), where the test's committed rows are.
            DATABASE_URL=database_url_for_workers(),
            # Broker, result backend and rate limiter all on the broker given to this pool.
            REDIS_URL=self.broker_url,
            CELERY_BROKER_URL=self.broker_url,
            CELERY_RESULT_BACKEND=self.broker_url,
            LEDGER_EMULATOR_ALLOWED="1",
            # The emulator addresses this test allowed (only those may be pushed to).
            LEDGER_EMULATOR_URLS=",".join(
                [settings.XERO_EMULATOR_URL, *settings.LEDGER_EMULATOR_URLS]
            ),
            PYTHONUNBUFFERED="1",
        )
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env

    def worker(
        self, *, queues: tuple[str, ...] = QUEUES, concurrency: int = 2, beat: bool = False
    ) -> Worker:
        """A new (not yet started) worker; each gets a fresh name and log under the token."""
        self._generation += 1
        label = f"{self.token}-g{self._generation}"
        worker = Worker(
            name=f"{label}@localhost",
            queues=queues,
            env=self.env(),
            broker_url=self.broker_url,
            log_path=self.tmp_path / f"{label}.log",
            concurrency=concurrency,
            # A fresh schedule file: a SIGKILLed beat may leave its shelve half written.
            beat_schedule=self.tmp_path / f"{label}-beat" if beat else None,
        )
        self.workers.append(worker)
        return worker

    def start(self, **kwargs) -> Worker:
        return self.worker(**kwargs).start()

    def start_many(self, specs: list[dict]) -> list[Worker]:
        """Launch several at once, then wait for each: start-up costs overlap."""
        workers = [self.worker(**spec) for spec in specs]
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        return workers

    def restart(self, worker: Worker, **kwargs) -> Worker:
        """Crash `worker` (SIGKILL to its whole group) and start a replacement like it."""
        worker.kill()
        options = {
            "queues": worker.queues,
            "concurrency": worker.concurrency,
            "beat": worker.beat_schedule is not None,
        }
        return self.start(**{**options, **kwargs})

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()
        leftovers = pids_matching(self.token)
        assert not leftovers, f"worker processes left behind: {leftovers}"

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ({w.log_path}) ---\n{w.log()}" for w in self.workers)


@contextlib.contextmanager
def worker_pool(
    tmp_path: Path, *, broker_url: str, extra_env: dict | None = None
) -> Iterator[WorkerPool]:
    """Workers for one test; their logs are printed when the test body fails."""
    purge_queues(broker_url)
    pool = WorkerPool(tmp_path, broker_url=broker_url, extra_env=extra_env)
    try:
        yield pool
    except BaseException:
        print(pool.logs())
        raise
    finally:
        pool.stop_all()
        with contextlib.suppress(Exception):
            purge_queues(broker_url)


@contextlib.contextmanager
def running_worker(
    tmp_path: Path, *, broker_url: str, beat: bool = False, extra_env: dict | None = None
) -> Iterator[Worker]:
    """One worker on every queue, started and answering, stopped on exit."""
    with worker_pool(tmp_path, broker_url=broker_url, extra_env=extra_env) as pool:
        yield pool.start(beat=beat)


class RedisServer:
    """A redis-server of our own on a fixed port, that a test can crash and start again.

    No persistence (`--save "" --appendonly no`): a restart loses every queued message, which is
    what the sweep must make up for.
    """

    def __init__(self, tmp_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.tmp_path = tmp_path
        self.log_path = tmp_path / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        assert not port_is_open(self.port), f"port {self.port} is taken"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.tmp_path),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{self.log_path.read_text()}")
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20, interval=0.05, message=f"redis-server on {self.port}")
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """SIGKILL by default: a crash, not a clean shutdown. Returns once the port is free."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=STOP_DEADLINE_SECONDS)
        wait_until(
            lambda: not port_is_open(self.port),
            timeout=10,
            interval=0.05,
            message=f"port {self.port} to be free",
        )


@contextlib.contextmanager
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
        assert not port_is_open(server.port), f"port {server.port} still open"
