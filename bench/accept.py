"""Figure 5, accept time: how long until the answer when a user starts a bulk re-sync of N
documents from the documents list, and when a partner starts one through the API. The work itself
continues in the workers; here only the answer is timed.

    python -m bench.accept --documents 10000     # the issue's size
    python -m bench.accept --documents 200       # a smoke run

Page: the Django test client, signed in as the organisation's admin, posts "every document
matching the filter" (an empty filter: all of them) to the documents list's bulk re-sync endpoint
(synclog:bulk-resync, synclog/views/bulk.py), which answers with a redirect to the progress page.
It is posted twice: first when no document has a sync record yet, then again while the first
run's records are still waiting (a second click).

API: `POST /api/v1/syncs` with `{"document_ids": [...]}` and an API key of the organisation
(accounts.services.api_key_create), in requests of at most the API's limit of ids each.

Before the first timed request, one page view warms the process up (imports, templates), as a
running server is. No worker runs while the answers are timed (on this 2-core machine they would
only compete with the request for CPU). A selection above SYNC_PREPARE_IN_WORKER_OVER documents
is answered before its records are marked Pending: a worker does that (sync_run_prepare), and
the time until it has is printed too. Then workers drain the queues (unless --no-drain), and
the emulator must hold every document exactly once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.harness import (
    UNLIMITED_CONNECTION,
    Bench,
    add_common_arguments,
    census,
    fmt,
    log,
    pending_count,
    setup_org,
    wait_until,
)

GOAL_SECONDS = 1.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument(
        "--no-drain",
        dest="drain",
        action="store_false",
        help="do not push the accepted work afterwards (no lost/duplicated check)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile (cProfile) the first page request and print the top N entries",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def verdict(seconds: float) -> str:
    return f"goal<{GOAL_SECONDS}s {'met' if seconds < GOAL_SECONDS else 'MISSED'}"


def warm_up(setup) -> None:
    """One page view first, as a running server has served many: the first request of a
    process imports the views and compiles templates."""
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_HOST="localhost")
    client.force_login(setup.user)
    client.get(reverse("documents:list"))


def time_page(setup, label: str, profile: int = 0) -> tuple[float, list]:
    from django.test import Client
    from django.urls import reverse

    from synclog.models import SyncRun

    client = Client(HTTP_HOST="localhost")
    client.force_login(setup.user)
    before = set(SyncRun.objects.filter(org=setup.org).values_list("pk", flat=True))
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    response = client.post(
        reverse("synclog:bulk-resync"), {"select_all_matching": "on", "filter_query": ""}
    )
    seconds = time.perf_counter() - started
    if profiler:
        import pstats

        profiler.disable()
        print(f"--- profile of the page's bulk re-sync ({label}; timing inflated by profiling) ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(profile)
    if response.status_code != 302:
        raise RuntimeError(f"the page answered {response.status_code}, not a redirect")
    runs = list(SyncRun.objects.filter(org=setup.org).exclude(pk__in=before))
    total = sum(run.total for run in runs)
    Bench.result(
        f"5 accept page {label}",
        f"documents={len(setup.document_ids)} seconds={fmt(seconds, 3)} {verdict(seconds)} "
        f"status={response.status_code} runs={len(runs)} run_total={total}",
    )
    return seconds, runs


def time_api(setup) -> list:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("api:syncs")
        from accounts.services import api_key_create
        from api.serializers.syncs import MAX_IDS
    except (NoReverseMatch, ImportError) as error:
        print(f"RESULT 5 accept api: skipped: POST /api/v1/syncs is not there yet ({error})")
        return []
    key = api_key_create(org=setup.org, name="bench", actor=setup.user).plaintext
    client = Client(HTTP_HOST="localhost")
    ids = setup.document_ids
    times, ids_accepted, sync_ids = [], 0, []
    for start in range(0, len(ids), MAX_IDS):
        chunk = ids[start : start + MAX_IDS]
        started = time.perf_counter()
        response = client.post(
            url,
            data=json.dumps({"document_ids": chunk}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        times.append(time.perf_counter() - started)
        if response.status_code != 202:
            raise RuntimeError(f"the API answered {response.status_code}: {response.content[:500]}")
        ids_accepted += len(chunk)
        sync_ids.append(response.json()["id"])
    Bench.result(
        "5 accept api",
        f"documents={ids_accepted} requests={len(times)} (at most {MAX_IDS} ids each) "
        f"slowest_answer_seconds={fmt(max(times), 3)} total_seconds={fmt(sum(times), 3)} "
        f"{verdict(max(times))} status=202",
    )
    return sync_ids


def main(argv=None) -> int:
    args = parse_args(argv)
    ok = True
    with Bench("accept", args) as bench:
        from synclog.models import SyncRun

        emulator = bench.start_emulator()
        log(f"setting up 2 x {args.documents} bills")
        page_org = setup_org(
            emulator,
            name="Accept page",
            bills=args.documents,
            connection_limits=UNLIMITED_CONNECTION,
        )
        api_org = setup_org(
            emulator,
            name="Accept API",
            bills=args.documents,
            connection_limits=UNLIMITED_CONNECTION,
        )
        warm_up(page_org)
        time_page(page_org, "first", args.profile)
        time_page(page_org, "again-while-pending")
        time_api(api_org)
        if not args.drain:
            return 0
        started = time.perf_counter()
        bench.start_workers(args.workers, concurrency=args.concurrency)
        setups = [page_org, api_org]
        runs = SyncRun.objects.filter(org__in=[setup.org for setup in setups])
        # A large selection is marked Pending by a worker (sync_run_prepare) after the answer.
        wait_until(
            lambda: not runs.filter(selection__isnull=False).exists(),
            timeout=120 + args.documents * 0.01,
            interval=0.2,
            what="the workers to prepare the accepted runs",
        )
        Bench.result(
            "5 accept prepared",
            f"runs={runs.count()} seconds_until_every_record_marked_pending="
            f"{fmt(time.perf_counter() - started, 2)} (workers started, then prepared)",
        )
        wait_until(
            lambda: pending_count(setups) == 0 and not runs.filter(finished_at=None).exists(),
            timeout=120 + args.documents * 0.1,
            interval=0.5,
            what="the accepted work to be pushed",
        )
        state = emulator.state()
        for label, setup in (("page", page_org), ("api", api_org)):
            counts = census(state, setup)
            ok = ok and counts.ok
            unfinished = SyncRun.objects.filter(
                connection=setup.connection, finished_at__isnull=True
            ).count()
            bench.result(
                f"5 accept drained {label}",
                f"{counts.line()} runs_still_in_progress_after_drain={unfinished}",
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
