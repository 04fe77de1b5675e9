"""bench/tenants.py keeps working on MYOB (`--ledger myob`, issue 15's fairness figure) at a tiny
size, as a subprocess, against PostgreSQL, Redis and real Celery workers: every organisation has
a company file of its own in one MYOB emulator, so they share one API key and its 8 calls a
second. It must exit 0, print the fairness line of the shared key and its census, and every
organisation must finish with nothing lost or doubled. The figures themselves are not checked
(see bench/README.md)."""

import re

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS
FINISHED = re.compile(r"orgs=(\d+) finished=(\d+) not_finished=(\d+)")
ORGS = 3
SMOKE_RUN = [
    "--ledger", "myob", "--orgs", str(ORGS), "--bills", "4", "--latency-ms", "20",
    "--workers", "1", "--concurrency", "2", "--timeout", "60",
]  # fmt: skip


def test_tenants_benchmark_on_one_myob_key_runs_and_every_organisation_finishes():
    stdout = run_benchmark("tenants", SMOKE_RUN, timeout=120)
    assert re.search(
        r"^RESULT 7 tenants fairness of the key: app_quota worst_ratio_to_fair_share_of_key=",
        stdout,
        re.M,
    ), stdout[-6000:]
    assert "key_quota_bills_per_s=8 " in stdout, stdout[-6000:]
    assert_counted(stdout)
    assert FINISHED.findall(stdout) == [(str(ORGS), str(ORGS), "0")], stdout[-6000:]
