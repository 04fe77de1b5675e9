"""The drills run on QuickBooks Online and MYOB too: `bench.drills --ledger <ledger> --drills a`
at a smoke size, as a subprocess, with real Celery workers and the ledger's emulator as a server
process. A worker is SIGKILLed mid-push; the run must exit 0 (every attempt logged), print its
RESULT line and count nothing lost or doubled among the company's (company file's) bills, found
by the reference in their PrivateNote (JournalMemo). Skipped without REDIS_URL and a PostgreSQL
DATABASE_URL."""

import re

import pytest

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS

SMOKE_RUN = [
    "--drills", "a", "--documents", "100", "--kills", "1",
    "--kill-every", "1", "--latency-ms", "200", "--kill-latency-ms", "300", "--lease", "5",
    "--http-timeout", "1", "--sweep-after", "3", "--sweep-bulk-after", "4",
    "--workers", "1", "--concurrency", "2", "--timeout", "120",
]  # fmt: skip


@pytest.mark.parametrize("ledger", ["qbo", "myob"])
def test_worker_kill_drill_loses_nothing(ledger):
    stdout = run_benchmark(
        "drills", ["--ledger", ledger, *SMOKE_RUN], env={"SYNC_PREPARE_IN_WORKER_OVER": "20"}
    )
    assert_counted(stdout)
    assert re.search(
        r"^RESULT 8a .*expected=100 synced=100 .*every_attempt_logged=yes", stdout, re.M
    ), stdout[-6000:]
    assert "kills_landed_mid_push=1/1" in stdout, stdout[-6000:]
