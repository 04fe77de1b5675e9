"""Reads for the Requires-attention queue. Every function takes the organisation and scopes each
query by it; each runs a fixed number of queries whatever the number of documents or records.

- records.py: the records that need a person, their documents' count, the key grouping them by cause
- groups.py: the groups by cause (largest first, with their newest records) and one group's page
- chains.py: a failed bill's payments waiting for it, shown and retried with it

Bulk re-sync's reads (selection, progress) are in synclog/selectors/bulk.py.
"""

from synclog.selectors.attention.chains import (
    attention_attach_waiting_payments,
    attention_chain_has_failures,
)
from synclog.selectors.attention.groups import (
    GROUP_PREVIEW_SIZE,
    AttentionGroup,
    AttentionGroupRows,
    attention_group_document_ids,
    attention_group_get,
    attention_group_records_page,
    attention_groups,
    attention_groups_with_records,
)
from synclog.selectors.attention.records import (
    WAITING_CODE,
    WAITING_DIGEST,
    attention_document_count,
    attention_document_recount,
    attention_failed_version,
    attention_records,
)

__all__ = [
    "GROUP_PREVIEW_SIZE",
    "WAITING_CODE",
    "WAITING_DIGEST",
    "AttentionGroup",
    "AttentionGroupRows",
    "attention_attach_waiting_payments",
    "attention_chain_has_failures",
    "attention_document_count",
    "attention_document_recount",
    "attention_failed_version",
    "attention_group_document_ids",
    "attention_group_get",
    "attention_group_records_page",
    "attention_groups",
    "attention_groups_with_records",
    "attention_records",
]
