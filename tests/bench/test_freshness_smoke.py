"""bench/freshness/ keeps working: a tiny run (6 changes, a bulk re-sync of 50 bills, one worker)
as a subprocess against PostgreSQL, Redis and real Celery workers with the production coalescing
delay; it must exit 0, print its RESULT lines, apply every change and count nothing lost or
doubled. The figures are not checked here (see bench/README.md). About 35 seconds."""

import re

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS
NOT_APPLIED = re.compile(r"not_applied=(\d+)")
SMOKE_RUN = [
    "--changes", "6", "--gap", "0.2,0.5", "--bulk-bills", "50", "--background-bills", "5",
    "--background-every", "2", "--workers", "1", "--concurrency", "2", "--timeout", "60",
]  # fmt: skip


def test_freshness_runs_and_loses_nothing():
    stdout = run_benchmark("freshness", SMOKE_RUN, timeout=180)
    assert re.search(r"^RESULT 6 freshness:", stdout, re.M), stdout[-6000:]
    assert NOT_APPLIED.findall(stdout) == ["0"], f"a change never arrived:\n{stdout[-6000:]}"
    assert_counted(stdout)
