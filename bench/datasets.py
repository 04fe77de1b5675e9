"""Issue 16's figure: a partner's expense datasets, ingested over the API and synced in batches,
against the Xero emulator at Xero's real quota (60 calls a minute per tenant, 5 in flight).

    python -m bench.datasets --items 500     # one dataset (the API takes 500 items a push)
    python -m bench.datasets --items 5000    # ten datasets of 500, one sync over all of them

The run goes the partner's way, through the REST API with an organisation's API key (Django's
test client in this process, so the ingest figure is the service's own time, without a network):
`POST /api/v1/expense-datasets` (staged: held until a sync names them), then
`POST /api/v1/syncs {"dataset_ids": [...]}`, then `GET /api/v1/syncs/{id}` until its status is
2000 (every item pushed) or a failure code, while real Celery workers push the items.

Printed: ingest seconds per push and SQL queries per item (a bounded number: bulk creates), the
sync's ledger calls by entry type against the bound ceil(items / batch) (one create call per
batch of first pushes) and issue 16's ceiling 2 x ceil(items / batch), the seconds from the
sync's start to 2000, and the census of entries in the ledger (lost, duplicated).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from bench.harness import (
    Bench,
    add_common_arguments,
    add_quota_arguments,
    calls_by_type,
    census,
    fmt,
    log,
    quota_limits_without_a_day_limit,
    setup_org,
    wait_until,
)
from bench.quota import BATCH, best_finish_seconds

ITEMS_PER_PUSH = 500  # api.serializers.datasets.MAX_ITEMS
DONE = 2000


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500, help="expenses to push and sync")
    add_quota_arguments(parser, workers=1, concurrency=2)
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.items < 1:
        parser.error("--items must be at least 1")
    return args


def expense(number: int, category_id: int) -> dict:
    """One card-less expense (a bill, as before expense types), as a partner sends it."""
    return {
        "id": f"bench-{number:06d}",
        "issue_date": "2026-11-03",
        "currency": "USD",
        "merchant_name": f"Merchant {number % 40}",
        "category": category_id,
        "lines": [{"description": f"Expense {number}", "unit_amount": f"{10 + number % 90}.25"}],
    }


def push_datasets(api, items: int, category_id: int) -> tuple[list[str], list[float], int]:
    """(dataset ids, seconds per push, SQL queries of all pushes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ids, seconds, queries = [], [], 0
    for start in range(0, items, ITEMS_PER_PUSH):
        body = {
            "items": [
                expense(number, category_id)
                for number in range(start, min(items, start + ITEMS_PER_PUSH))
            ]
        }
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = api.post("/api/v1/expense-datasets", body, format="json")
            seconds.append(time.perf_counter() - began)
        if response.status_code != 201:
            raise RuntimeError(f"push answered {response.status_code}: {response.content[:500]}")
        queries += len(captured.captured_queries)
        ids.append(response.json()["id"])
    return ids, seconds, queries


def main(argv=None) -> int:
    args = parse_args(argv)
    quota, window = args.calls_per_window, args.window_seconds
    emulator_limits, connection_limits = quota_limits_without_a_day_limit(args)
    with Bench("datasets", args) as bench:
        from rest_framework.test import APIClient

        from accounts.services import api_key_create
        from documents.models import Category, Document

        emulator = bench.start_emulator(**emulator_limits)
        setup = setup_org(
            emulator,
            name="Partner expenses",
            bills=0,
            connection_limits=connection_limits,
            tenant_id=emulator.default_tenant_id(),
        )
        category = Category.objects.get(org=setup.org, code="429")
        api = APIClient(HTTP_HOST="localhost")
        key = api_key_create(org=setup.org, name="Bench partner", actor=None)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")

        log(f"pushing {args.items} expenses in datasets of up to {ITEMS_PER_PUSH}")
        dataset_ids, push_seconds, queries = push_datasets(api, args.items, category.pk)
        bench.start_workers(args.workers, concurrency=args.concurrency)
        calls_before = emulator.state()["calls"][setup.tenant_id]

        log(f"sync over {len(dataset_ids)} dataset(s)")
        started = time.time()
        response = api.post("/api/v1/syncs", {"dataset_ids": dataset_ids}, format="json")
        if response.status_code != 202:
            raise RuntimeError(f"POST /syncs answered {response.status_code}: {response.content}")
        sync_url = f"/api/v1/syncs/{response.json()['id']}"
        min_calls = math.ceil(args.items / BATCH)

        def finished() -> dict | None:
            sync = api.get(sync_url).json()
            return sync if sync["status_code"] != 1000 else None  # 1000: in progress

        sync = wait_until(
            finished,
            timeout=best_finish_seconds(2 * min_calls, quota, window) + 180,
            interval=0.2,
            what="the sync to end",
        )
        seconds = time.time() - started
        # The census counts the documents the datasets made (one per item).
        setup.document_ids = list(
            Document.objects.filter(org=setup.org).values_list("pk", flat=True)
        )
        state = emulator.state()
        counts = census(state, setup)
        calls = state["calls"][setup.tenant_id] - calls_before
        by_type = calls_by_type(state, setup.tenant_id, started)
        bench.result(
            "16 datasets",
            f"items={args.items} datasets={len(dataset_ids)} "
            f"ingest_seconds_per_push={','.join(fmt(s, 2) for s in push_seconds)} "
            f"ingest_seconds_per_push_max={fmt(max(push_seconds), 3)} "
            f"ingest_seconds_total={fmt(sum(push_seconds), 2)} "
            f"queries_per_item={fmt(queries / args.items, 3)} "
            f"sync_status_code={sync['status_code']} seconds_to_end={fmt(seconds)} "
            f"calls={calls} min_calls={min_calls} ceiling_calls={2 * min_calls} "
            f"best_finish_seconds={fmt(best_finish_seconds(min_calls, quota, window), 1)} "
            f"{by_type.line({'bill': args.items})} {counts.line()}",
        )
        ok = counts.ok and sync["status_code"] == DONE and calls <= 2 * min_calls
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
