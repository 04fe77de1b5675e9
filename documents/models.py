from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import OrgScopedModel

MONEY = {"max_digits": 14, "decimal_places": 2}


class ContactKind(models.TextChoices):
    VENDOR = "vendor", "Vendor"
    CUSTOMER = "customer", "Customer"


class Contact(OrgScopedModel):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ContactKind.choices, default=ContactKind.VENDOR)
    tax_number = models.CharField(max_length=50, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["org", "kind", "name"])]

    def __str__(self) -> str:
        return self.name


class Category(OrgScopedModel):
    """A GL category; `code` is the ledger account code it books to."""

    name = models.CharField(max_length=120)
    code = models.CharField(max_length=30)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="category_unique_org_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Department(OrgScopedModel):
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="department_unique_org_name"),
        ]

    def __str__(self) -> str:
        return self.name


class DocumentKind(models.TextChoices):
    """What the AP system holds; synclog.models lists the engine's words for what each becomes."""

    BILL = "bill", "Bill"
    INVOICE = "invoice", "Invoice"
    EXPENSE = "expense", "Expense"


class ExpenseType(models.TextChoices):
    """How an expense was paid. Card and bank spends left the company's account at once (the
    ledger's spend money); a reimbursable one is owed to the employee who paid it (a bill)."""

    CARD = "card", "Card spend"
    BANK = "bank", "Bank spend"
    REIMBURSABLE = "reimbursable", "Reimbursable"


SPEND_EXPENSE_TYPES = frozenset({ExpenseType.CARD, ExpenseType.BANK})


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


VOIDABLE_STATUSES = frozenset(
    {DocumentStatus.DRAFT, DocumentStatus.AWAITING_APPROVAL, DocumentStatus.APPROVED}
)


class Document(OrgScopedModel):
    # Foreign keys use RESTRICT, not PROTECT: a contact or category in use cannot be deleted on its
    # own, but deleting the whole organisation cascades through them.
    kind = models.CharField(max_length=16, choices=DocumentKind.choices, default=DocumentKind.BILL)
    number = models.CharField(max_length=64)
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="documents")
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY)
    category = models.ForeignKey(
        Category, on_delete=models.RESTRICT, null=True, blank=True, related_name="documents"
    )
    department = models.ForeignKey(
        Department, on_delete=models.RESTRICT, null=True, blank=True, related_name="documents"
    )
    description = models.CharField(max_length=500, blank=True)
    # Expenses only; empty on bills, invoices and expenses from before types.
    expense_type = models.CharField(
        max_length=16, choices=ExpenseType.choices, blank=True, default=""
    )
    # The ledger's rate for `currency` against its base currency (Xero's CurrencyRate: units of
    # the currency per unit of the base); empty: the ledger's own rate of the day.
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.DRAFT
    )
    # Kept up to date by documents.services in the transaction that records a payment, so lists
    # can show and filter the balance without summing payments per row.
    amount_paid = models.DecimalField(**MONEY, default=Decimal("0.00"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who, when it was not a signed-in user: "API key Partner ERP" (as SyncAttempt.actor_label).
    created_by_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    marked_paid = models.BooleanField(
        default=False, help_text="Paid outside this system and marked paid by a user."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "kind", "contact", "number"],
                name="document_unique_number_per_contact",
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="document_total_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(due_date__gte=models.F("issue_date")),
                name="document_due_not_before_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "kind", "status", "-issue_date"]),
            # The Documents list's order: its first page is read from here, not sorted from all.
            models.Index(fields=["org", "-issue_date", "-id"], name="document_list_idx"),
            # The list's bounded count under a sync status filter (syncsvc.paging): the
            # organisation's ids in order, merged with the records' document ids from the index
            # alone (the Failed filter: 17 ms at 1,000,000 documents, 69-93 ms joining by hash).
            models.Index(fields=["org", "id"], name="document_org_id_idx"),
            models.Index(fields=["org", "number"]),
            models.Index(fields=["org", "contact"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid

    @property
    def is_editable(self) -> bool:
        return self.status != DocumentStatus.VOID

    @property
    def is_spend(self) -> bool:
        """A card or bank expense: money already spent, booked as the ledger's spend money."""
        return self.kind == DocumentKind.EXPENSE and self.expense_type in SPEND_EXPENSE_TYPES

    @property
    def is_voidable(self) -> bool:
        # Mirrors documents.services.document_void, so pages offer only what will succeed.
        return self.status in VOIDABLE_STATUSES and not self.amount_paid


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("1"))
    unit_amount = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    category = models.ForeignKey(
        Category, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    # The line's own tracking; empty: the document's department.
    department = models.ForeignKey(
        Department, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    # The ledger's tax rate for the line (Xero's TaxType, from the connection's mapping
    # options); empty: the amount carries no tax.
    tax_type = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    return f"attachments/{instance.org_id}/{instance.document_id}/{filename}"


class Attachment(OrgScopedModel):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


class Payment(OrgScopedModel):
    document = models.ForeignKey(Document, on_delete=models.RESTRICT, related_name="payments")
    amount = models.DecimalField(**MONEY)
    paid_at = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who recorded it, when it was not a signed-in user: "API key Partner ERP".
    created_by_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["paid_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_at}"
