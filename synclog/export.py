"""Excel export of the Sync History: every row of the active tab and filter, in constant memory.

openpyxl's write-only workbook writes each row to disk as it is appended; the finished file is a
temporary file that the response streams and that disappears when it is closed.
"""

import datetime
import tempfile
from collections.abc import Iterable

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from synclog.models import EntryType, RecordStatus

HEADERS = (
    "Number",
    "Entry",
    "Amount",
    "Currency",
    "Contact",
    "Reference",
    "Sync date",
    "Status",
    "External reference",
    "Synced amount",
    "Total vs Synced",
    "Error code",
    "Error",
    "Explanation",
    "How to fix",
    "Connection",
)
COLUMN_WIDTHS = (16, 16, 12, 9, 28, 18, 18, 10, 20, 14, 15, 10, 48, 48, 48, 18)
ENTRY_LABELS = dict(EntryType.choices)
STATUS_LABELS = dict(RecordStatus.choices)


def _text(sheet, value: str):
    """A text cell that stays text: the ledger's words never become a formula or an error value."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value or "")
    if value.startswith("=") or value in ERROR_CODES:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    # Excel has no time zones: write the user's wall-clock time.
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def _comparison(row: dict) -> str:
    if row["synced_amount"] is None:
        return ""
    return "Differs" if row["amounts_differ"] else "Matches"


def sync_history_workbook_write(*, rows: Iterable[dict], sheet_title: str, target) -> int:
    """Write the rows (from sync_history_export_rows) as a workbook into `target` (a path or a
    binary file). Returns the number of data rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in HEADERS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append(
            [
                _text(sheet, row["document__number"]),
                ENTRY_LABELS.get(row["entry_type"], row["entry_type"]),
                row["amount"],
                row["document__currency"],
                _text(sheet, row["document__contact__name"]),
                _text(sheet, row["payment__reference"]),
                _local(row["sync_date"]),
                STATUS_LABELS.get(row["status"], ""),
                _text(sheet, row["external_number"]),
                row["synced_amount"],
                _comparison(row),
                row["last_error_code"],
                _text(sheet, row["last_error_message"]),
                _text(sheet, row["last_error_explanation"]),
                _text(sheet, row["last_error_hint"]),
                _text(sheet, row["connection__name"]),
            ]
        )
        count += 1
    workbook.save(target)
    return count


def sync_history_workbook_file(*, rows: Iterable[dict], sheet_title: str):
    """The workbook in an anonymous temporary file, rewound for reading (deleted on close)."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    try:
        sync_history_workbook_write(rows=rows, sheet_title=sheet_title, target=handle)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle
