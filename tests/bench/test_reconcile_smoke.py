"""bench/reconcile.py keeps working: the reconcile's calls and time (figure 10) and the pages of
drifted records at a tiny size, as a subprocess against PostgreSQL and Redis, must exit 0 (every
edited bill found drifted, no other) and print its RESULT lines. The figures themselves are not
checked here (see bench/README.md)."""

import re

from tests.bench.smoke import MARKS, run_benchmark

pytestmark = MARKS
RECONCILE_LINE = re.compile(
    r"^RESULT 10 reconcile (first|edits|steady): bills=40 calls=\d+ emulator_gets=\d+ "
    r"read=(\d+) drifted=(\d+) seconds=[\d.]+ queries=\d+",
    re.M,
)
PAGE_LINE = re.compile(r"^RESULT 10 page [\w-]+: p50_ms=[\d.]+ p95_ms=[\d.]+ queries=\d+", re.M)


def test_reconcile_benchmark_runs():
    stdout = run_benchmark(
        "reconcile", ["--bills", "40", "--drifted", "5", "--requests", "1", "--warmup", "0"]
    )
    found = {
        label: (int(read), int(drifted)) for label, read, drifted in RECONCILE_LINE.findall(stdout)
    }
    assert found["first"] == (40, 0), stdout[-4000:]
    assert found["edits"] == (5, 5), stdout[-4000:]
    assert found["steady"][1] == 0, stdout[-4000:]
    assert "found_drifted=5 missed=0 wrongly_found=0 ok" in stdout
    assert len(PAGE_LINE.findall(stdout)) == 5, stdout[-4000:]
