"""bench/pages.py keeps working: page latency (figure 3) and the Excel export (figure 4) at a tiny
size, as a subprocess against PostgreSQL and Redis, must exit 0 and print a RESULT line per page
and one for the export. The figures themselves are not checked here (see bench/README.md)."""

import re

from tests.bench.smoke import MARKS, run_benchmark

pytestmark = MARKS
PAGE_LINE = re.compile(r"^RESULT 3 page latency: .+: p50 \d+ ms, p95 \d+ ms, \d+ queries", re.M)
EXPORT_LINE = re.compile(r"^RESULT 4 export: (\d+) rows in [\d.]+ s, peak memory \d+ MB", re.M)
SMOKE_RUN = [
    "--documents", "300", "--attempts", "3000", "--export-rows", "300", "--requests", "1",
    "--warmup", "0", "--hot-documents", "2", "--hot-attempts", "60", "--explain", "none",
]  # fmt: skip


def test_pages_benchmark_runs():
    stdout = run_benchmark("pages", SMOKE_RUN, timeout=180)
    assert len(PAGE_LINE.findall(stdout)) >= 10, f"too few page RESULT lines:\n{stdout[-6000:]}"
    # Approved after the load, through the triggers that keep the Not pushed set: the filter and
    # the connection page find them (the page's figures, not their counts, are what is printed).
    assert "2 approved bills not pushed yet" in stdout, stdout[-6000:]
    for page in ("documents list, sync status not pushed", "connection page"):
        assert f"RESULT 3 page latency: {page}" in stdout, f"no {page} line:\n{stdout[-6000:]}"
    export = EXPORT_LINE.search(stdout)
    assert export, f"no export RESULT line:\n{stdout[-6000:]}"
    assert int(export.group(1)) == 300, export.group(0)
