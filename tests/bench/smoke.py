"""Running a benchmark of bench/ at a smoke size from a test: as a subprocess, against the
PostgreSQL and Redis the test run uses. Skips when they are not there or when another benchmark
holds the Redis db; fails unless the script exits 0 and prints RESULT lines with nothing lost
or doubled."""

import os
import re
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

# EXIT_BUSY: another benchmark holds the Redis db.
from bench.harness import EXIT_BUSY, ROOT

COUNTS = re.compile(r"lost=(\d+) duplicated=(\d+)")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

NEEDS_REDIS = pytest.mark.skipif(
    not REDIS_URL, reason="the benchmarks need Redis and real workers: set REDIS_URL"
)
NEEDS_POSTGRES = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql://")),
    reason="the benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL",
)
MARKS = [pytest.mark.worker, NEEDS_REDIS, NEEDS_POSTGRES]


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


def run_benchmark(
    module: str,
    args: list[str],
    *,
    timeout: float = 240,
    env: dict | None = None,
    database: bool = True,
) -> str:
    """`python -m bench.<module> <args>`; its stdout once it has passed the common checks."""
    if database and not _reachable(DATABASE_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {urlsplit(DATABASE_URL).netloc}")
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [sys.executable, "-m", f"bench.{module}", *args, "--redis-url", REDIS_URL]
    if database:
        command += ["--database-url", DATABASE_URL]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on this Redis db: {done.stderr.strip()}")
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    counts = COUNTS.findall(done.stdout)
    assert not counts or all(c == ("0", "0") for c in counts), "lost or doubled:\n" + "\n".join(
        results
    )
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    assert results, f"no RESULT line:\n{output[-6000:]}"
    return done.stdout


def assert_counted(stdout: str) -> None:
    """The run printed its census (expected / synced / lost / duplicated)."""
    assert COUNTS.search(stdout), f"no lost/duplicated count:\n{stdout[-6000:]}"
