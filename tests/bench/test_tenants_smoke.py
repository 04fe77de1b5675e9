"""bench/tenants.py keeps working: figure 7 (many organisations, each with its own emulator
tenant and quota, bulk re-syncs started at once) at a tiny size, as a subprocess, against
PostgreSQL, Redis (its own db: $BENCH_REDIS_DB, default 9) and real Celery workers. It must exit
0, print its RESULT lines, and every organisation must finish with nothing lost or doubled. The
figures themselves are not checked (see bench/README.md). 20-40 seconds here."""

import re

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS
FINISHED = re.compile(r"orgs=(\d+) finished=(\d+) not_finished=(\d+)")
ORGS = 5
SMOKE_RUN = [
    "--orgs", str(ORGS), "--bills", "10", "--latency-ms", "20", "--workers", "1",
    "--concurrency", "2", "--timeout", "60",
]  # fmt: skip


def test_tenants_benchmark_runs_and_every_organisation_finishes():
    stdout = run_benchmark("tenants", SMOKE_RUN, timeout=120)
    assert re.search(r"^RESULT 7 tenants fairness:", stdout, re.M), stdout[-6000:]
    assert_counted(stdout)
    assert FINISHED.findall(stdout) == [(str(ORGS), str(ORGS), "0")], stdout[-6000:]
