"""PostgreSQL for a run: a throw-away database on the configured server (`create_database`,
`drop_database`), the CPU of the backends that serve it (`PgBackendCpu`), and a cluster of our own
that a drill stops and starts (`PgServer`).

`PgServer`, for the drill that restarts the database server (8d): the machine's PostgreSQL is
shared with other work and must never be restarted, so the drill initdb's a throw-away cluster in
a temporary directory and runs it on a free loopback port:

    with PgServer() as pg:                  # initdb + start; pg.url is the server's URL
        ...
        pg.stop(mode="fast")                # or "immediate": a crash, recovered from WAL on start
        pg.start()
    # stopped (immediate) and its directory removed, also on Ctrl-C, SIGTERM or an error

PostgreSQL refuses to run as root: when we are root, every command runs as the `postgres` OS
user (`runuser -u postgres --`) in a directory chowned to it. Trust authentication, loopback
only, its Unix socket in its own directory (never /var/run/postgresql, which the machine's server
uses). `fsync=off` for speed: safe for this drill, because a stop, even `-m immediate`, kills
processes, not the machine: what PostgreSQL wrote is in the OS page cache and survives.
`synchronous_commit` stays on, as in production: a commit acknowledged to a client is in the WAL
the server reads back after an immediate stop.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.harness.printing import log
from bench.harness.processes import (
    free_port,
    pid_alive,
    port_is_open,
    proc_cpu_seconds,
    raise_interrupt,
    wait_port_closed,
    wait_until,
)

# The bench process's own database sessions carry this name, so that the CPU of PostgreSQL
# backends serving the workers (the service) can be told from the bench's own polling.
BENCH_APPLICATION_NAME = "ledgersync-bench"


def database_url(server_url: str, name: str) -> str:
    """`server_url` naming database `name` instead (PostgreSQL only)."""
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"the benchmarks need PostgreSQL; DATABASE_URL is {server_url!r}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def create_database(server_url: str, name: str, *, keep_existing: bool = False) -> None:
    """A fresh, empty database `name` (one left by a run that died is dropped first); with
    `keep_existing`, an existing database of that name is used as it is."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        if keep_existing:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if found.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
            return
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    """Close this process's connections and drop `name`, its sessions with it; a failure is
    reported, not raised (the run's figures still stand)."""
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    import psycopg

    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as error:  # noqa: BLE001 - reported, the run's figures still stand
        print(f"could not drop {name}: {error}", file=sys.stderr)


class PgBackendCpu:
    """CPU seconds of the PostgreSQL backends serving the benchmark database, except the bench
    process's own sessions. Sampled every `interval` from /proc so that a backend which exits
    mid-run still counts up to its last sample."""

    def __init__(self, database_url: str, db_name: str, interval: float = 0.25) -> None:
        self.database_url = database_url
        self.db_name = db_name
        self.interval = interval
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pids(self, conn) -> list[int]:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [self.db_name, BENCH_APPLICATION_NAME],
        ).fetchall()
        return [row[0] for row in rows]

    def _sample(self, conn, *, baseline: bool = False) -> None:
        for pid in self._pids(conn):
            cpu = proc_cpu_seconds(pid)
            if baseline:
                self._base[pid] = cpu
            self._base.setdefault(pid, 0.0)
            self._last[pid] = max(cpu, self._last.get(pid, 0.0))

    def __enter__(self) -> PgBackendCpu:
        import psycopg

        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._sample(self._conn, baseline=True)

        def loop() -> None:
            while not self._stop.wait(self.interval):
                with contextlib.suppress(Exception):
                    self._sample(self._conn)

        self._thread = threading.Thread(target=loop, daemon=True, name="pg-cpu")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._sample(self._conn)
        self._conn.close()

    @property
    def seconds(self) -> float:
        return sum(self._last[pid] - self._base.get(pid, 0.0) for pid in self._last)


BIN_DIR = Path(os.environ.get("PG_BIN_DIR", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
START_DEADLINE = 60
STOP_MODES = ("smart", "fast", "immediate")


def binaries_available(bin_dir: Path = BIN_DIR) -> bool:
    """initdb, pg_ctl and postgres are there, and (as root) the `postgres` OS user to run them."""
    if not all((bin_dir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


class PgServer:
    """initdb into a temporary directory, start on a free port; stop/start at will; remove."""

    def __init__(self, *, bin_dir: Path = BIN_DIR, fsync: bool = False) -> None:
        if not binaries_available(bin_dir):
            raise SystemExit(f"PostgreSQL binaries (initdb, pg_ctl, postgres) not in {bin_dir}")
        self.bin_dir = bin_dir
        self.fsync = fsync
        self.as_root = os.geteuid() == 0
        self.dir: Path | None = None
        self.port = 0
        self.running = False
        self._started = False

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = START_DEADLINE) -> str:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if self.as_root:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        done = subprocess.run(
            argv,
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}\n"
                f"--- server log ---\n{self.log_tail()}"
            )
        return done.stdout

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except (FileNotFoundError, TypeError):
            return "(no log)"

    # --- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> PgServer:
        # SIGTERM while starting must clean up as Ctrl-C does (Bench does the same once entered).
        self._previous_term = signal.signal(signal.SIGTERM, raise_interrupt)
        try:
            self._create()
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.destroy()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, self._previous_term or signal.SIG_DFL)

    def _create(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ledgersync-pg-"))
        if self.as_root:
            record = pwd.getpwnam(OS_USER)
            os.chown(self.dir, record.pw_uid, record.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.dir}'",
            "fsync": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "max_connections": "100",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] '",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# ledgersync bench (bench/harness/database.py)\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        log(f"PostgreSQL cluster of our own in {self.dir} (fsync {settings['fsync']})")

    def start(self) -> PgServer:
        """Start (again) and wait until it accepts connections; on the port it had, if any."""
        for attempt in range(3):
            if not self.port:
                self.port = free_port()
            try:
                self._run(
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    str(START_DEADLINE),
                    "-o",
                    f"-p {self.port}",
                    timeout=START_DEADLINE + 10,
                )
                break
            except RuntimeError:
                # Someone took the free port between our check and the first start: take
                # another. A restart keeps its port (the workers' DATABASE_URL names it).
                if attempt == 2 or self._started or not port_is_open(self.port):
                    raise
                self.port = 0
        self.running = self._started = True
        wait_until(
            self._accepts, timeout=START_DEADLINE, interval=0.1, what=f"PostgreSQL on {self.port}"
        )
        return self

    def stop(self, *, mode: str = "fast") -> None:
        """`pg_ctl stop -m <mode>`: fast ends every session (a checkpoint, then down), immediate
        kills every server process at once (a crash: the next start replays the WAL)."""
        if mode not in STOP_MODES:
            raise ValueError(f"stop mode {mode!r}: choose from {', '.join(STOP_MODES)}")
        self._run(
            "pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(START_DEADLINE)
        )
        self.running = False
        wait_port_closed(self.port)

    def destroy(self) -> None:
        """Stop the server (immediate: nothing of it is kept) and remove its directory."""
        if self.dir is None:
            return
        if self.data.exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
            # pg_ctl gave up, or was never asked: the postmaster's pid is in its pid file.
            with contextlib.suppress(Exception):
                pid = int((self.data / "postmaster.pid").read_text().split()[0])
                os.kill(pid, signal.SIGQUIT)
                wait_until(lambda: not pid_alive(pid), timeout=10, interval=0.05, what="postmaster")
        self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def _accepts(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False
