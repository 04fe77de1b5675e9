"""Figure 6, freshness: the time from a committed change (approve, edit, payment) to the entry
being in the ledger, with a demo's background load and Xero's real quota.

    python -m bench.freshness --changes 200             # the issue's size (about 10 minutes)
    python -m bench.freshness --changes 6 --gap 0.2,0.5 --bulk-bills 50   # a smoke run

Workers run with the engine's production timings: every SYNC_* setting that the harness shortens
(FAST_SYNC) is set back to its default in syncsvc/settings.py (read from that file), so a change
waits the real coalescing delay, SYNC_COALESCE_SECONDS (2 s), before its task runs. No
`celery beat` runs (the sweep only re-sends tasks older than 60 s). The emulator and the
connection have Xero's limits: 60 calls a rolling 60 s per tenant, 5 at a time. Every call to the
emulator waits --latency-ms (a range: a thread draws a new value every 0.25 s).

The load, all on one organisation and its tenant (what a demo org does: its bills are synced
once in bulk when Xero is connected, people re-sync in bulk, and other users approve and edit):
- an ongoing bulk re-sync of --bulk-bills approved bills on the `bulk` queue: the first run
  creates them (batches of 50: a search and a create call each), and a new run starts as soon
  as the last one finished (those are unchanged by then: no calls, but worker time);
- other users' edits: every --background-every seconds a thread moves the due date of one of
  --background-bills approved, synced bills (an update call each).

Measured: --changes changes through documents.services, each in its own transaction, a mix in
equal parts of approving a submitted bill (a new entry: a search and a create call), editing the
due date or the amount of an approved synced bill (an update call), and recording a payment, in
part or in full, on one (a payment call). Each change is on a document no other change touches.
They are made open-loop: change i is due at start + the sum of i gaps drawn from --gap, however
long the earlier ones took. The commit time is taken by an on_commit callback registered before
the service's own (so it runs first, right after COMMIT, before the task is sent).

The emulator logs every write when applied (`GET /_emulator/writes`, the time in microseconds);
a change is in the ledger at its first write after the commit that shows it: the entry with our
reference (approve), the invoice with the new due date or total (edit), a payment of the amount
on the invoice (payment). Printed: p50 / p95 / max over all changes and per kind; a breakdown
from the sync attempt that applied the change (commit -> attempt start = coalescing delay +
waiting for a worker or for quota; attempt start -> applied = reading the document, quota,
the ledger calls); how many changes were sent back to wait (quota, bill first); calls per
minute against the quota. Last, the census of the emulator's entries and of payments.

Modules: `run` (options, the run, the report), `changes` (the measured changes, when the ledger
shows each, their statistics), `load` (the background load and the emulator's latency range).
"""
