"""bench/tenants.py keeps working: figure 7 (many organisations, each with its own emulator
tenant and quota, bulk re-syncs started at once) at a tiny size, as a subprocess, against
PostgreSQL, Redis (its own db: $BENCH_REDIS_DB, default 9) and real Celery workers. It must exit
0, print its RESULT lines, and every organisation must finish with nothing lost or doubled. The
figures themselves are not checked (see bench/README.md). 20-40 seconds here."""

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
FINISHED = re.compile(r"orgs=(\d+) finished=(\d+) not_finished=(\d+)")
ORGS = 5


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


def test_tenants_benchmark_runs_and_every_organisation_finishes():
    if not _reachable(DATABASE_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {urlsplit(DATABASE_URL).netloc}")
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [
        sys.executable, "-m", "bench.tenants", "--orgs", str(ORGS), "--bills", "10",
        "--latency-ms", "20", "--workers", "1", "--concurrency", "2", "--timeout", "60",
        "--database-url", DATABASE_URL, "--redis-url", REDIS_URL,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=os.environ
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on this Redis db: {done.stderr.strip()}")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert any(line.startswith("RESULT 7 tenants fairness:") for line in results), output[-6000:]
    counts = COUNTS.findall(done.stdout)
    assert counts, f"no lost/duplicated count:\n{output[-6000:]}"
    assert all(c == ("0", "0") for c in counts), f"lost or doubled:\n{chr(10).join(results)}"
    assert FINISHED.findall(done.stdout) == [(str(ORGS), str(ORGS), "0")], "\n".join(results)
