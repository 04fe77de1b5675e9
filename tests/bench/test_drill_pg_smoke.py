"""Drill 8d keeps working: `bench.drills --drills d` at its smallest size, as a subprocess, with
real Celery workers and a PostgreSQL cluster of its own (bench/pgserver.py: initdb in a temporary
directory; the machine's server is never restarted), stopped twice mid-sync (-m fast, then
-m immediate). It must exit 0, print its RESULT line and count nothing lost or doubled in the
emulator. About 50 seconds; skipped without the PostgreSQL binaries or without REDIS_URL."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.pgserver import BIN_DIR, binaries_available

ROOT = Path(__file__).resolve().parents[2]
EXIT_BUSY = 75  # bench.harness: another benchmark holds the Redis db
COUNTS = re.compile(r"lost=(\d+) duplicated=(\d+)")
REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not REDIS_URL, reason="the drill needs Redis and real workers: set REDIS_URL"
    ),
    pytest.mark.skipif(
        not binaries_available(),
        reason=f"no PostgreSQL binaries (initdb, pg_ctl, postgres) in {BIN_DIR} (PG_BIN_DIR)",
    ),
]

SMOKE_RUN = [
    "--drills", "d", "--documents", "60", "--batch-size", "10", "--latency-ms", "200",
    "--pg-down-seconds", "2", "--pg-stops", "fast,immediate", "--lease", "5",
    "--http-timeout", "1", "--sweep-after", "3", "--sweep-bulk-after", "4",
    "--workers", "1", "--concurrency", "2", "--timeout", "90",
]  # fmt: skip


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


def test_postgres_restart_drill_loses_nothing():
    if not _reachable(REDIS_URL, 6379):
        pytest.skip(f"Redis is not reachable at {urlsplit(REDIS_URL).netloc}")
    command = [sys.executable, "-m", "bench.drills", *SMOKE_RUN, "--redis-url", REDIS_URL]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    output = done.stdout + done.stderr
    print(done.stdout)
    if done.returncode == EXIT_BUSY:
        pytest.skip(f"another benchmark is running on the Redis db: {done.stderr.strip()}")
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT 8d")]
    assert results, f"no RESULT 8d line:\n{output[-6000:]}"
    counts = COUNTS.findall(done.stdout)
    assert counts, f"no lost/duplicated count:\n{output[-6000:]}"
    assert all(c == ("0", "0") for c in counts), f"lost or doubled:\n{chr(10).join(results)}"
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
