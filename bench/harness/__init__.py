"""The process harness that the benchmarks and the worker tests share, and the pieces of a
benchmark run: a throw-away PostgreSQL database, a Redis db of its own (9 by default), the ledger
emulator as a server process of its own, real Celery worker processes, data set up through the
product's services, and the counts that say whether anything was lost or doubled.

- `processes`: waits on conditions with deadlines, free ports, process groups (`Process`), Celery
  workers and their pool (`Worker`, `WorkerPool`), beat, a redis-server to crash (`RedisServer`).
  tests/synclog/worker_harness.py builds the worker tests' pools on it.
- `emulators`: the Xero, QuickBooks Online and MYOB emulators as processes, and their clients.
- `database`: the run's database, its backends' CPU, a PostgreSQL cluster to restart (`PgServer`).
- `organisations`: an organisation connected to the emulator and mapped, with approved bills.
- `census`: what the ledger holds against what it should, calls by entry type.
- `run`: `Bench`, one run, and the options every script shares; `printing`: what a run prints.

A benchmark is a script that runs

    with Bench("quota", args) as bench:      # fresh database, migrated; Redis db flushed
        emulator = bench.start_emulator()    # `python -m integrations.emulators.xero`
        org = bench.setup_org(emulator, ...)  # organisation, connection, mappings, bills
        bench.start_workers(2, concurrency=3)
        ...
        bench.result("1 quota", "...")       # `RESULT 1 quota: ...`

Everything started is stopped on the way out, also on Ctrl-C, SIGTERM or an exception: process
groups are killed, the database is dropped and the Redis db flushed. Nothing here sleeps a fixed
time hoping that something happened: waits poll a condition against a deadline.

Django is set up inside `Bench.__enter__`, once DATABASE_URL names the fresh database, so the
product's modules are imported lazily (inside functions) in this package. The scripts import
what they use from `bench.harness` itself (the names below).
"""

from bench.harness.census import (
    ENTRY_TYPE_OF_PATH,
    MYOB_PATH,
    QBO_PATH,
    REF_IN_URL,
    REQUEST_LOG_SIZE,
    CallsByType,
    Census,
    attempts_with_status,
    calls_by_type,
    census,
    failed_by_429,
    last_attempt_at,
    pending_count,
    runs_finished,
    tenant_invoices,
)
from bench.harness.database import (
    BENCH_APPLICATION_NAME,
    PgBackendCpu,
    PgServer,
    binaries_available,
    create_database,
    database_url,
    drop_database,
)
from bench.harness.emulators import (
    EMULATORS,
    Emulator,
    MyobEmulator,
    QboEmulator,
    add_ledger_argument,
    launch_emulator,
)
from bench.harness.organisations import (
    BILL_DUE,
    BILL_ISSUED,
    SEEDED_MAPPINGS,
    UNLIMITED_CONNECTION,
    UNLIMITED_EMULATOR,
    OrgSetup,
    bill_via_services,
    engine_limits,
    make_bills,
    quota_limits_without_a_day_limit,
    setup_org,
)
from bench.harness.printing import dumps, fmt, log, result
from bench.harness.processes import (
    CLOCK_TICKS,
    QUEUES,
    ROOT,
    START_DEADLINE,
    STOP_DEADLINE,
    Beat,
    Process,
    RedisServer,
    WaitTimedOut,
    Worker,
    WorkerPool,
    broker_for_this_process,
    free_port,
    pid_alive,
    pids_matching,
    port_is_open,
    proc_cpu_seconds,
    purge_queues,
    raise_interrupt,
    wait_for_moment,
    wait_port_closed,
    wait_until,
)
from bench.harness.run import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    EXIT_BUSY,
    FAST_SYNC,
    LOCK_KEY,
    LOCK_SECONDS,
    Bench,
    add_common_arguments,
    add_quota_arguments,
)

__all__ = [
    "SEEDED_MAPPINGS",
    "BENCH_APPLICATION_NAME",
    "BILL_DUE",
    "BILL_ISSUED",
    "CLOCK_TICKS",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_REDIS_URL",
    "EMULATORS",
    "ENTRY_TYPE_OF_PATH",
    "EXIT_BUSY",
    "FAST_SYNC",
    "LOCK_KEY",
    "LOCK_SECONDS",
    "MYOB_PATH",
    "QBO_PATH",
    "QUEUES",
    "REF_IN_URL",
    "REQUEST_LOG_SIZE",
    "ROOT",
    "START_DEADLINE",
    "STOP_DEADLINE",
    "UNLIMITED_CONNECTION",
    "UNLIMITED_EMULATOR",
    "Beat",
    "Bench",
    "CallsByType",
    "Census",
    "Emulator",
    "MyobEmulator",
    "OrgSetup",
    "PgBackendCpu",
    "PgServer",
    "Process",
    "QboEmulator",
    "RedisServer",
    "WaitTimedOut",
    "Worker",
    "WorkerPool",
    "add_common_arguments",
    "add_quota_arguments",
    "add_ledger_argument",
    "attempts_with_status",
    "bill_via_services",
    "broker_for_this_process",
    "binaries_available",
    "calls_by_type",
    "census",
    "create_database",
    "database_url",
    "drop_database",
    "dumps",
    "engine_limits",
    "quota_limits_without_a_day_limit",
    "failed_by_429",
    "fmt",
    "free_port",
    "last_attempt_at",
    "launch_emulator",
    "log",
    "make_bills",
    "pending_count",
    "pid_alive",
    "pids_matching",
    "port_is_open",
    "proc_cpu_seconds",
    "purge_queues",
    "raise_interrupt",
    "result",
    "runs_finished",
    "setup_org",
    "tenant_invoices",
    "wait_for_moment",
    "wait_port_closed",
    "wait_until",
]
