"""The benchmarks keep working: each script of bench/ runs at its smallest size, as a subprocess,
against PostgreSQL, Redis (db 9 only) and real Celery workers, and must exit 0, print its RESULT
lines and count nothing lost or doubled in the emulator. The figures themselves are not checked
here (see bench/README.md); this is a smoke test, about 90 seconds in all."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT_BUSY = 75  # bench.harness: another benchmark holds Redis db 9
COUNTS = re.compile(r"lost=(\d+) duplicated=(\d+)")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not REDIS_URL, reason="the benchmarks need Redis and real workers: set REDIS_URL"
    ),
    pytest.mark.skipif(
        not DATABASE_URL.startswith(("postgres://", "postgresql://")),
        reason="the benchmarks need PostgreSQL: set DATABASE_URL to a postgres:// URL",
    ),
]

SMOKE_RUNS = {
    "quota": [
        "--bills", "100", "--baseline-bills", "10", "--window-seconds", "2",
        "--workers", "1", "--concurrency", "2",
    ],
    "overhead": [
        "--sizes", "50", "--query-batches", "5,20", "--workers", "1", "--concurrency", "2",
    ],
    "accept": ["--documents", "50", "--workers", "1", "--concurrency", "2"],
    "drills": [
        "--drills", "a,c", "--documents", "100", "--kills", "1", "--kill-every", "1",
        "--latency-ms", "200", "--lease", "5", "--http-timeout", "1", "--sweep-after", "3",
        "--sweep-bulk-after", "4", "--rearm-429", "3", "--workers", "1", "--concurrency", "2",
        "--timeout", "120",
    ],
}  # fmt: skip
# Large selections are prepared by a worker (sync_run_prepare); at smoke sizes only this makes
# the accept and drill runs go that way, through real workers (and worker kills).
SMOKE_ENV = {
    "accept": {"SYNC_PREPARE_IN_WORKER_OVER": "20"},
    "drills": {"SYNC_PREPARE_IN_WORKER_OVER": "20"},
}


@pytest.mark.parametrize("script", list(SMOKE_RUNS))
def test_benchmark_runs_and_loses_nothing(script):
    if not _reachable(DATABASE_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {urlsplit(DATABASE_URL).netloc}")
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [sys.executable, "-m", f"bench.{script}", *SMOKE_RUNS[script]]
    command += ["--database-url", DATABASE_URL, "--redis-url", REDIS_URL]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **SMOKE_ENV.get(script, {})},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on Redis db 9: {done.stderr.strip()}")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert results, f"no RESULT line:\n{output[-6000:]}"
    counts = COUNTS.findall(done.stdout)
    assert counts, f"no lost/duplicated count:\n{output[-6000:]}"
    assert all(c == ("0", "0") for c in counts), f"lost or doubled:\n{chr(10).join(results)}"
