"""bench/datasets.py keeps working: issue 16's figure (a partner's expense datasets pushed over
the API, then one sync over them) at a smoke size, as a subprocess, against PostgreSQL, Redis
(its own db: $BENCH_REDIS_DB, default 9) and real Celery workers. Two pushes (the API takes 500
items a push), so the sync spans datasets. It must exit 0 (the sync ended 2000 within the call
ceiling, nothing lost or doubled) and print its figures. About 20 seconds here."""

import re

from tests.bench.smoke import MARKS, assert_counted, run_benchmark

pytestmark = MARKS
FIGURES = re.compile(
    r"items=600 datasets=2 .*queries_per_item=[\d.]+ sync_status_code=2000 .*"
    r"calls=(\d+) min_calls=12 ceiling_calls=24 .*expected=600 synced=600"
)


def test_dataset_benchmark_syncs_two_pushes_in_batched_calls():
    stdout = run_benchmark("datasets", ["--items", "600"], timeout=180)
    assert_counted(stdout)
    (line,) = [line for line in stdout.splitlines() if line.startswith("RESULT 16 datasets:")]
    match = FIGURES.search(line)
    assert match, line
    assert int(match.group(1)) <= 24, line
