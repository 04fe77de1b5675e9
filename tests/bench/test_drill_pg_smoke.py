"""Drill 8d keeps working: `bench.drills --drills d` at its smallest size, as a subprocess, with
real Celery workers and a PostgreSQL cluster of its own (bench.harness.PgServer: initdb in a
temporary directory; the machine's server is never restarted), stopped twice mid-sync (-m fast,
then -m immediate). It must exit 0 (every attempt logged), print its RESULT line and count nothing
lost or doubled in the emulator. About 50 seconds; skipped without the PostgreSQL binaries or
without REDIS_URL."""

import re

import pytest

from bench.harness.database import BIN_DIR, binaries_available
from tests.bench.smoke import NEEDS_REDIS, assert_counted, run_benchmark

pytestmark = [
    pytest.mark.worker,
    NEEDS_REDIS,
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


def test_postgres_restart_drill_loses_nothing():
    # The drill's database lives on a server of its own: no --database-url.
    stdout = run_benchmark("drills", SMOKE_RUN, database=False)
    assert re.search(r"^RESULT 8d .*every_attempt_logged=yes", stdout, re.M), stdout[-6000:]
    assert_counted(stdout)
