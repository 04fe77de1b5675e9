"""Shared pieces of the benchmarks: a throw-away PostgreSQL database, a Redis db of its own (9 by
default), the Xero emulator as a server process of its own, real Celery worker processes, data set
up through the product's services, and the counts that say whether anything was lost or doubled.

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
product's modules are imported lazily (inside functions) in this file.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
QUEUES = ("interactive", "sync", "bulk")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The bench process's own database sessions carry this name, so that the CPU of PostgreSQL
# backends serving the workers (the service) can be told from the bench's own polling.
BENCH_APPLICATION_NAME = "ledgersync-bench"
# Short engine timings for the worker processes, so that backoff, leases and the sweep act in
# seconds. Scripts override what they measure (see each script).
FAST_SYNC = {
    "SYNC_COALESCE_SECONDS": "0.2",
    "SYNC_BACKOFF_BASE_SECONDS": "0.2",
    "SYNC_BACKOFF_CAP_SECONDS": "2",
    "SYNC_BILL_FIRST_DELAY_SECONDS": "0.5",
    "SYNC_LEASE_SECONDS": "30",
    "SYNC_SWEEP_AFTER_SECONDS": "60",
    "SYNC_SWEEP_INTERVAL_SECONDS": "30",
}
REF_IN_URL = re.compile(r"[?&]ref=([^&#]+)")
START_DEADLINE = 60.0
LOCK_KEY = "ledgersync-bench:owner"
LOCK_SECONDS = 6 * 3600
EXIT_BUSY = 75  # EX_TEMPFAIL: another run holds our Redis db
STOP_DEADLINE = 15.0

_started = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _started:7.1f}s] {message}", flush=True)


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str | Callable[[], str] = "",
):
    """Poll until `predicate` returns something truthy (returned), or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {described}")
        time.sleep(interval)


def wait_for_moment(moment: float, *, what: str) -> None:
    """Let time pass until time.monotonic() reaches `moment`: the end of an outage, of a rate
    window, the next kill (the waits on the clock rather than on a condition)."""
    wait_until(
        lambda: time.monotonic() >= moment,
        timeout=max(0.0, moment - time.monotonic()) + 1,
        interval=0.05,
        what=what,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL server to use (its database name is ignored: each run creates "
        "ledgersync_bench_<pid> and drops it at the end)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis server; only db --redis-db is used and flushed (whatever db the URL names)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=int(os.environ.get("BENCH_REDIS_DB", "9")),
        help="the Redis db this run owns (default 9, or $BENCH_REDIS_DB): two runs on one "
        "server at once need different dbs",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the workers' and emulator's logs"
    )


def _database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"the benchmarks need PostgreSQL; DATABASE_URL is {server_url!r}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def _fernet_key(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()


# --- processes ---------------------------------------------------------------------------------


class Process:
    """A child in a process group of its own: signals reach all it starts, never the bench."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None

    def launch(self) -> Process:
        with self.log_path.open("ab") as out:
            out.write(f"\n=== {' '.join(self.command)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def group_pids(self) -> list[int]:
        """Every live process of the group (the main one, pool children, what they started)."""
        if self.popen is None:
            return []
        return [pid for pid, pgid in _process_groups() if pgid == self.popen.pid]

    def signal_group(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """A crash: SIGKILL to the whole group, then wait until no process of it is left."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=STOP_DEADLINE)
        wait_until(
            lambda: not self.group_pids(),
            timeout=STOP_DEADLINE,
            interval=0.05,
            what=f"the processes of {self.name} to end",
        )

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL whatever is left after a deadline."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=STOP_DEADLINE)
        self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def cpu_seconds(self) -> float:
        """User + system CPU of the group's live processes and of the children they reaped."""
        return sum(proc_cpu_seconds(pid, children=True) for pid in self.group_pids())


def _process_groups() -> list[tuple[int, int]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read_stat(int(entry))
        if stat is not None and stat[0] != "Z":
            found.append((int(entry), int(stat[2])))
    return found


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3, state, is index 0)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rfind(")") + 2 :].split()


def proc_cpu_seconds(pid: int, *, children: bool = False) -> float:
    stat = _read_stat(pid)
    if stat is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 (indexes 11-14 after the name).
    ticks = int(stat[11]) + int(stat[12])
    if children:
        ticks += int(stat[13]) + int(stat[14])
    return ticks / CLOCK_TICKS


class Worker(Process):
    def __init__(self, *, name: str, env: dict, log_path: Path, concurrency: int, loglevel: str):
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "syncsvc",
            "worker",
            "-Q",
            ",".join(QUEUES),
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        ]
        # Celery logs through settings.LOGGING (django-guid's Celery integration): its level.
        super().__init__(name, command, env={**env, "LOG_LEVEL": loglevel}, log_path=log_path)
        self.concurrency = concurrency
        self.loglevel = loglevel

    def answers_ping(self) -> bool:
        from kombu import Connection

        from syncsvc.celery import app

        if not self.alive:
            raise RuntimeError(f"worker {self.name} exited:\n{self.log_tail()}")
        # The worker's own broker (the Redis drill gives its workers another one).
        with Connection(self.env["CELERY_BROKER_URL"], connect_timeout=2) as conn:
            replies = app.control.ping(destination=[self.name], timeout=0.5, connection=conn)
        return any(self.name in reply for reply in replies)

    def wait_ready(self) -> Worker:
        wait_until(self.answers_ping, timeout=START_DEADLINE, interval=0.2, what=self.name)
        return self


class Emulator:
    """The Xero emulator as a server process, driven through its control API."""

    ledger = "xero"
    module = "integrations.emulators.xero"

    def __init__(self, process: Process, url: str) -> None:
        self.process = process
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.http.request(method, f"/_emulator{path}", json=body)
        response.raise_for_status()
        return response.json()

    def set_rate_limits(self, **limits) -> dict:
        return self.control("POST", "/rate-limits", limits)

    def set_faults(self, **faults) -> dict:
        return self.control("POST", "/faults", faults)

    def clear_faults(self) -> dict:
        return self.control("DELETE", "/faults")

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/tenants", {"name": name})["tenantId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"tenant_ids": [tenant_id]})

    def state(self) -> dict:
        return self.control("GET", "/state")

    def default_tenant_id(self) -> str:
        return self.state()["tenants"][0]["tenantId"]

    def close(self) -> None:
        self.http.close()


class QboEmulator(Emulator):
    """The QuickBooks Online emulator as a server process, in the harness's words: a realm is a
    tenant, and `state()` adds the Xero-shaped keys the scripts read (`calls` and `tenants` by
    tenant id, each tenant's bills as `invoices` with our reference in `Url`, `tenantId` on
    every logged request), beside QBO's own `realms`."""

    ledger = "qbo"
    module = "integrations.emulators.qbo"
    # Intuit's throttles per realm and app (the emulator's defaults): 500 calls a minute, 10 a
    # second, 40 batch requests a minute. Its windows are Intuit's minute and second, unscaled.
    INTUIT_THROTTLES = {
        "calls_per_minute": 500,
        "calls_per_second": 10,
        "batch_calls_per_minute": 40,
    }
    UNLIMITED_THROTTLES = {
        "calls_per_minute": 10**7,
        "calls_per_second": 10**6,
        "batch_calls_per_minute": 10**7,
    }

    def set_rate_limits(self, **limits) -> dict:
        """Xero's limit names (calls_per_window, ...) mean "lift the throttles": the scripts pass
        them for runs that are not about quota. QBO's own names set its throttles."""
        if set(limits) - set(self.INTUIT_THROTTLES):
            limits = self.UNLIMITED_THROTTLES
        return self.control("POST", "/throttles", limits)

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/realms", {"name": name})["realmId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"realm_id": tenant_id})

    def default_tenant_id(self) -> str:
        return self.control("GET", "/state")["realms"][0]["realmId"]

    def state(self) -> dict:
        state = self.control("GET", "/state")
        state["calls"] = {realm["realmId"]: realm["calls"] for realm in state["realms"]}
        state["tenants"] = [
            {
                "tenantId": realm["realmId"],
                "refusedCalls": realm["refusedCalls"],
                # A deleted bill is no longer listed: every one here is live.
                "invoices": [
                    {"Url": bill.get("PrivateNote", ""), "Status": "AUTHORISED"}
                    for bill in realm["entities"]["Bill"]
                ],
            }
            for realm in state["realms"]
        ]
        for request in state["requests"]:
            request["tenantId"] = request.get("realmId", "")
            request["idempotencyKey"] = request.get("requestid")
        return state


class MyobEmulator(Emulator):
    """The MYOB emulator as a server process, in the harness's words: a company file is a
    tenant, and `state()` adds the Xero-shaped keys the scripts read (`calls` and `tenants` by
    tenant id, each company file's bills as `invoices` with our reference in `Url`, `tenantId`
    on every logged request). MYOB's limits are the API key's, every company file together."""

    ledger = "myob"
    module = "integrations.emulators.myob"
    # MYOB's limits per API key (the emulator's defaults): 8 calls a second, 1,000,000 a day.
    MYOB_LIMITS = {"calls_per_second": 8, "calls_per_day": 1_000_000}
    UNLIMITED_LIMITS = {"calls_per_second": 10**6, "calls_per_day": 10**9}

    def set_rate_limits(self, **limits) -> dict:
        """Xero's limit names mean "lift the limits" (runs that are not about quota); MYOB's own
        names set them."""
        if set(limits) - set(self.MYOB_LIMITS):
            limits = self.UNLIMITED_LIMITS
        return self.control("POST", "/limits", limits)

    def add_tenant(self, name: str) -> str:
        return self.control("POST", "/company-files", {"name": name})["businessId"]

    def connect(self, tenant_id: str) -> dict:
        return self.control("POST", "/connect", {"business_id": tenant_id})

    def default_tenant_id(self) -> str:
        return self.control("GET", "/state")["companyFiles"][0]["businessId"]

    def state(self) -> dict:
        state = self.control("GET", "/state")
        usage = state["limits"]
        state["calls"] = dict(usage["accepted"])
        state["tenants"] = [
            {
                "tenantId": company["businessId"],
                "refusedCalls": usage["refused"].get(company["businessId"], 0),
                # A deleted bill is no longer listed: every one here is live.
                "invoices": [
                    {"Url": bill.get("JournalMemo") or "", "Status": "AUTHORISED"}
                    for bill in company["records"]["Purchase/Bill/Service"]
                ],
            }
            for company in state["companyFiles"]
        ]
        for request in state["requests"]:
            request["tenantId"] = request.get("businessId", "")
            request["idempotencyKey"] = None  # MYOB takes none
        return state


EMULATORS = {emulator.ledger: emulator for emulator in (Emulator, QboEmulator, MyobEmulator)}


def add_ledger_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        choices=sorted(EMULATORS),
        default="xero",
        help="the ledger whose emulator the run pushes to (default xero)",
    )


class RedisServer(Process):
    """A redis-server of our own (no persistence) on a free port, for the Redis outage drill."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ]
        log_path = tmp / f"redis-{self.port}.log"
        super().__init__(f"redis-{self.port}", command, env=dict(os.environ), log_path=log_path)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/9"

    def start(self) -> RedisServer:
        self.launch()
        import redis

        def answers() -> bool:
            if not self.alive:
                raise RuntimeError(f"redis-server exited:\n{self.log_tail()}")
            try:
                return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20, interval=0.05, what=f"redis-server on {self.port}")
        return self

    def crash(self) -> None:
        self.kill()
        wait_until(lambda: not port_is_open(self.port), timeout=10, interval=0.05, what="port")


# --- data ----------------------------------------------------------------------------------------


@dataclass
class OrgSetup:
    org: object
    user: object
    connection: object
    tenant_id: str
    document_ids: list[int] = field(default_factory=list)
    ledger: str = "xero"

    @property
    def references(self) -> set[str]:
        from documents.models import Document
        from integrations.payloads import document_reference

        return {document_reference(Document(pk=pk, org_id=self.org.pk)) for pk in self.document_ids}


def engine_limits(calls_per_window: int, window_seconds: float, max_concurrent: int, per_day: int):
    """The same limits in the emulator's words and in the connection's (synclog.ratelimit)."""
    emulator = {
        "calls_per_window": calls_per_window,
        "window_seconds": window_seconds,
        "max_concurrent": max_concurrent,
        "calls_per_day": per_day,
    }
    connection = {
        "per_window": calls_per_window,
        "window_seconds": window_seconds,
        "max_concurrent": max_concurrent,
        "per_day": per_day,
    }
    return emulator, connection


UNLIMITED_EMULATOR, UNLIMITED_CONNECTION = engine_limits(10**7, 60, 10_000, 10**9)


BILL_ISSUED, BILL_DUE = datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)


def bill_via_services(org, *, contact, category, actor, number: str, amount: Decimal):
    """A one-line bill created and submitted through documents.services (awaiting approval)."""
    from documents import services as document_services

    document = document_services.document_create(
        org=org,
        actor=actor,
        number=number,
        contact=contact,
        issue_date=BILL_ISSUED,
        due_date=BILL_DUE,
        currency="USD",
        total=amount,
        category=category,
        lines=[{"description": "Services", "quantity": Decimal(1), "unit_amount": amount}],
    )
    document_services.document_submit(document=document, actor=actor)
    return document


def make_bills(org, *, contact, category, actor, count: int, via_services: int) -> list[int]:
    """Approved bills. The first `via_services` go through documents.services (create, submit,
    approve: the product's checks); the rest are bulk_create'd already approved, with one line
    each, because the benchmarks measure syncing, not approval. Made before the organisation has
    a connection, so approval enqueues nothing."""
    from django.db import transaction
    from django.utils import timezone

    from documents import services as document_services
    from documents.models import Document, DocumentKind, DocumentLine, DocumentStatus

    issue, due = BILL_ISSUED, BILL_DUE
    ids = []
    for index in range(min(count, via_services)):
        document = bill_via_services(
            org,
            contact=contact,
            category=category,
            actor=actor,
            number=f"S{org.pk}-{index:06d}",
            amount=Decimal(100 + index % 900),
        )
        document_services.document_approve(document=document, actor=actor)
        ids.append(document.pk)
    now = timezone.now()
    remaining = range(min(count, via_services), count)
    for start in range(remaining.start, remaining.stop, 2000):
        chunk = range(start, min(start + 2000, remaining.stop))
        with transaction.atomic():
            documents = Document.objects.bulk_create(
                Document(
                    org=org,
                    kind=DocumentKind.BILL,
                    number=f"B{org.pk}-{index:06d}",
                    contact=contact,
                    issue_date=issue,
                    due_date=due,
                    currency="USD",
                    total=Decimal(100 + index % 900),
                    category=category,
                    status=DocumentStatus.APPROVED,
                    created_by=actor,
                    approved_by=actor,
                    approved_at=now,
                )
                for index in chunk
            )
            DocumentLine.objects.bulk_create(
                DocumentLine(
                    document=document,
                    position=0,
                    description="Services",
                    quantity=Decimal(1),
                    unit_amount=document.total,
                    amount=document.total,
                )
                for document in documents
            )
        ids += [document.pk for document in documents]
    return ids


def setup_org(
    emulator: Emulator,
    *,
    name: str,
    bills: int,
    connection_limits: dict,
    tenant_id: str | None = None,
    via_services: int = 20,
    before_connect: Callable | None = None,
) -> OrgSetup:
    """An organisation with an admin, a category (account 429), a vendor, `bills` approved
    bills, and a connection to its own tenant of the emulator's ledger with mapped accounts (on
    QuickBooks the category to Office Supplies and the vendor to a QuickBooks vendor: it takes
    none by name). `connection_limits` None: the ledger's own quota, as its connector declares
    it. `before_connect(org, user, document_ids)` runs before the connection exists (what it
    does, e.g. recording payments, enqueues no push)."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership, Organization, Role
    from documents import services as document_services
    from integrations import services as integration_services
    from integrations.connectors.base import OAuthCredentials
    from integrations.models import Connection, Provider
    from synclog.ratelimit import get_rate_limiter
    from synclog.services import connection_quota_key

    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())[:60] + f"-{uuid.uuid4().hex[:6]}"
    org = Organization.objects.create(name=name, slug=slug, currency="USD")
    user = get_user_model().objects.create_user(username=f"admin-{slug}", password=uuid.uuid4().hex)
    Membership.objects.create(user=user, org=org, role=Role.ADMIN, can_export=True)
    category = document_services.category_create(org=org, name="Office", code="429")
    contact = document_services.contact_create(org=org, name=f"Supplier of {name}")
    document_ids = make_bills(
        org, contact=contact, category=category, actor=user, count=bills, via_services=via_services
    )
    if before_connect is not None:
        before_connect(org, user, document_ids)
    tenant_id = tenant_id or emulator.add_tenant(name)
    token = emulator.connect(tenant_id)
    qbo, on_myob = emulator.ledger == "qbo", emulator.ledger == "myob"
    provider = Provider.QUICKBOOKS if qbo else Provider.MYOB if on_myob else Provider.XERO
    connection = Connection.objects.create(
        org=org,
        provider=provider,
        name=f"{provider.label} {name}",
        base_url=integration_services.base_url_validate(emulator.url),
        tenant_id=tenant_id,
        tenant_name=name,
        settings={"payment_account_code": "090"}
        | ({"rate_limits": connection_limits} if connection_limits else {}),
    )
    credentials = OAuthCredentials(
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        expires_at=datetime.datetime.now(datetime.UTC)
        + datetime.timedelta(seconds=int(token["expires_in"])),  # MYOB's is a string
        scope=token.get("scope", ""),
    )
    integration_services.connection_credentials_save(connection=connection, credentials=credentials)
    if emulator.ledger in ADMIN_MAPPINGS:
        _map_as_an_admin(connection, ledger=emulator.ledger, category=category, contact=contact)
    else:
        accounts = integration_services.connector_for(connection).list_accounts()
        integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)
    # Setting up cost calls (the ledger's lists): start every run with a clean quota (an
    # app-scoped ledger's, MYOB's, is every organisation's).
    get_rate_limiter().reset(connection_quota_key(connection=connection))
    return OrgSetup(
        org=org,
        user=user,
        connection=connection,
        tenant_id=tenant_id,
        document_ids=document_ids,
        ledger=emulator.ledger,
    )


# What the admin maps on the page for a ledger that takes no vendor by name, in its emulator's
# seeded company: how its accounts are named on the page (by name or by code), the category's
# account, the vendor (a QuickBooks vendor, a MYOB supplier card) and the account bills are paid
# from.
ADMIN_MAPPINGS = {
    "qbo": ("name", "Office Supplies", "Office Supplies Ltd", "Checking"),
    "myob": ("code", "6-1100", "Acme Supplies", "1-1110"),
}


def _map_as_an_admin(connection, *, ledger: str, category, contact) -> None:
    from integrations import services as integration_services
    from integrations.models import MappingKind

    key, account_name, vendor_name, bank_name = ADMIN_MAPPINGS[ledger]
    connector = integration_services.connector_for(connection)
    try:
        accounts = {getattr(account, key): account for account in connector.list_accounts()}
        [vendor] = [v for v in connector.list_contacts() if v.name == vendor_name]
    finally:
        connector.close()
    account = accounts[account_name]
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=category.pk,
        external_id=account.external_id,
        external_name=account.name,
        extra=integration_services.account_mapping_extra(account),
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.CONTACT,
        local_id=contact.pk,
        external_id=vendor.external_id,
        external_name=vendor.name,
    )
    integration_services.connection_settings_update(
        connection=connection, payment_account_code=accounts[bank_name].code
    )


# --- counts --------------------------------------------------------------------------------------


@dataclass
class Census:
    expected: int
    synced: int
    lost: int
    duplicated: int
    unexpected: int
    failed_records: int = 0
    records_without_attempt: int = 0
    attempts: int = 0
    records: int = 0

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0

    def line(self) -> str:
        return (
            f"expected={self.expected} synced={self.synced} lost={self.lost} "
            f"duplicated={self.duplicated} unexpected={self.unexpected} "
            f"failed_records={self.failed_records} attempts={self.attempts} "
            f"records={self.records} records_without_attempt={self.records_without_attempt}"
        )


def tenant_invoices(state: dict, tenant_id: str) -> list[dict]:
    for tenant in state["tenants"]:
        if tenant["tenantId"] == tenant_id:
            return tenant["invoices"]
    raise KeyError(tenant_id)


def census(state: dict, setup: OrgSetup) -> Census:
    """What the emulator holds for the organisation's tenant against what it should hold, by our
    reference; and whether every record has its attempts logged."""
    from synclog.models import RecordStatus, SyncAttempt, SyncRecord

    expected = setup.references
    held = Counter()
    for invoice in tenant_invoices(state, setup.tenant_id):
        if invoice.get("Status") in ("DELETED", "VOIDED"):
            continue
        match = REF_IN_URL.search(invoice.get("Url") or "")
        held[match.group(1) if match else ""] += 1
    records = SyncRecord.objects.filter(connection=setup.connection)
    attempts = SyncAttempt.objects.filter(record__connection=setup.connection).count()
    return Census(
        expected=len(expected),
        synced=sum(1 for ref in expected if held[ref]),
        lost=sum(1 for ref in expected if not held[ref]),
        duplicated=sum(held[ref] - 1 for ref in expected if held[ref] > 1),
        unexpected=sum(count for ref, count in held.items() if ref not in expected),
        failed_records=records.filter(status=RecordStatus.FAILED).count(),
        records_without_attempt=records.filter(attempts__isnull=True).count(),
        attempts=attempts,
        records=records.count(),
    )


def failed_by_429(setup: OrgSetup) -> int:
    """Records that ended Failed with a 429 as their last attempt's answer (retries are fine)."""
    from synclog.models import RecordStatus, SyncAttempt, SyncRecord

    failed = list(
        SyncRecord.objects.filter(
            connection=setup.connection, status=RecordStatus.FAILED
        ).values_list("pk", flat=True)
    )
    count = 0
    for record_id in failed:
        last = SyncAttempt.objects.filter(record_id=record_id).order_by("-finished_at").first()
        count += bool(last and last.http_status == 429)
    return count


def attempts_with_status(setup: OrgSetup, http_status: int) -> int:
    from synclog.models import SyncAttempt

    return SyncAttempt.objects.filter(
        record__connection=setup.connection, http_status=http_status
    ).count()


def pending_count(setups: Iterable[OrgSetup]) -> int:
    """Work left: Pending records, plus the documents of runs a worker has yet to prepare (a
    bulk re-sync of more than SYNC_PREPARE_IN_WORKER_OVER documents is answered before its
    records are marked Pending)."""
    from synclog.models import RecordStatus, SyncRecord, SyncRun

    connections = [s.connection for s in setups]
    pending = SyncRecord.objects.filter(
        connection__in=connections, status=RecordStatus.PENDING
    ).count()
    preparing = SyncRun.objects.filter(connection__in=connections, selection__isnull=False)
    return pending + sum(
        len(selection) for selection in preparing.values_list("selection", flat=True)
    )


REQUEST_LOG_SIZE = 1000  # the emulators keep their last 1,000 calls
ENTRY_TYPE_OF_PATH = {
    "Invoices": "bill",
    "Payments": "payment",
    "BankTransactions": "spend",
    # QuickBooks Online (/v3/company/{realm}/...): a batch holds entries of one type.
    "bill": "bill",
    "billpayment": "payment",
    "purchase": "spend",
    # MYOB (/accountright/{company file}/...): one entry per call.
    "Purchase/Bill/Service": "bill",
    "Purchase/SupplierPayment": "payment",
    "Banking/SpendMoneyTxn": "spend",
}
QBO_PATH = re.compile(r"^/v3/company/[^/]+/([^/?]+)")
MYOB_PATH = re.compile(r"^/accountright/[^/]+/(.+?)(?:/[0-9a-fA-F-]{36})?(?:/Attachment)?$")


@dataclass
class CallsByType:
    """A tenant's admitted Accounting API calls since a moment, from the emulator's request log
    (`state()["requests"]`): {entry type: {method: calls}}."""

    calls: dict[str, Counter]
    complete: bool  # False: the log had already dropped calls of the run

    def total(self, entry_type: str) -> int:
        return sum(self.calls.get(entry_type, Counter()).values())

    def line(self, documents: dict[str, int]) -> str:
        """`calls_bill=2(PUT:2) calls_per_bill=0.020 ...`; `documents`: {entry type: count}."""
        parts = []
        for entry_type in sorted(set(self.calls) | set(documents)):
            methods = self.calls.get(entry_type, Counter())
            count = documents.get(entry_type, 0)
            per = fmt(self.total(entry_type) / count, 3) if count else "-"
            detail = ",".join(f"{m}:{n}" for m, n in sorted(methods.items())) or "none"
            parts.append(
                f"calls_{entry_type}={self.total(entry_type)}({detail}) "
                f"calls_per_{entry_type}={per}"
            )
        if not self.complete:
            parts.append("(request log overflowed: counts are of its last 1,000 calls)")
        return " ".join(parts)


def calls_by_type(state: dict, tenant_id: str, since: float) -> CallsByType:
    """Calls the ledger admitted (not 429, not injected timeouts) for the tenant at or after
    `since` (epoch seconds), by the entry type of their path and their method."""
    calls: dict[str, Counter] = {}
    for request in state["requests"]:
        if request["tenantId"] != tenant_id or request["at"] < since:
            continue
        if request["status"] in (None, 429):
            continue
        qbo = QBO_PATH.match(request["path"])
        myob = MYOB_PATH.match(request["path"])
        if qbo:
            resource = qbo.group(1)
        elif myob:
            resource = myob.group(1)
        else:
            resource = request["path"].split("/api.xro/2.0/", 1)[-1].split("/", 1)[0]
        entry_type = ENTRY_TYPE_OF_PATH.get(resource, resource.lower())
        calls.setdefault(entry_type, Counter())[request["method"]] += 1
    requests = state["requests"]
    # A full log whose oldest call is of the run may have dropped earlier ones.
    complete = len(requests) < REQUEST_LOG_SIZE or requests[0]["at"] < since
    return CallsByType(calls=calls, complete=complete)


def runs_finished(run_ids: list[int]) -> bool:
    from synclog.models import SyncRun

    return not SyncRun.objects.filter(pk__in=run_ids, finished_at__isnull=True).exists()


def last_attempt_at(setup: OrgSetup) -> datetime.datetime | None:
    from django.db.models import Max

    from synclog.models import SyncAttempt

    return SyncAttempt.objects.filter(record__connection=setup.connection).aggregate(
        last=Max("finished_at")
    )["last"]


class PgBackendCpu:
    """CPU seconds of the PostgreSQL backends serving the benchmark database, except the bench
    process's own sessions. Sampled every `interval` from /proc so that a backend which exits
    mid-run still counts up to its last sample."""

    def __init__(self, database_url: str, db_name: str, interval: float = 0.25) -> None:
        self.database_url = database_url
        self.db_name = db_name
        self.interval = interval
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pids(self, conn) -> list[int]:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [self.db_name, BENCH_APPLICATION_NAME],
        ).fetchall()
        return [row[0] for row in rows]

    def _sample(self, conn, *, baseline: bool = False) -> None:
        for pid in self._pids(conn):
            cpu = proc_cpu_seconds(pid)
            if baseline:
                self._base[pid] = cpu
            self._base.setdefault(pid, 0.0)
            self._last[pid] = max(cpu, self._last.get(pid, 0.0))

    def __enter__(self) -> PgBackendCpu:
        import psycopg

        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._sample(self._conn, baseline=True)

        def loop() -> None:
            while not self._stop.wait(self.interval):
                with contextlib.suppress(Exception):
                    self._sample(self._conn)

        self._thread = threading.Thread(target=loop, daemon=True, name="pg-cpu")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._sample(self._conn)
        self._conn.close()

    @property
    def seconds(self) -> float:
        return sum(self._last[pid] - self._base.get(pid, 0.0) for pid in self._last)


# --- the bench ---------------------------------------------------------------------------------


class Bench:
    """One benchmark run: its database, Redis db, emulator, workers; all gone on exit."""

    def __init__(
        self,
        name: str,
        args: argparse.Namespace,
        *,
        sync_env: dict | None = None,
        kept_database: str = "",
    ):
        """kept_database: use (or create) the database of this name and keep it on exit, for a
        bench that loads once and measures again (bench.pages --keep-database)."""
        self.name = name
        self.args = args
        # CREATE/DROP DATABASE go through the server's maintenance database.
        self.server_url = _database_url(args.database_url, "postgres")
        self.redis_url = _redis_db(args.redis_url, getattr(args, "redis_db", 9))
        self.db_name = kept_database or f"ledgersync_bench_{os.getpid()}"
        self.keep_database = bool(kept_database)
        self.database_url = _database_url(self.server_url, self.db_name)
        self.sync_env = {**FAST_SYNC, **{k: str(v) for k, v in (sync_env or {}).items()}}
        self.tmp = Path(tempfile.mkdtemp(prefix=f"ledgersync-bench-{name}-"))
        self.secret = f"bench-secret-{uuid.uuid4().hex}"
        self.processes: list[Process] = []
        self.workers: list[Worker] = []
        self.emulators: list[Emulator] = []
        self._db_created = False
        self._generation = 0
        self._supervisor: threading.Thread | None = None
        self._supervising = threading.Event()
        self.restarts = 0

    # environment shared by this process and the workers
    def env(self, *, for_worker: bool, extra: dict | None = None) -> dict:
        env = {
            **os.environ,
            **self.sync_env,
            "DJANGO_SETTINGS_MODULE": "syncsvc.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_RESULT_BACKEND": self.redis_url,
            "LEDGER_EMULATOR_ALLOWED": "1",
            # Only configured emulator addresses may be used (checked at every push).
            "LEDGER_EMULATOR_URLS": ",".join(e.url for e in self.emulators),
            "LEDGERSYNC_VAR_DIR": str(self.tmp / "var"),
            "RATE_LIMIT_KEY_PREFIX": f"ledgersync-bench-{os.getpid()}:rl:",
            "SECRET_KEY": self.secret,
            "CREDENTIALS_ENCRYPTION_KEYS": _fernet_key(self.secret),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        # Workers run as in production (DEBUG off: no per-query bookkeeping); the bench process
        # renders pages with the Django test client, which wants the development settings.
        env["DEBUG"] = "0" if for_worker else "1"
        if for_worker:
            env.pop("PGAPPNAME", None)
        else:
            env["PGAPPNAME"] = BENCH_APPLICATION_NAME
        env.update({k: str(v) for k, v in (extra or {}).items()})
        return env

    def __enter__(self) -> Bench:
        self._previous_term = signal.signal(signal.SIGTERM, raise_interrupt)
        # Two runs must never share a Redis db: each flushes it, and their workers would take
        # each other's tasks (with record ids of the other run's database).
        try:
            self._take_redis_lock()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            signal.signal(signal.SIGTERM, self._previous_term or signal.SIG_DFL)
            raise
        try:
            self._create_database()
            os.environ.update(self.env(for_worker=False))
            log(f"migrating {self.db_name}")
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                cwd=ROOT,
                env=self.env(for_worker=True),
                check=True,
            )
            import django

            django.setup()
            self.flush_redis()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self._clean_up(exc_type, exc)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, self._previous_term or signal.SIG_DFL)

    def _clean_up(self, exc_type, exc) -> None:
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        for emulator in self.emulators:
            emulator.close()
        if exc_type is not None and not isinstance(exc, KeyboardInterrupt):
            for process in self.processes:
                print(f"--- log of {process.name} ---\n{process.log_tail()}", file=sys.stderr)
        with contextlib.suppress(Exception):
            self.flush_redis(keep_lock=False)
        self._drop_database()
        if self.args.keep_logs:
            print(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)

    def _take_redis_lock(self) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        client = self._redis()
        try:
            for _ in range(2):
                if client.set(LOCK_KEY, owner, nx=True, ex=LOCK_SECONDS):
                    return
                holder = (client.get(LOCK_KEY) or b"").decode()
                host, _, pid = holder.rpartition(":")
                elsewhere = host != socket.gethostname()
                if elsewhere or (pid.isdigit() and pid_alive(int(pid))):
                    print(
                        f"BUSY: another benchmark ({holder}) is using this Redis db; run one at a "
                        "time",
                        file=sys.stderr,
                    )
                    raise SystemExit(EXIT_BUSY)
                client.delete(LOCK_KEY)  # left by a run that is gone
            raise SystemExit(EXIT_BUSY)
        finally:
            client.close()

    def flush_redis(self, *, keep_lock: bool = True) -> None:
        client = self._redis()
        try:
            client.flushdb()
            if keep_lock:
                owner = f"{socket.gethostname()}:{os.getpid()}"
                client.set(LOCK_KEY, owner, ex=LOCK_SECONDS)
        finally:
            client.close()

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            if self.keep_database:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.db_name])
                if found.fetchone() is None:
                    conn.execute(f'CREATE DATABASE "{self.db_name}"')
                return
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True

    def _drop_database(self) -> None:
        if not self._db_created:
            return
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        import psycopg

        try:
            with psycopg.connect(self.server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as error:  # noqa: BLE001 - reported, the run's figures still stand
            print(f"could not drop {self.db_name}: {error}", file=sys.stderr)

    # processes
    def start_emulator(self, **rate_limits) -> Emulator:
        """The emulator of the run's ledger (`--ledger`, default Xero), with these limits (in its
        own words; none: lifted)."""
        emulator_class = EMULATORS[getattr(self.args, "ledger", "xero")]
        port = free_port()
        process = Process(
            f"emulator-{port}",
            [sys.executable, "-m", emulator_class.module, "--port", str(port), "--quiet"],
            env=self.env(for_worker=True),
            log_path=self.tmp / f"emulator-{port}.log",
        ).launch()
        self.processes.append(process)
        emulator = emulator_class(process, f"http://127.0.0.1:{port}")
        self.emulators.append(emulator)
        from django.conf import settings

        settings.LEDGER_EMULATOR_URLS = [*settings.LEDGER_EMULATOR_URLS, emulator.url]

        def healthy() -> bool:
            if not process.alive:
                raise RuntimeError(f"the emulator exited:\n{process.log_tail()}")
            try:
                return emulator.http.get("/_emulator/health", timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=START_DEADLINE, interval=0.05, what="the ledger emulator")
        emulator.set_rate_limits(**(rate_limits or UNLIMITED_EMULATOR))
        return emulator

    def new_worker(
        self, *, concurrency: int = 2, extra_env: dict | None = None, loglevel: str = "WARNING"
    ) -> Worker:
        self._generation += 1
        worker = Worker(
            name=f"bench{self._generation}-{os.getpid()}@localhost",
            env=self.env(for_worker=True, extra=extra_env),
            log_path=self.tmp / f"worker{self._generation}.log",
            concurrency=concurrency,
            loglevel=loglevel,
        )
        worker.extra_env = dict(extra_env or {})
        self.processes.append(worker)
        self.workers.append(worker)
        return worker

    def start_workers(
        self,
        count: int,
        *,
        concurrency: int = 2,
        extra_env: dict | None = None,
        loglevel: str = "WARNING",
    ) -> list[Worker]:
        workers = [
            self.new_worker(concurrency=concurrency, extra_env=extra_env, loglevel=loglevel)
            for _ in range(count)
        ]
        for worker in workers:
            worker.launch()
        for worker in workers:
            worker.wait_ready()
        log(f"{count} worker(s) x {concurrency} processes ready")
        return workers

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def start_beat(self, extra_env: dict | None = None) -> Process:
        beat = Process(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "syncsvc",
                "beat",
                "--schedule",
                str(self.tmp / f"beat-{uuid.uuid4().hex[:6]}"),
                "--loglevel=INFO",
            ],
            env=self.env(for_worker=True, extra=extra_env),
            log_path=self.tmp / "beat.log",
        ).launch()
        self.processes.append(beat)
        return beat

    def supervise(self) -> None:
        """Restart any worker that died (what systemd or Kubernetes would do), until exit."""
        self._supervising.set()

        def loop() -> None:
            while self._supervising.is_set():
                for index, worker in enumerate(list(self.workers)):
                    if not worker.alive and self._supervising.is_set():
                        replacement = self.new_worker(
                            concurrency=worker.concurrency,
                            extra_env=worker.extra_env,
                            loglevel=worker.loglevel,
                        )
                        self.workers.remove(replacement)
                        self.workers[index] = replacement
                        replacement.launch()
                        self.restarts += 1
                time.sleep(0.2)

        self._supervisor = threading.Thread(target=loop, daemon=True, name="supervisor")
        self._supervisor.start()

    def stop_supervising(self) -> None:
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
            self._supervisor = None

    def worker_cpu_seconds(self) -> float:
        return sum(worker.cpu_seconds() for worker in self.workers)

    def purge_queues(self) -> None:
        from syncsvc.celery import app

        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in QUEUES:
                with contextlib.suppress(Exception):
                    channel.queue_purge(queue)

    @staticmethod
    def result(figure: str, text: str) -> None:
        print(f"RESULT {figure}: {text}", flush=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def dumps(data: dict) -> str:
    return json.dumps(data, sort_keys=True, default=str)
