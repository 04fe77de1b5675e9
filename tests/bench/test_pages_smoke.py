"""bench/pages.py keeps working: page latency (figure 3) and the Excel export (figure 4) at a tiny
size, as a subprocess against PostgreSQL and Redis, must exit 0 and print a RESULT line per page
and one for the export. The figures themselves are not checked here (see bench/README.md)."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT_BUSY = 75  # bench.harness: another benchmark holds the Redis db
PAGE_LINE = re.compile(r"^RESULT 3 page latency: .+: p50 \d+ ms, p95 \d+ ms, \d+ queries", re.M)
EXPORT_LINE = re.compile(r"^RESULT 4 export: (\d+) rows in [\d.]+ s, peak memory \d+ MB", re.M)


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

SMOKE_RUN = [
    "--documents", "300", "--attempts", "3000", "--export-rows", "300", "--requests", "1",
    "--warmup", "0", "--hot-documents", "2", "--hot-attempts", "60", "--explain", "none",
]  # fmt: skip


def test_pages_benchmark_runs():
    if not _reachable(DATABASE_URL, 5432):
        pytest.skip(f"PostgreSQL is not reachable at {urlsplit(DATABASE_URL).netloc}")
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [sys.executable, "-m", "bench.pages", *SMOKE_RUN]
    command += ["--database-url", DATABASE_URL, "--redis-url", REDIS_URL]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on this Redis db: {done.stderr.strip()}")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    pages = PAGE_LINE.findall(done.stdout)
    assert len(pages) >= 10, f"too few page RESULT lines:\n{output[-6000:]}"
    export = EXPORT_LINE.search(done.stdout)
    assert export, f"no export RESULT line:\n{output[-6000:]}"
    assert int(export.group(1)) == 300, export.group(0)
