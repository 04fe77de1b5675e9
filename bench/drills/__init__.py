"""Figure 8, fault drills: a bulk sync that must survive crashes and a faulty ledger with nothing
lost and nothing doubled in the ledger, and every attempt logged.

    python -m bench.drills --documents 2000 --kills 10 --outage-seconds 30   # the issue's sizes
    python -m bench.drills --documents 100 --kills 1 --drills a,c   # a short run
    python -m bench.drills --documents 2000 --drills d   # PostgreSQL restarts, on a server of ours
    python -m bench.drills --ledger qbo --documents 100 --drills a   # on QuickBooks Online
    python -m bench.drills --ledger myob --documents 100 --drills a  # on MYOB

a) SIGKILL a worker (its whole process group: main process and pool children) --kills times
   during a bulk sync, at least --kill-every seconds apart, each time when a worker holds
   claimed records with a ledger call in flight (each call takes --kill-latency-ms); a
   supervisor loop restarts it. Printed: how many kills landed mid-push (the records the
   victim held were still claimed by it with their answer unsaved once it was dead).
b) Redis down for --outage-seconds mid-sync, then up again, empty: a redis-server of our own on a
   free port (no persistence), never the machine's. Queued tasks are lost with it.
c) The emulator answers 5xx on 15% of calls (--error-rate) and never answers 5%
   (--timeout-rate: our HTTP timeout, --http-timeout, ends them; the write is not applied); every
   --rearm-429 seconds (until only the last 10% of records are left) it also answers one call
   429 and, the hardest case for duplicates, applies one write whose answer never comes. No
   added latency. The share of faulty calls among the
   emulator's last 1000 is printed.
d) PostgreSQL stopped mid-sync for --pg-down-seconds, then started again, once per mode of
   --pg-stops (default "fast,immediate": `pg_ctl stop -m fast` ends every session cleanly,
   `-m immediate` kills the server, a crash recovered from the WAL), when a fifth, then half, of
   the records are pushed. Never the machine's server (it is shared): a cluster of our own
   (bench.harness.PgServer: initdb in a temporary directory, a free loopback port, fsync off), so d
   runs in a Bench of its own (a process of its own when other drills run too). The bench's own
   polling reconnects after the restart. Besides the census, it counts the ledger's calls (the
   emulator's per-tenant count) against the calls logged in attempts, and records linked to an
   entry that no logged attempt of theirs wrote (a write whose attempt was lost with the
   database): both must be 0 for "every attempt logged".

Workers run with short engine timings (lease, sweep) so recovery happens within the run: a
record claimed by a killed worker waits for its lease (--lease seconds), then the sweep of a
separate `celery beat` re-enqueues Pending records whose task is older than --sweep-after
(--sweep-bulk-after for records of bulk runs; production waits 900 s there, so that a backlog
waiting for quota is not re-sent by every sweep).
Counts come from the emulator's invoices, by our reference (ls-<org>-<document>).
With --ledger qbo every drill runs against the QuickBooks Online emulator instead (its throttles
lifted as Xero's limits are; its bills counted by the reference in their PrivateNote). There a
429 carries no Retry-After and the connector waits Intuit's 60 seconds, so drill c's injected
429s each pause the connection a minute.

With --ledger myob they run against the MYOB emulator (its API key's limits lifted; its bills
counted by the reference in their JournalMemo); a 429 there pauses the connection a second.

One module per drill: kills.py (a), redis_outage.py (b), faults.py (c), pg_restart.py (d);
checks.py is what they all check (census, calls logged, waits); __main__.py the command line.
"""
