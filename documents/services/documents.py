"""Writes to documents: create (one, or many approved at once), edit, submit, approve and void,
each checked whole before anything is written."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization
from documents.models import (
    VOIDABLE_STATUSES,
    Category,
    Contact,
    ContactKind,
    Department,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    ExpenseType,
)
from documents.validation import (
    ErrorCollector,
    clean_text,
    parse_currency,
    parse_date,
    parse_money,
    parse_quantity,
)
from synclog.services import request_sync, request_sync_documents, request_sync_for_update

# The fields of a document that a user may edit; the ledger holds all of them.
# Set when the document is made: the type decides what the ledger holds (a bill, or spend
# money), which an edit cannot turn into the other; the rate is the one of the day it was spent.
CREATE_ONLY_FIELDS = ("expense_type", "exchange_rate")
EDITABLE_FIELDS = (
    "number",
    "contact",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "category",
    "department",
    "description",
)
# The fields of each of its lines that a user may edit.
EDITABLE_LINE_FIELDS = (
    "description",
    "quantity",
    "unit_amount",
    "category",
    "department",
    "tax_type",
)
CONTACT_KIND_FOR_DOCUMENT = {
    DocumentKind.BILL: ContactKind.VENDOR,
    DocumentKind.EXPENSE: ContactKind.VENDOR,
    DocumentKind.INVOICE: ContactKind.CUSTOMER,
}


@dataclass(frozen=True)
class DocumentUpdateResult:
    """What document_update saved: the document, and the fields whose values changed."""

    document: Document
    changed_fields: frozenset[str] = field(default_factory=frozenset)


def _check_owned(errors: ErrorCollector, *, org: Organization, field_name: str, obj) -> None:
    # "Not yours" reads like "does not exist", so ids of other organisations cannot be probed.
    if obj is not None and obj.org_id != org.id:
        errors.add(field_name, "Choose a valid option: that one does not exist.")


def _clean_lines(errors: ErrorCollector, *, org: Organization, lines: list[dict]) -> list[dict]:
    if not lines:
        errors.add("lines", "Add at least one line.")
        return []
    cleaned = []
    for index, line in enumerate(lines):
        prefix = f"lines.{index}"
        description = errors.run(
            clean_text,
            line.get("description"),
            field=f"{prefix}.description",
            max_length=300,
            required="Describe the line.",
        )
        quantity = errors.run(
            parse_quantity, line.get("quantity", Decimal("1")), field=f"{prefix}.quantity"
        )
        unit_amount = errors.run(
            parse_money, line.get("unit_amount"), field=f"{prefix}.unit_amount"
        )
        category = line.get("category")
        _check_owned(errors, org=org, field_name=f"{prefix}.category", obj=category)
        department = line.get("department")
        _check_owned(errors, org=org, field_name=f"{prefix}.department", obj=department)
        tax_type = errors.run(
            clean_text, line.get("tax_type") or "", field=f"{prefix}.tax_type", max_length=50
        )
        amount = None
        if quantity is not None and unit_amount is not None:
            # Half up, as invoices are rounded (not the banker's rounding of Decimal's default).
            amount = (quantity * unit_amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        cleaned.append(
            {
                "position": index,
                "description": description,
                "quantity": quantity,
                "unit_amount": unit_amount,
                "amount": amount,
                "category": category,
                "department": department,
                "tax_type": tax_type or "",
            }
        )
    return cleaned


def _clean_document_fields(
    errors: ErrorCollector, *, org: Organization, kind: str, values: dict
) -> dict:
    """Parse and check the header fields; returns the cleaned values."""
    cleaned = dict(values)
    if "number" in values:
        cleaned["number"] = errors.run(
            clean_text,
            values["number"],
            field="number",
            max_length=64,
            required="Enter the document number.",
        )
    if "contact" in values:
        contact = values["contact"]
        if contact is None:
            errors.add("contact", "Choose a contact.")
        else:
            _check_owned(errors, org=org, field_name="contact", obj=contact)
            expected = CONTACT_KIND_FOR_DOCUMENT[kind]
            if contact.org_id == org.id and contact.kind != expected:
                errors.add("contact", f"A {kind} needs a {expected}; {contact.name} is not one.")
    for date_field in ("issue_date", "due_date"):
        if date_field in values:
            cleaned[date_field] = errors.run(parse_date, values[date_field], field=date_field)
    if "currency" in values:
        cleaned["currency"] = errors.run(parse_currency, values["currency"])
    if "total" in values:
        cleaned["total"] = errors.run(parse_money, values["total"], field="total", allow_zero=False)
    for fk_field in ("category", "department"):
        if fk_field in values:
            _check_owned(errors, org=org, field_name=fk_field, obj=values[fk_field])
    if "description" in values:
        cleaned["description"] = errors.run(
            clean_text, values["description"], field="description", max_length=500
        )
    if values.get("expense_type"):
        if kind != DocumentKind.EXPENSE:
            errors.add("expense_type", "Only an expense has a type.")
        elif values["expense_type"] not in ExpenseType.values:
            errors.add("expense_type", f"Choose one of: {', '.join(ExpenseType.values)}.")
    elif "expense_type" in values:
        cleaned["expense_type"] = ""
    if values.get("exchange_rate") not in (None, ""):
        try:
            rate = Decimal(str(values["exchange_rate"]))
        except ArithmeticError:
            rate = None
        if rate is None or not rate.is_finite() or rate <= 0 or rate >= 10**12:
            errors.add("exchange_rate", "Give a positive number, e.g. 1.0850.")
        else:
            cleaned["exchange_rate"] = rate.quantize(Decimal("0.000001"))
    elif "exchange_rate" in values:
        cleaned["exchange_rate"] = None
    return cleaned


def _check_totals_and_dates(errors: ErrorCollector, *, document: Document, lines) -> None:
    if document.issue_date and document.due_date and document.due_date < document.issue_date:
        errors.add("due_date", "The due date cannot be before the issue date.")
    if lines is not None and document.total is not None:
        amounts = [line["amount"] for line in lines]
        if amounts and None not in amounts and sum(amounts) != document.total:
            errors.add(
                "lines",
                f"The lines add up to {sum(amounts)}, not the total {document.total}.",
            )


def _check_number_free(errors: ErrorCollector, *, document: Document) -> None:
    if document.contact_id is None or not document.number:
        return
    taken = (
        Document.objects.for_org(document.org)
        .filter(kind=document.kind, contact_id=document.contact_id, number=document.number)
        .exclude(pk=document.pk)
        .exists()
    )
    if taken:
        errors.add(
            "number",
            f"{document.contact.name} already has a {document.kind} numbered {document.number}.",
        )


def _write_lines(document: Document, lines: list[dict]) -> None:
    document.lines.all().delete()
    DocumentLine.objects.bulk_create(DocumentLine(document=document, **line) for line in lines)


def _save_document(document: Document) -> None:
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        # A concurrent writer took the same number between our check and the insert.
        raise ValidationError(
            {"number": "Another document with this contact and number was just saved."}
        ) from None


def _actor_label_if_no_user(actor, actor_label: str) -> str:
    # Who, when no signed-in user acted (an API key); a user is named by the foreign key.
    return "" if actor is not None else actor_label[:150]


@transaction.atomic
def document_create(
    *,
    org: Organization,
    actor,
    kind: str = DocumentKind.BILL,
    number: str,
    contact: Contact | None,
    issue_date,
    due_date,
    currency: str,
    total,
    lines: list[dict],
    category: Category | None = None,
    department: Department | None = None,
    description: str = "",
    expense_type: str = "",
    exchange_rate=None,
    actor_label: str = "",
) -> Document:
    """A document with its lines, every field checked first (contact, category and department
    the organisation's own, lines adding up to the total): ValidationError by field and nothing
    written, or the document in one transaction. `actor_label`: the API key that created it,
    when no user did."""
    errors = ErrorCollector()
    if kind not in DocumentKind.values:
        errors.add("kind", f"Choose one of: {', '.join(DocumentKind.values)}.")
        errors.raise_if_any()
    values = _clean_document_fields(
        errors,
        org=org,
        kind=kind,
        values={
            "number": number,
            "contact": contact,
            "issue_date": issue_date,
            "due_date": due_date,
            "currency": currency,
            "total": total,
            "category": category,
            "department": department,
            "description": description,
            "expense_type": expense_type,
            "exchange_rate": exchange_rate,
        },
    )
    cleaned_lines = _clean_lines(errors, org=org, lines=lines)
    document = Document(
        org=org,
        kind=kind,
        created_by=actor,
        created_by_label=_actor_label_if_no_user(actor, actor_label),
        **values,
    )
    _check_totals_and_dates(errors, document=document, lines=cleaned_lines)
    if not errors.errors:
        _check_number_free(errors, document=document)
    errors.raise_if_any()
    _save_document(document)
    _write_lines(document, cleaned_lines)
    return document


def _lines_as_tuples(lines) -> list[tuple]:
    return [
        (
            line["description"],
            line["quantity"],
            line["unit_amount"],
            line["category"],
            line.get("department"),
            line.get("tax_type", ""),
        )
        for line in lines
    ]


@transaction.atomic
def document_update(
    *,
    document: Document,
    actor,
    data: dict,
    lines: list[dict] | None = None,
    actor_label: str = "",
) -> DocumentUpdateResult:
    """Edit a document's fields and, when given, its lines; report which fields changed.

    The changed fields are what later pushes to the ledger explain ("due date changed");
    `actor_label` names an API key that made the change (no user), for those pushes' log.
    """
    document = _lock(document)
    errors = ErrorCollector()
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be edited." for name in sorted(unknown)})
    if document.status == DocumentStatus.VOID:
        raise ValidationError("A void document cannot be edited.")

    values = _clean_document_fields(errors, org=document.org, kind=document.kind, values=data)
    cleaned_lines = (
        _clean_lines(errors, org=document.org, lines=lines) if lines is not None else None
    )
    errors.raise_if_any()

    changed = {name for name, value in values.items() if getattr(document, name) != value}
    old_lines = [
        {name: getattr(line, name) for name in EDITABLE_LINE_FIELDS}
        for line in document.lines.select_related("category", "department")
    ]
    if cleaned_lines is not None and _lines_as_tuples(cleaned_lines) != _lines_as_tuples(old_lines):
        changed.add("lines")
    if not changed:
        return DocumentUpdateResult(document=document)

    for name, value in values.items():
        setattr(document, name, value)
    money_changed = {"total", "lines", "currency"} & changed
    if document.status == DocumentStatus.PAID and money_changed:
        errors.add("total", "A paid document's amounts cannot change.")
    if document.amount_paid and "currency" in changed:
        errors.add("currency", "The currency cannot change once payments are recorded.")
    if document.total is not None and document.total < document.amount_paid:
        errors.add("total", f"The total cannot be below the {document.amount_paid} already paid.")
    # Lines must still add up when only the total changed.
    lines_to_check = cleaned_lines
    if lines_to_check is None and "total" in changed:
        lines_to_check = [{"amount": line.amount} for line in document.lines.all()]
    _check_totals_and_dates(errors, document=document, lines=lines_to_check)
    if {"number", "contact"} & changed and not errors.errors:
        _check_number_free(errors, document=document)
    errors.raise_if_any()

    if document.amount_paid and document.amount_paid == document.total:
        # Lowered to what was already paid: nothing is due, so the document is paid.
        document.status = DocumentStatus.PAID
    _save_document(document)
    if cleaned_lines is not None and "lines" in changed:
        _write_lines(document, cleaned_lines)
    request_sync_for_update(
        document=document, changed_fields=changed, actor=actor, actor_label=actor_label
    )
    return DocumentUpdateResult(document=document, changed_fields=frozenset(changed))


def _lock(document: Document) -> Document:
    """Re-read the document under a row lock: status checks and balances need the current row."""
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("org", "contact")
        .get(pk=document.pk)
    )


def _transition(document: Document, *, allowed_from: set[str], to: str, error: str) -> Document:
    document = _lock(document)
    if document.status not in allowed_from:
        raise ValidationError(error.format(status=document.get_status_display().lower()))
    document.status = to
    return document


@transaction.atomic
def document_submit(*, document: Document, actor) -> Document:
    """A draft goes to awaiting approval (ValidationError from any other status), under a row
    lock so two submits cannot both pass the check."""
    document = _transition(
        document,
        allowed_from={DocumentStatus.DRAFT},
        to=DocumentStatus.AWAITING_APPROVAL,
        error="Only a draft can be submitted for approval; this one is {status}.",
    )
    document.save(update_fields=["status", "updated_at"])
    return document


@transaction.atomic
def document_approve(*, document: Document, actor, actor_label: str = "") -> Document:
    """A document awaiting approval becomes approved by `actor` (ValidationError from any other
    status), and its push to the connected ledgers is requested in the same transaction
    (`actor_label`: the API key that approved it, when no user did)."""
    document = _transition(
        document,
        allowed_from={DocumentStatus.AWAITING_APPROVAL},
        to=DocumentStatus.APPROVED,
        error="Only a document awaiting approval can be approved; this one is {status}.",
    )
    document.approved_by = actor
    document.approved_by_label = _actor_label_if_no_user(actor, actor_label)
    document.approved_at = timezone.now()
    document.save(
        update_fields=["status", "approved_by", "approved_by_label", "approved_at", "updated_at"]
    )
    request_sync(document=document, reason="approved", actor=actor, actor_label=actor_label)
    return document


@transaction.atomic
def document_void(*, document: Document, actor, actor_label: str = "") -> Document:
    """A document not yet paid becomes void and a void of its ledger entry is requested;
    ValidationError when its status cannot be voided or payments remain."""
    document = _transition(
        document,
        allowed_from=VOIDABLE_STATUSES,
        to=DocumentStatus.VOID,
        error="A {status} document cannot be voided.",
    )
    if document.amount_paid:
        raise ValidationError(
            f"{document.amount_paid} {document.currency} has been paid on this document: "
            "reverse the payments before voiding it."
        )
    document.save(update_fields=["status", "updated_at"])
    # Only an entry already in the ledger is voided there; request_sync skips the rest.
    request_sync(document=document, reason="voided", actor=actor, actor_label=actor_label)
    return document


@transaction.atomic
def documents_create_approved(
    *,
    org: Organization,
    actor,
    kind: str,
    items: list[dict],
    sync: bool = True,
    actor_label: str = "",
) -> tuple[list[Document], dict[int, ValidationError]]:
    """Create many approved documents at once (an expense dataset of up to 500 items): the same
    checks as document_create, submit and approve, in a fixed number of queries whatever the
    count. `items` hold document_create's fields. Returns the documents, or (nothing written)
    each failing item's errors by its index. With `sync`, they sync as approval makes them."""
    failed: dict[int, ValidationError] = {}
    documents: list[Document] = []
    lines_of: list[list[dict]] = []
    for index, item in enumerate(items):
        errors = ErrorCollector()
        values = _clean_document_fields(
            errors,
            org=org,
            kind=kind,
            values={
                name: item.get(name)
                for name in (*EDITABLE_FIELDS, *CREATE_ONLY_FIELDS)
                if name in item
            },
        )
        cleaned_lines = _clean_lines(errors, org=org, lines=item.get("lines") or [])
        document = Document(
            org=org,
            kind=kind,
            created_by=actor,
            created_by_label=_actor_label_if_no_user(actor, actor_label),
            **values,
        )
        _check_totals_and_dates(errors, document=document, lines=cleaned_lines)
        try:
            errors.raise_if_any()
        except ValidationError as error:
            failed[index] = error
            continue
        documents.append(document)
        lines_of.append(cleaned_lines)
    # Numbers: one query for the ones taken already, and no two alike within the batch.
    taken = set(
        Document.objects.for_org(org)
        .filter(
            kind=kind,
            contact_id__in={d.contact_id for d in documents},
            number__in={d.number for d in documents},
        )
        .values_list("contact_id", "number")
    )
    positions = [index for index in range(len(items)) if index not in failed]
    for index, document in zip(positions, documents, strict=True):
        key = (document.contact_id, document.number)
        if key in taken:
            failed[index] = ValidationError(
                {
                    "number": f"{document.contact.name} already has a {kind} numbered "
                    f"{document.number}."
                }
            )
        taken.add(key)
    if failed:
        return [], failed
    now = timezone.now()
    for document in documents:
        document.status = DocumentStatus.APPROVED
        document.approved_by = actor
        document.approved_by_label = _actor_label_if_no_user(actor, actor_label)
        document.approved_at = now
    try:
        with transaction.atomic():
            Document.objects.bulk_create(documents)
    except IntegrityError:
        # A concurrent writer took one of the numbers between our check and the insert.
        raise ValidationError(
            {"number": "Another document with one of these contacts and numbers was just saved."}
        ) from None
    DocumentLine.objects.bulk_create(
        DocumentLine(document=document, **line)
        for document, lines in zip(documents, lines_of, strict=True)
        for line in lines
    )
    if sync:
        request_sync_documents(
            org=org, documents=documents, reason="approved", actor=actor, actor_label=actor_label
        )
    return documents, {}
