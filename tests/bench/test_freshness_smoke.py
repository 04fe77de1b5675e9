"""bench/freshness.py keeps working: a tiny run (6 changes, a bulk re-sync of 50 bills, one worker)
as a subprocess against PostgreSQL, Redis and real Celery workers with the production coalescing
delay; it must exit 0, print its RESULT lines, apply every change and count nothing lost or
doubled. The figures are not checked here (see bench/README.md). About 35 seconds."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT_BUSY = 75  # bench.harness: another benchmark holds our Redis db
COUNTS = re.compile(r"lost=(\d+) duplicated=(\d+)")
NOT_APPLIED = re.compile(r"not_applied=(\d+)")
SMOKE_RUN = [
    "--changes", "6", "--gap", "0.2,0.5", "--bulk-bills", "50", "--background-bills", "5",
    "--background-every", "2", "--workers", "1", "--concurrency", "2", "--timeout", "60",
]  # fmt: skip


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


def test_freshness_runs_and_loses_nothing():
    if not _reachable(DATABASE_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {urlsplit(DATABASE_URL).netloc}")
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [sys.executable, "-m", "bench.freshness", *SMOKE_RUN]
    command += ["--database-url", DATABASE_URL, "--redis-url", REDIS_URL]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on our Redis db: {done.stderr.strip()}")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert any(line.startswith("RESULT 6 freshness:") for line in results), output[-6000:]
    assert NOT_APPLIED.findall(done.stdout) == ["0"], f"a change never arrived:\n{output[-6000:]}"
    counts = COUNTS.findall(done.stdout)
    assert counts, f"no lost/duplicated count:\n{output[-6000:]}"
    assert all(c == ("0", "0") for c in counts), f"lost or doubled:\n{chr(10).join(results)}"
