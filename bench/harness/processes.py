"""Processes that the benchmarks and the worker tests start: each in a process group of its own,
so that a signal reaches everything it started (a Celery worker's pool children, an embedded beat)
and never the caller; a kill is what a host crash does, and waits until no process of the group is
left. Nothing here sleeps a fixed time hoping that something happened: waits poll a condition
against a deadline.

    pool = WorkerPool(tmp, label="lsw-1a2b", env=lambda extra: {...})
    worker = pool.start(queues=("sync",), beat=True)   # returns once it answers a ping
    worker.kill()                                       # SIGKILL to the whole group
    leftovers = pool.stop_all()                         # SIGTERM, then SIGKILL after a deadline

Django and Celery are imported inside the functions that need them: the benchmarks set up Django
only once their database exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("interactive", "sync", "bulk")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_DEADLINE = 60.0
STOP_DEADLINE = 15.0

# --- waiting -------------------------------------------------------------------------------------


class WaitTimedOut(TimeoutError, AssertionError):
    """A wait ran past its deadline: a TimeoutError for the scripts, a failed assertion in a
    test."""


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str | Callable[[], str] = "",
):
    """Poll until `predicate` returns something truthy (returned), or raise WaitTimedOut naming
    what was awaited and the last value seen; `what` may be a callable, so that it describes the
    state at the moment of failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise WaitTimedOut(
                f"timed out after {timeout:.1f}s waiting for {described or predicate!r} "
                f"(last value: {value!r})"
            )
        time.sleep(interval)


def wait_for_moment(moment: float, *, what: str) -> None:
    """Let time pass until time.monotonic() reaches `moment`: the end of an outage, of a rate
    window, the next kill (the waits on the clock rather than on a condition)."""
    wait_until(
        lambda: time.monotonic() >= moment,
        timeout=max(0.0, moment - time.monotonic()) + 1,
        interval=0.05,
        what=what,
    )


# --- ports, pids, signals ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port_closed(port: int, *, timeout: float = 10) -> None:
    """Return once nothing listens on `port` any more (a server we stopped has let go of it)."""
    wait_until(
        lambda: not port_is_open(port),
        timeout=timeout,
        interval=0.05,
        what=f"port {port} to be free",
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pids_matching(token: str) -> list[int]:
    """Processes whose command line carries `token` (worker names do), zombies excluded."""
    found = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


def raise_interrupt(signum, frame) -> None:
    """A SIGTERM handler: clean up as on Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3, state, is index 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _process_groups() -> list[tuple[int, int]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read_stat(int(entry))
        if stat is not None and stat[0] != "Z":
            found.append((int(entry), int(stat[2])))
    return found


def proc_cpu_seconds(pid: int, *, children: bool = False) -> float:
    stat = _read_stat(pid)
    if stat is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 (indexes 11-14 after the name).
    ticks = int(stat[11]) + int(stat[12])
    if children:
        ticks += int(stat[13]) + int(stat[14])
    return ticks / CLOCK_TICKS


# --- processes -----------------------------------------------------------------------------------


class Process:
    """A child in a process group of its own: signals reach all it starts, never the caller."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None

    def launch(self) -> Process:
        with self.log_path.open("ab") as out:
            out.write(f"\n=== {' '.join(self.command)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def group_pids(self) -> list[int]:
        """Every live process of the group (the main one, pool children, what they started)."""
        if self.popen is None:
            return []
        return [pid for pid, pgid in _process_groups() if pgid == self.popen.pid]

    def signal_group(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """A crash: SIGKILL to the whole group, then wait until no process of it is left (pool
        children are not our children: the group, not the main process, says they are gone)."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=STOP_DEADLINE)
        wait_until(
            lambda: not self.group_pids(),
            timeout=STOP_DEADLINE,
            interval=0.05,
            what=lambda: f"the processes of {self.name} to end: {self.group_pids()}",
        )

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL whatever is left after a deadline."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=STOP_DEADLINE)
        self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU of the group's live processes and of the children they reaped."""
        return sum(proc_cpu_seconds(pid, children=True) for pid in self.group_pids())


def celery_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "syncsvc", *args]


class Worker(Process):
    """One `celery worker` (prefork) on `queues`, with an embedded beat when given a schedule
    file; start() returns once it answers a ping."""

    def __init__(
        self,
        *,
        name: str,
        env: dict,
        log_path: Path,
        queues: tuple[str, ...] = QUEUES,
        concurrency: int = 2,
        loglevel: str = "INFO",
        beat_schedule: Path | None = None,
    ) -> None:
        command = celery_command(
            "worker",
            "-Q",
            ",".join(queues),
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        )
        if beat_schedule is not None:
            # Embedded beat: the sweep runs in the worker's own process group, so it dies with it.
            command += ["-B", "--schedule", str(beat_schedule)]
        # Celery logs through settings.LOGGING (django-guid's Celery integration): its level.
        super().__init__(name, command, env={**env, "LOG_LEVEL": loglevel}, log_path=log_path)
        self.queues = queues
        self.concurrency = concurrency
        self.loglevel = loglevel
        self.beat_schedule = beat_schedule
        self.extra_env: dict = {}

    def answers_ping(self) -> bool:
        if not self.alive:
            raise RuntimeError(
                f"worker {self.name} exited with {self.popen.returncode}:\n{self.log_tail()}"
            )
        # The worker's own broker (a drill or a test may give its workers another one).
        return ping(self.env["CELERY_BROKER_URL"], self.name)

    def wait_ready(self) -> Worker:
        try:
            wait_until(self.answers_ping, timeout=START_DEADLINE, interval=0.2, what=self.name)
        except WaitTimedOut as error:
            self.kill()
            raise WaitTimedOut(f"{error}\n--- worker log ---\n{self.log_tail()}") from None
        return self

    def start(self) -> Worker:
        self.launch()
        return self.wait_ready()


def ping(broker_url: str, name: str, timeout: float = 0.5) -> bool:
    from kombu import Connection

    from syncsvc.celery import app

    with Connection(broker_url, connect_timeout=2) as conn:
        replies = app.control.ping(destination=[name], timeout=timeout, connection=conn)
    return any(name in reply for reply in replies)


def purge_queues(broker_url: str) -> None:
    """Drop messages left by an earlier test or run, so that a new worker does not get them."""
    from kombu import Connection

    with Connection(broker_url, connect_timeout=2) as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)


@contextlib.contextmanager
def broker_for_this_process(url: str) -> Iterator[None]:
    """Send this process's tasks (what services enqueue on commit) to another broker, such as a
    `RedisServer` of our own, until the block ends."""
    from syncsvc.celery import app

    original_url = app.conf.broker_url
    original_env = os.environ.get("CELERY_BROKER_URL")

    def switch(to: str, env: str | None) -> None:
        # Celery reads CELERY_BROKER_URL from the environment before its configuration.
        if env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = env
        app.conf.broker_url = to
        # Pools are cached per app; kombu keeps one per broker, so switching back reuses ours.
        app._pool = None
        app.amqp._producer_pool = None

    switch(url, url)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            app.amqp.producer_pool.force_close_all()
            app.pool.force_close_all()
        switch(original_url, original_env)


class WorkerPool:
    """The workers of one test or run: each with a fresh name and log under `label` (also in its
    command line, for pgrep), started, restarted after a kill, all stopped at the end.
    `env(extra)` is the environment of a new worker, with `extra` on top."""

    def __init__(self, log_dir: Path, *, label: str, env: Callable[[dict], dict]) -> None:
        self.log_dir = log_dir
        self.label = label
        self.env = env
        self.workers: list[Worker] = []  # every worker made, killed ones too (their logs count)
        self._generation = 0

    def worker(
        self,
        *,
        queues: tuple[str, ...] = QUEUES,
        concurrency: int = 2,
        loglevel: str = "INFO",
        beat: bool = False,
        extra_env: dict | None = None,
    ) -> Worker:
        """A new worker, not yet launched."""
        self._generation += 1
        name = f"{self.label}-g{self._generation}"
        worker = Worker(
            name=f"{name}@localhost",
            env=self.env(dict(extra_env or {})),
            log_path=self.log_dir / f"{name}.log",
            queues=queues,
            concurrency=concurrency,
            loglevel=loglevel,
            # A fresh schedule file: a SIGKILLed beat may leave its shelve half written.
            beat_schedule=self.log_dir / f"{name}-beat" if beat else None,
        )
        worker.extra_env = dict(extra_env or {})
        self.workers.append(worker)
        return worker

    def start(self, **options) -> Worker:
        return self.worker(**options).start()

    def start_many(self, specs: list[dict]) -> list[Worker]:
        """Launch several at once (each spec: `worker()`'s options), then wait for each: start-up
        costs overlap."""
        workers = [self.worker(**spec) for spec in specs]
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        return workers

    def like(self, worker: Worker, **options) -> Worker:
        """A new worker (not launched) with `worker`'s queues, concurrency, beat and env."""
        same = {
            "queues": worker.queues,
            "concurrency": worker.concurrency,
            "loglevel": worker.loglevel,
            "beat": worker.beat_schedule is not None,
            "extra_env": worker.extra_env,
        }
        return self.worker(**{**same, **options})

    def stop_all(self) -> list[int]:
        """Stop every worker; returns the pids of any process still carrying the label."""
        for worker in self.workers:
            with contextlib.suppress(Exception):
                worker.stop()
        return pids_matching(self.label)

    def logs(self) -> str:
        return "\n".join(
            f"--- {w.name} ({w.log_path}) ---\n{w.log_tail(20_000)}" for w in self.workers
        )


class Beat(Process):
    """`celery beat` on a fresh schedule file."""

    def __init__(self, *, env: dict, log_path: Path, schedule: Path) -> None:
        command = celery_command("beat", "--schedule", str(schedule), "--loglevel=INFO")
        super().__init__("beat", command, env=env, log_path=log_path)


class RedisServer(Process):
    """A redis-server of our own on a free port (kept across restarts), that a drill or a test
    crashes and starts again. No persistence (`--save "" --appendonly no`): a restart loses every
    queued message, which is what the sweep must make up for."""

    def __init__(self, tmp: Path, *, db: int = 0) -> None:
        self.port = free_port()
        self.db = db
        command = [
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
            str(tmp),
        ]
        log_path = tmp / f"redis-{self.port}.log"
        super().__init__(f"redis-{self.port}", command, env=dict(os.environ), log_path=log_path)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def start(self) -> RedisServer:
        """Start (again, on the same port) and wait until it answers a PING."""
        import redis

        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken")
        self.launch()

        def answers() -> bool:
            if not self.alive:
                raise RuntimeError(f"redis-server exited:\n{self.log_tail()}")
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20, interval=0.05, what=f"redis-server on {self.port}")
        return self

    def crash(self) -> None:
        """SIGKILL, no shutdown; returns once the port is free."""
        self.kill()
        wait_port_closed(self.port)
