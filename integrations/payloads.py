"""Our documents as the neutral payloads connectors take, through a connection's mappings.

A missing mapping is a configuration error that names what to map, raised here, before anything
is sent: the ledger's own 400 would be far less clear.
"""

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from documents.models import (
    Department,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Payment,
)
from integrations.connectors import connector_class_for
from integrations.connectors.errors import ConfigurationError
from integrations.connectors.types import (
    Capabilities,
    EntryKind,
    EntryPayload,
    LinePayload,
    PaymentPayload,
    TrackingRef,
)
from integrations.models import Connection, Mapping, MappingKind

# A card or bank expense is the ledger's spend money (EntryKind.SPEND); a reimbursable one is a
# bill to the employee, paid when they are reimbursed; an expense without a type is a bill.
ENTRY_KIND_FOR_KIND = {
    DocumentKind.BILL: EntryKind.BILL,
    DocumentKind.INVOICE: EntryKind.INVOICE,
    DocumentKind.EXPENSE: EntryKind.BILL,
}
# The kind a missing payment bank account is named by (a setting of the connection, not a Mapping).
PAYMENT_ACCOUNT_KIND = "payment_bank_account"
# Where a card or bank expense was spent from: Connection.settings["spend_account_codes"].
SPEND_ACCOUNT_LABELS = {"card": "Card account", "bank": "Bank account for bank spends"}
MAPPINGS_HINT = "Map it in Integrations › {connection} › Mappings, then re-sync."


def document_reference(document: Document) -> str:
    """Our stable reference for a document's entry: how we find it in the ledger again."""
    return f"ls-{document.org_id}-{document.pk}"


def payment_reference(payment: Payment) -> str:
    return f"ls-{payment.org_id}-{payment.document_id}-p{payment.pk}"


def _capabilities(connection: Connection) -> Capabilities:
    return connector_class_for(connection.provider).capabilities


def _missing(
    connection: Connection, what: str, *, kind: str, local_id: int, name: str
) -> ConfigurationError:
    return ConfigurationError(
        f"{what} has no {connection.get_provider_display()} mapping.",
        explanation=f"{what} is not mapped to anything in {connection.name}, so the entry "
        "cannot be built.",
        hint=MAPPINGS_HINT.format(connection=connection.name),
        missing_mapping={"kind": kind, "local_id": local_id, "name": name},
    )


def _tracking(
    department_id: int | None, *, connection: Connection, mappings
) -> tuple[TrackingRef, ...]:
    if not department_id:
        return ()
    department_mapping = mappings.get((MappingKind.TRACKING, department_id))
    if department_mapping is None:
        department = Department.objects.get(pk=department_id)
        raise _missing(
            connection,
            f"Department {department.name}",
            kind=MappingKind.TRACKING,
            local_id=department.pk,
            name=department.name,
        )
    return (
        TrackingRef(
            category_name=department_mapping.extra.get("category_name", ""),
            option_name=department_mapping.extra.get("option_name", ""),
            category_id=department_mapping.extra.get("category_id", ""),
            option_id=department_mapping.external_id,
        ),
    )


def spend_account_code(document: Document, *, connection: Connection) -> str:
    """The ledger bank (or card) account a card or bank expense was spent from."""
    code = connection.settings.get("spend_account_codes", {}).get(document.expense_type, "")
    if not code:
        label = SPEND_ACCOUNT_LABELS[document.expense_type]
        raise ConfigurationError(
            f"{connection.name} has no {label.lower()} for {document.get_expense_type_display()}.",
            explanation=f"A {document.get_expense_type_display().lower()} is booked as money "
            f"spent from a {connection.get_provider_display()} bank account: which one is not "
            "set.",
            hint=f"Choose it in Integrations › {connection.name} › Mappings (or PATCH "
            "/connections/{id}/mappings), then re-sync.",
            missing_mapping={
                "kind": f"{document.expense_type}_account",
                "local_id": None,
                "name": label,
            },
        )
    return code


# The document page's path with a placeholder for its id, per script prefix and URLconf:
# reverse() for each document of a batch was a third of the payload's CPU.
_DOCUMENT_PATHS: dict[tuple[str, object], str] = {}
_ID_PLACEHOLDER = 918273645


def _document_path(document_id: int) -> str:
    key = (get_script_prefix(), get_urlconf())
    template = _DOCUMENT_PATHS.get(key)
    if template is None:
        template = _DOCUMENT_PATHS[key] = reverse("documents:detail", args=[_ID_PLACEHOLDER])
    return template.replace(str(_ID_PLACEHOLDER), str(document_id))


def build_entry_payload(
    document: Document,
    *,
    connection: Connection,
    mappings: dict[tuple[str, int], Mapping],
    lines: list[DocumentLine] | None = None,
) -> EntryPayload:
    """`lines`: the document's lines in their order, when the caller read them for many
    documents at once (a batch); else they are read here."""
    contact_mapping = mappings.get((MappingKind.CONTACT, document.contact_id))
    tracking = _tracking(document.department_id, connection=connection, mappings=mappings)
    document_lines = document.lines.all() if lines is None else lines
    lines = []
    for position, line in enumerate(document_lines, start=1):
        category = line.category or document.category
        if category is None:
            raise ConfigurationError(
                f"Line {position} ({line.description}) has no category.",
                explanation="Without a category the line cannot be booked to a ledger account.",
                hint="Give the document or the line a category, then re-sync.",
            )
        account_mapping = mappings.get((MappingKind.ACCOUNT, category.pk))
        if account_mapping is None:
            raise _missing(
                connection,
                f"Category {category.name}",
                kind=MappingKind.ACCOUNT,
                local_id=category.pk,
                name=category.name,
            )
        lines.append(
            LinePayload(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                account_code=account_mapping.extra.get("code") or account_mapping.external_name,
                # A line's own department tracks that line; else the document's.
                tracking=_tracking(line.department_id, connection=connection, mappings=mappings)
                if line.department_id
                else tracking,
                tax_type=line.tax_type,
            )
        )
    kind = EntryKind.SPEND if document.is_spend else ENTRY_KIND_FOR_KIND[document.kind]
    if contact_mapping is None and kind in _capabilities(connection).contact_needs_mapping:
        # Named by our id, so that a partner fixes it over the API (PATCH .../mappings).
        raise _missing(
            connection,
            f"Contact {document.contact.name}",
            kind=MappingKind.CONTACT,
            local_id=document.contact_id,
            name=document.contact.name,
        )
    reference = document_reference(document)
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}"
    url += f"{_document_path(document.pk)}?ref={reference}"
    spend = document.is_spend
    return EntryPayload(
        kind=kind,
        reference=reference,
        number=document.number,
        issue_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        total=document.total,
        lines=tuple(lines),
        contact_id=contact_mapping.external_id if contact_mapping else "",
        contact_name=document.contact.name,
        url=url,
        voided=document.status == DocumentStatus.VOID,
        bank_account_code=spend_account_code(document, connection=connection) if spend else "",
        currency_rate=document.exchange_rate,
    )


def build_payment_payload(
    payment: Payment, *, connection: Connection, entry_external_id: str
) -> PaymentPayload:
    account_code = connection.settings.get("payment_account_code", "")
    if not account_code:
        raise ConfigurationError(
            f"{connection.name} has no bank account for payments.",
            explanation="Payments need the ledger bank account they are paid from.",
            hint=f"Choose it in Integrations › {connection.name} › Mappings, then re-sync.",
            missing_mapping={
                "kind": PAYMENT_ACCOUNT_KIND,
                "local_id": None,
                "name": "Payment bank account",
            },
        )
    return PaymentPayload(
        reference=payment.reference or payment_reference(payment),
        entry_id=entry_external_id,
        account_code=account_code,
        paid_on=payment.paid_at,
        amount=payment.amount,
    )
