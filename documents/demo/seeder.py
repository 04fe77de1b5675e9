"""The demo's seeding: organisations, users and memberships written here (they have no
services), contacts, categories, departments and documents in every state through
documents.services, so the demo data obeys the rules that hand-entered data does."""

import datetime
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Membership, Organization
from documents import services
from documents.demo.plan import (
    AGE_DAYS,
    ALL_SLUGS,
    APPROVED,
    AWAITING,
    CATEGORY_NAMES,
    CENT,
    DEMO,
    DEMO_CUSTOMERS,
    DEMO_EXPENSES,
    DEMO_INVOICES,
    DRAFT,
    GLOBEX,
    LEDGER_TEAMS,
    LINE_TEMPLATES,
    MARKED_PAID,
    PAID,
    PAID_IN_TWO,
    PART_PAID,
    PAYMENT_TERMS_DAYS,
    SEED,
    USERNAMES,
    USERS,
    VENDOR_NUMBER_FORMATS,
    VOID,
)
from documents.models import Category, Contact, ContactKind, Document, DocumentKind, Payment


@dataclass
class _Payee:
    """A contact, the category its documents book to, and its own document numbering."""

    contact: Contact
    category: Category
    terms_days: int
    number_format: str
    last_number: int

    def next_number(self, rng: random.Random, day: datetime.date) -> str:
        # Gaps, because vendors also invoice their other customers in between.
        self.last_number += rng.randint(1, 25)
        return self.number_format.format(n=self.last_number, year=day.year)


class _OrgSeeder:
    """Writes one organisation's categories, contacts and documents through the services."""

    def __init__(self, *, org, rng: random.Random, today: datetime.date, clerk, approver):
        self.org = org
        self.rng = rng
        self.today = today
        self.clerk = clerk
        self.approver = approver
        self.categories: dict[str, Category] = {}
        self.departments = []
        self.document_count = 0

    def add_categories(self, codes) -> None:
        for code in codes:
            self.categories[code] = services.category_create(
                org=self.org, name=CATEGORY_NAMES[code], code=code
            )

    def add_departments(self, names) -> None:
        self.departments = [services.department_create(org=self.org, name=name) for name in names]

    def add_payees(self, names_and_codes, *, kind: str = ContactKind.VENDOR) -> list[_Payee]:
        payees = []
        for name, code in names_and_codes:
            contact = services.contact_create(
                org=self.org,
                name=name,
                kind=kind,
                tax_number=self._tax_number(),
                email=f"accounts@{slugify(name)}.example",
            )
            payees.append(
                _Payee(
                    contact=contact,
                    category=self.categories[code],
                    terms_days=self.rng.choice(PAYMENT_TERMS_DAYS),
                    number_format=self.rng.choice(VENDOR_NUMBER_FORMATS),
                    last_number=self.rng.randint(100, 9000),
                )
            )
        return payees

    def add_documents(
        self,
        *,
        kind: str,
        payees: list[_Payee],
        plan: dict[str, int],
        number_for: Callable[[_Payee, datetime.date], str],
    ) -> None:
        entries = [
            (outcome, self._issue_date(outcome))
            for outcome, count in plan.items()
            for _ in range(count)
        ]
        # Oldest first, so ids and vendors' numbers follow the calendar.
        entries.sort(key=lambda entry: entry[1])
        for outcome, issue_date in entries:
            payee = self.rng.choice(payees)
            lines = self._lines(payee.category)
            document = services.document_create(
                org=self.org,
                actor=self.clerk,
                kind=kind,
                number=number_for(payee, issue_date),
                contact=payee.contact,
                issue_date=issue_date,
                due_date=issue_date + datetime.timedelta(days=payee.terms_days),
                currency=self.org.currency,
                total=sum(line["quantity"] * line["unit_amount"] for line in lines),
                lines=lines,
                category=payee.category,
                department=self._department(),
                description=self._description(lines),
            )
            self._advance(document, outcome)
            self.document_count += 1

    def _advance(self, document: Document, outcome: str) -> None:
        if outcome == DRAFT:
            return
        if outcome == VOID:
            # Documents are voided at whatever stage the mistake was noticed.
            self._advance(document, self.rng.choice((DRAFT, AWAITING, APPROVED)))
            services.document_void(document=document, actor=self.approver)
            return
        document = services.document_submit(document=document, actor=self.clerk)
        if outcome == AWAITING:
            return
        document = services.document_approve(document=document, actor=self.approver)
        if outcome == MARKED_PAID:
            services.document_mark_paid(
                document=document,
                actor=self.approver,
                paid_at=self._pay_date(document.issue_date),
            )
        elif outcome == PAID:
            self._pay(document, document.total, document.issue_date)
        elif outcome in (PART_PAID, PAID_IN_TWO):
            share = Decimal(self.rng.randint(25, 75)) / 100
            first = self._pay(
                document, (document.total * share).quantize(CENT), document.issue_date
            )
            if outcome == PAID_IN_TWO:
                self._pay(document, document.total - first.amount, first.paid_at)

    def _pay(self, document: Document, amount: Decimal, after: datetime.date) -> Payment:
        return services.payment_record(
            document=document,
            actor=self.approver,
            amount=amount,
            paid_at=self._pay_date(after),
            reference=f"PMT-{self.rng.randint(10000, 99999)}",
            bank_account="Operating account",
        )

    def _issue_date(self, outcome: str) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(*AGE_DAYS[outcome]))

    def _pay_date(self, after: datetime.date) -> datetime.date:
        # Within ~6 weeks, never in the future.
        latest = min(45, (self.today - after).days)
        return after + datetime.timedelta(days=self.rng.randint(0, latest))

    def _lines(self, category: Category) -> list[dict]:
        templates = self.rng.sample(LINE_TEMPLATES[category.code], k=self.rng.randint(1, 3))
        return [
            {
                "description": description,
                "quantity": Decimal(self.rng.randint(1, max_quantity)),
                "unit_amount": Decimal(self.rng.randint(low * 100, high * 100)) / 100,
                "category": category,
            }
            for description, low, high, max_quantity in templates
        ]

    def _department(self):
        if self.departments and self.rng.random() < 0.75:
            return self.rng.choice(self.departments)
        return None

    def _description(self, lines: list[dict]) -> str:
        first = lines[0]["description"]
        return first if len(lines) == 1 else f"{first} and {len(lines) - 1} more"

    def _tax_number(self) -> str:
        if self.org.currency == "USD":
            return f"{self.rng.randint(10, 99)}-{self.rng.randint(1000000, 9999999)}"
        if self.org.currency == "AUD":  # an ABN: 11 digits
            return f"{self.rng.randint(10, 99)} {self.rng.randint(100, 999)} " + " ".join(
                str(self.rng.randint(100, 999)) for _ in range(2)
            )
        return f"EU{self.rng.randint(100000000, 999999999)}"


def _sequence(prefix: str) -> Callable[[_Payee, datetime.date], str]:
    """Numbers the organisation issues itself (invoices, expense claims), whoever the contact."""
    counter = itertools.count(1001)
    return lambda payee, day: f"{prefix}-{next(counter)}"


def seed_demo(password: str) -> dict[str, int]:
    """Every demo organisation, its users and documents, into an empty database; returns the
    documents seeded by organisation name."""
    rng = random.Random(SEED)
    today = timezone.localdate()
    orgs = {
        spec.slug: Organization.objects.create(
            name=spec.name, slug=spec.slug, currency=spec.currency
        )
        for spec in (DEMO, GLOBEX)
    }
    users = _create_users(orgs, password)

    demo = _OrgSeeder(
        org=orgs[DEMO.slug], rng=rng, today=today, clerk=users["clerk"], approver=users["admin"]
    )
    demo.add_categories(DEMO.category_codes)
    demo.add_departments(DEMO.departments)
    vendors = demo.add_payees(DEMO.vendors)
    demo.add_documents(
        kind=DocumentKind.BILL,
        payees=vendors,
        plan=DEMO.bills,
        number_for=lambda payee, day: payee.next_number(rng, day),
    )
    customers = demo.add_payees(
        [(name, "200") for name in DEMO_CUSTOMERS], kind=ContactKind.CUSTOMER
    )
    demo.add_documents(
        kind=DocumentKind.INVOICE,
        payees=customers,
        plan=DEMO_INVOICES,
        number_for=_sequence("INV"),
    )
    # Expense claims: travel and small purchases paid by staff.
    claimable = [payee for payee in vendors if payee.category.code in ("429", "493")]
    demo.add_documents(
        kind=DocumentKind.EXPENSE, payees=claimable, plan=DEMO_EXPENSES, number_for=_sequence("EXP")
    )

    # The multi-organisation clerk does Globex's data entry, which shows the switcher in use.
    globex = _OrgSeeder(
        org=orgs[GLOBEX.slug], rng=rng, today=today, clerk=users["multi"], approver=users["globex"]
    )
    globex.add_categories(GLOBEX.category_codes)
    globex.add_documents(
        kind=DocumentKind.BILL,
        payees=globex.add_payees(GLOBEX.vendors),
        plan=GLOBEX.bills,
        number_for=lambda payee, day: payee.next_number(rng, day),
    )
    return {
        DEMO.name: demo.document_count,
        GLOBEX.name: globex.document_count,
        **seed_teams(LEDGER_TEAMS, password),
    }


def seed_teams(specs, password: str) -> dict[str, int]:
    """Seed these ledger teams' organisations and users, each from a random generator of its
    own, so that adding one later changes nothing in the others."""
    today = timezone.localdate()
    orgs = {
        spec.slug: Organization.objects.create(
            name=spec.name, slug=spec.slug, currency=spec.currency
        )
        for spec in specs
    }
    users = _create_users(orgs, password)
    counts = {}
    for spec in specs:
        rng = random.Random(f"{SEED}-{spec.slug}")
        seeder = _OrgSeeder(
            org=orgs[spec.slug],
            rng=rng,
            today=today,
            clerk=users[spec.clerk],
            approver=users[spec.approver],
        )
        seeder.add_categories(spec.category_codes)
        seeder.add_departments(spec.departments)
        seeder.add_documents(
            kind=DocumentKind.BILL,
            payees=seeder.add_payees(spec.vendors),
            plan=spec.bills,
            number_for=lambda payee, day, rng=rng: payee.next_number(rng, day),
        )
        counts[spec.name] = seeder.document_count
    return counts


def _create_users(orgs: dict[str, Organization], password: str) -> dict:
    """The users whose organisations are all among these, with their memberships there."""
    users = {}
    for spec in USERS:
        if any(slug not in orgs for slug, _, _ in spec.memberships):
            continue
        # update_or_create: a developer may already have a local user with one of these names.
        user, _ = get_user_model().objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@demo.example",
                "is_active": True,
                "is_staff": spec.superuser,
                "is_superuser": spec.superuser,
            },
        )
        for slug, role, can_export in spec.memberships:
            Membership.objects.create(user=user, org=orgs[slug], role=role, can_export=can_export)
        users[spec.username] = user
    ensure_passwords(users.values(), password)
    return users


def ensure_passwords(users, password: str) -> None:
    """Give every user the password, keeping hashes that match: a new hash ends their sessions."""
    verdicts: dict[str, bool] = {}  # demo users usually share one hash: check it once
    new_hash = None
    for user in users:
        if user.password not in verdicts:
            verdicts[user.password] = check_password(password, user.password)
        if verdicts[user.password]:
            continue
        # One hash for all: they share the password anyway, and hashing is the slow part.
        new_hash = new_hash or make_password(password)
        user.password = new_hash
        user.save(update_fields=["password"])


def delete_demo() -> None:
    """The demo organisations (with everything they hold) and the demo users."""
    Organization.objects.filter(slug__in=ALL_SLUGS).delete()
    get_user_model().objects.filter(username__in=USERNAMES).delete()
