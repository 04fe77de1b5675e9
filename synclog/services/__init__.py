"""The sync engine: every write to sync records, attempts and runs (DESIGN §4).

Callers use `from synclog import services` and the names below; the modules are by job:

- `marking`: marking records Pending and sending their tasks (document changes, the outbox);
- `runs`: manual re-sync, bulk re-sync (prepared in a worker when large), force sync, retries;
- `status`: status changes by hand, the resume after a reconnect, the sweep;
- `push`: the push of one record (claim, payload, ledger call, outcome);
- `batch`: a batch of one connection's records (entries created, updated and paid together);
- `entries`: what one push sends (search before create, create, update, attachments, payment);
- `ledger_call`: the quota grant, the connector, the call record and the error-to-outcome ladder;
- `quota`: a ledger's declared limits and the key its quota is counted under;
- `outcomes`: how pushed records end (Complete, Failed, retried, waiting for a reconnect);
- `attempt_log`: the calls of a push and the attempts written from them;
- `run_items`: a run's items and counts, and the run's end;
- `refusals`: the engine's own errors, worded for AP staff;
- `attention_summary`: Requires attention's maintained counts (a trigger's changes, folded);
- `reconcile`: drift detection, the periodic read of what changed in the ledger behind our back
  (and the same read at once, "Check the ledger now"), and accepting the ledger's version of a
  drifted record (or of a Requires-attention group).

What syncs when (DESIGN §4) is in `synclog.rules`.
"""

from synclog.services.attention_summary import attention_fold, attention_fold_all
from synclog.services.batch import sync_batch_push
from synclog.services.entries import payload_hash
from synclog.services.marking import (
    EntrySpec,
    reason_for_changes,
    request_sync,
    request_sync_documents,
    request_sync_for_update,
    sync_records_enqueue,
)
from synclog.services.push import sync_record_push
from synclog.services.quota import connection_quota, connection_quota_key
from synclog.services.reconcile import (
    attention_group_accept_ledger,
    connection_reconcile,
    connection_reconcile_request,
    connections_to_reconcile,
    reconcile_schedule_all,
    sync_record_accept_ledger,
)
from synclog.services.runs import (
    bulk_resync,
    force_sync,
    resync,
    resync_as_new_entry,
    retry_failed,
    retry_failed_records,
    sync_run_prepare,
    sync_runs_prepare_enqueue,
)
from synclog.services.status import connection_resume, sync_status_update, sync_sweep

__all__ = [
    "EntrySpec",
    "attention_fold",
    "attention_group_accept_ledger",
    "attention_fold_all",
    "bulk_resync",
    "connection_quota",
    "connection_quota_key",
    "connection_reconcile",
    "connection_reconcile_request",
    "connection_resume",
    "connections_to_reconcile",
    "force_sync",
    "payload_hash",
    "reason_for_changes",
    "reconcile_schedule_all",
    "request_sync",
    "request_sync_documents",
    "request_sync_for_update",
    "resync",
    "resync_as_new_entry",
    "retry_failed",
    "retry_failed_records",
    "sync_batch_push",
    "sync_record_accept_ledger",
    "sync_record_push",
    "sync_records_enqueue",
    "sync_run_prepare",
    "sync_runs_prepare_enqueue",
    "sync_status_update",
    "sync_sweep",
]
