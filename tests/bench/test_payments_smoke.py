"""bench/payments.py keeps working: figure 1b (a bulk re-sync of the demo's 90 paid bills, 1-3
payments each, at Xero's real quota) as a subprocess, against PostgreSQL, Redis (its own db:
$BENCH_REDIS_DB, default 9) and real Celery workers. It must exit 0, print its RESULT lines
with the calls by entry type, and hold every bill and payment in the ledger once. The figures
themselves are not checked here (see bench/README.md). About 20 seconds here."""

import re

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS
PAYMENTS = re.compile(
    r"payments=(\d+) .*calls_payment=\d+\(PUT:\d+\) calls_per_payment=[\d.]+ .*"
    r"payments_expected=(\d+) payments_held=(\d+) payments_lost=(\d+) payments_duplicated=(\d+)"
)


def test_paid_bills_benchmark_pushes_every_bill_and_payment_once():
    stdout = run_benchmark(
        "payments", ["--bills", "90", "--workers", "1", "--concurrency", "2"], timeout=120
    )
    assert_counted(stdout)
    (line,) = [line for line in stdout.splitlines() if line.startswith("RESULT 1b paid bills:")]
    assert "calls_bill=" in line and "calls_per_bill=" in line, line
    payments, expected, held, lost, duplicated = PAYMENTS.search(line).groups()
    # Bill i is paid in 1 + i % 3 payments: 30 x (1 + 2 + 3).
    assert payments == expected == held == "180", line
    assert (lost, duplicated) == ("0", "0"), line
    assert re.search(r"^RESULT 1b demo: 90 paid bills \+ 180 payments in [\d.]+ s", stdout, re.M)
