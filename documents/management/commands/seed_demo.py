"""Seed the demo organisations with users, contacts and documents in every state.

Demo Company and Globex Ltd are the Xero teams; Initech Inc. is the AP team on QuickBooks Online
and Clearwater Workshop the one on MYOB, each with users of its own and the vendors and classes
(jobs) its ledger emulator's companies hold, so that mapping them after Connect is a matter of
picking the same names.

Organisations, users and memberships have no services, so they are written here; everything
else goes through documents.services, so the demo data obeys the rules that hand-entered data does.
"""

import datetime
import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Membership, Organization, Role
from documents import services
from documents.models import Category, Contact, ContactKind, Document, DocumentKind, Payment

DEFAULT_PASSWORD = "ledgersync-demo"
# Fixed, so every developer sees the same vendors and amounts (dates follow today).
SEED = 4242
CENT = Decimal("0.01")

# How a document ends up; more than DocumentStatus, because "paid" is reached in several ways.
DRAFT = "draft"
AWAITING = "awaiting_approval"
APPROVED = "approved"
PART_PAID = "part_paid"
PAID = "paid"
PAID_IN_TWO = "paid_in_two"
MARKED_PAID = "marked_paid"
VOID = "void"

# Days before today that a document with this outcome was issued: older ones are further along.
AGE_DAYS = {
    DRAFT: (0, 14),
    AWAITING: (0, 30),
    APPROVED: (3, 60),
    PART_PAID: (10, 75),
    PAID: (15, 120),
    PAID_IN_TWO: (30, 120),
    MARKED_PAID: (20, 120),
    VOID: (0, 120),
}

# Codes follow a common small-business chart of accounts.
CATEGORY_NAMES = {
    "200": "Sales",
    "400": "Advertising",
    "412": "Consulting",
    "429": "Office Supplies",
    "445": "Utilities",
    "469": "Rent",
    "485": "Software",
    "489": "Telephone",
    "493": "Travel",
}

# Per category: (description, lowest and highest unit amount, highest quantity).
LINE_TEMPLATES = {
    "200": (
        ("Implementation services (hours)", 120, 180, 40),
        ("Annual licence", 2400, 9600, 1),
        ("Training day", 900, 1600, 2),
        ("Support retainer", 500, 2000, 1),
    ),
    "400": (
        ("Search advertising", 250, 4200, 1),
        ("Social media campaign", 400, 3500, 1),
        ("Print advertisement", 300, 1800, 2),
        ("Design and production", 150, 1200, 1),
    ),
    "412": (
        ("Consulting (hours)", 95, 240, 40),
        ("Workshop, half day", 800, 2400, 1),
        ("Month-end bookkeeping", 450, 1500, 1),
        ("Travel and expenses", 40, 420, 1),
    ),
    "429": (
        ("Printer paper, box of 5 reams", 28, 45, 10),
        ("Toner cartridge", 65, 140, 4),
        ("Ballpoint pens, pack of 50", 9, 18, 5),
        ("Desk chair", 180, 420, 3),
        ("Archive boxes, pack of 10", 14, 30, 6),
    ),
    "445": (
        ("Electricity", 180, 950, 1),
        ("Water and sewer", 40, 220, 1),
        ("Gas", 60, 480, 1),
        ("Waste collection", 45, 160, 1),
    ),
    "469": (
        ("Office rent", 3800, 5200, 1),
        ("Service charge", 240, 620, 1),
        ("Parking space", 90, 160, 4),
    ),
    "485": (
        ("Monthly subscription", 29, 900, 1),
        ("Additional user seats", 8, 45, 25),
        ("Premium support plan", 99, 600, 1),
        ("Data storage add-on", 15, 120, 3),
    ),
    "489": (
        ("Mobile plan", 25, 70, 12),
        ("Business broadband", 60, 220, 1),
        ("International calls", 10, 140, 1),
    ),
    "493": (
        ("Return flight", 180, 950, 2),
        ("Hotel, two nights", 220, 640, 2),
        ("Rental car, three days", 120, 390, 1),
        ("Rail tickets", 40, 180, 3),
        ("Taxi and rideshare", 18, 95, 4),
    ),
}

# Vendors invoice with their own numbering; "{n}" is their running number.
VENDOR_NUMBER_FORMATS = ("INV-{n}", "{n}", "SI-{n:05d}", "B{n:06d}", "{year}/{n:04d}")
PAYMENT_TERMS_DAYS = (14, 30, 30, 30, 45, 60)


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    currency: str
    category_codes: tuple[str, ...]
    departments: tuple[str, ...]
    vendors: tuple[tuple[str, str], ...]  # (name, category code)
    bills: dict[str, int]  # outcome -> how many
    # Who enters and who approves (and pays) the documents of an organisation seeded by
    # _seed_team; the first two name theirs in _seed.
    clerk: str = ""
    approver: str = ""


DEMO = OrgSpec(
    slug="demo",
    name="Demo Company",
    currency="USD",
    category_codes=("200", "400", "412", "429", "445", "469", "485", "489", "493"),
    departments=("Engineering", "Finance", "Marketing", "Operations", "Sales"),
    vendors=(
        ("Northwind Office Supply", "429"),
        ("Paper Trail Stationers", "429"),
        ("Brightdesk Furniture", "429"),
        ("Inkwell Print Services", "429"),
        ("Bluebird Travel", "493"),
        ("Harbor View Hotels", "493"),
        ("Metro Cab Company", "493"),
        ("Skyline Air Charters", "493"),
        ("Cloudnine Software", "485"),
        ("Lattice Analytics", "485"),
        ("Pinecone Security", "485"),
        ("Orbit Project Tools", "485"),
        ("Riverside Properties LLC", "469"),
        ("Granite Plaza Management", "469"),
        ("Summit Facility Services", "469"),
        ("City Power & Light", "445"),
        ("Clearwater Utilities", "445"),
        ("Evergreen Waste Services", "445"),
        ("Beacon Media Group", "400"),
        ("Signal Search Marketing", "400"),
        ("Canvas Print Advertising", "400"),
        ("Lumen Social Agency", "400"),
        ("Hartwell & Stone Advisors", "412"),
        ("Keystone Legal Partners", "412"),
        ("Meridian Tax Consultants", "412"),
        ("Oakridge IT Consulting", "412"),
        ("Quill & Ledger Bookkeeping", "412"),
        ("Pacific Telecom", "489"),
        ("Relay Mobile", "489"),
        ("FiberLink Broadband", "489"),
    ),
    bills={
        DRAFT: 18,
        AWAITING: 34,
        APPROVED: 30,
        PART_PAID: 14,
        PAID: 40,
        PAID_IN_TWO: 24,
        MARKED_PAID: 24,
        VOID: 16,
    },
)
DEMO_CUSTOMERS = (
    "Wayfarer Outfitters",
    "Brightline Clinics",
    "Cobalt Manufacturing",
    "Juniper Schools",
    "Harvest Moon Grocers",
)
DEMO_INVOICES = {DRAFT: 1, AWAITING: 1, APPROVED: 2, PART_PAID: 1, PAID: 2}
DEMO_EXPENSES = {AWAITING: 2, APPROVED: 1, MARKED_PAID: 3}

GLOBEX = OrgSpec(
    slug="globex",
    name="Globex Ltd",
    currency="EUR",
    category_codes=("412", "429", "469", "485", "493"),
    departments=(),
    vendors=(
        ("Müller Bürobedarf GmbH", "429"),
        ("Papeterie Lumière SARL", "429"),
        ("Amsterdam Cloud B.V.", "485"),
        ("Nordsee Software GmbH", "485"),
        ("Iberia Viajes S.L.", "493"),
        ("Milano Affitti S.r.l.", "469"),
        ("Lyon Conseil SARL", "412"),
        ("Dublin Advisory Partners Ltd", "412"),
    ),
    bills={
        DRAFT: 2,
        AWAITING: 4,
        APPROVED: 3,
        PART_PAID: 2,
        PAID: 4,
        PAID_IN_TWO: 2,
        MARKED_PAID: 2,
        VOID: 1,
    },
)


# An AP team on QuickBooks Online. Its vendors, categories and departments are named like the
# QuickBooks emulator's company ("Initech Inc. (QBO)" under make run; integrations/emulators/qbo/
# seed.py), whose vendors every bill must be mapped to: QuickBooks takes no vendor by name.
INITECH = OrgSpec(
    slug="initech",
    name="Initech Inc.",
    currency="USD",
    category_codes=("412", "429", "445", "469", "493"),
    departments=("Operations", "Sales", "Marketing"),  # the emulator's classes
    vendors=(
        ("Office Supplies Ltd", "429"),
        ("City Power & Light", "445"),
        ("Brosnahan Insurance Agency", "412"),
    ),
    bills={
        DRAFT: 3,
        AWAITING: 6,
        APPROVED: 6,
        PART_PAID: 2,
        PAID: 5,
        PAID_IN_TWO: 2,
        MARKED_PAID: 2,
        VOID: 2,
    },
    clerk="initech-clerk",
    approver="initech",
)
# An AP team on MYOB (Australia, AUD). Its vendors, categories and departments are named like
# the MYOB emulator's company files' suppliers, accounts and jobs (integrations/emulators/myob/
# seed.py): MYOB takes a supplier card's UID on every bill, never a name.
CLEARWATER = OrgSpec(
    slug="clearwater",
    name="Clearwater Workshop Pty Ltd",
    currency="AUD",
    category_codes=("429", "445", "469"),
    departments=("Workshop", "Field Service"),  # the emulator's jobs
    vendors=(
        ("Acme Supplies", "429"),
        ("Bright Power", "445"),
        ("Harbour Property Group", "469"),
    ),
    bills={
        DRAFT: 2,
        AWAITING: 4,
        APPROVED: 5,
        PART_PAID: 2,
        PAID: 4,
        PAID_IN_TWO: 1,
        MARKED_PAID: 1,
        VOID: 1,
    },
    clerk="clearwater-clerk",
    approver="clearwater",
)
# Organisations of other ledgers' teams, seeded after the first two: a demo database made before
# one was added gets it on the next run, without a --reset. Each is seeded by _seed_team.
LEDGER_TEAMS = (INITECH, CLEARWATER)
ALL_SLUGS = [DEMO.slug, GLOBEX.slug, *(spec.slug for spec in LEDGER_TEAMS)]


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    memberships: tuple[tuple[str, str, bool], ...]  # (organisation slug, role, can export)
    superuser: bool = False


USERS = (
    UserSpec("admin", "Alex", "Morgan", (("demo", Role.ADMIN, True),), superuser=True),
    UserSpec("clerk", "Casey", "Lee", (("demo", Role.AP_CLERK, False),)),
    UserSpec("accounting", "Jordan", "Patel", (("demo", Role.ACCOUNTING_SYNC, True),)),
    # Accounting staff without the export permission: the Excel export is hidden for them.
    UserSpec("auditor", "Robin", "Quinn", (("demo", Role.ACCOUNTING_SYNC, False),)),
    UserSpec("support", "Sam", "Rivera", (("demo", Role.SUPPORT, False),)),
    UserSpec(
        "multi",
        "Taylor",
        "Kim",
        (("demo", Role.AP_CLERK, False), ("globex", Role.AP_CLERK, False)),
    ),
    UserSpec("globex", "Greta", "Vogel", (("globex", Role.ADMIN, True),)),
    # Initech's team on QuickBooks Online: one user per role, like Demo Company's.
    UserSpec("initech", "Bill", "Lumbergh", (("initech", Role.ADMIN, True),)),
    UserSpec("initech-clerk", "Peter", "Gibbons", (("initech", Role.AP_CLERK, False),)),
    UserSpec("initech-accounting", "Joanna", "Harper", (("initech", Role.ACCOUNTING_SYNC, True),)),
    UserSpec("initech-support", "Samir", "Nagheenanajar", (("initech", Role.SUPPORT, False),)),
    # Clearwater Workshop's team on MYOB, one user per role.
    UserSpec("clearwater", "Mia", "Nguyen", (("clearwater", Role.ADMIN, True),)),
    UserSpec("clearwater-clerk", "Jack", "Taylor", (("clearwater", Role.AP_CLERK, False),)),
    UserSpec(
        "clearwater-accounting", "Olivia", "Brown", (("clearwater", Role.ACCOUNTING_SYNC, True),)
    ),
    UserSpec("clearwater-support", "Noah", "Wilson", (("clearwater", Role.SUPPORT, False),)),
)
USERNAMES = [spec.username for spec in USERS]


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


class Command(BaseCommand):
    help = "Seed the demo organisations, users and documents (once; --reset to start over)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo organisations and their users, then seed again.",
        )

    def handle(self, *args, password: str, reset: bool, **options):
        with transaction.atomic():
            if reset:
                _delete_demo()
            existing = set(
                Organization.objects.filter(slug__in=ALL_SLUGS).values_list("slug", flat=True)
            )
            if DEMO.slug in existing:
                missing = [spec for spec in LEDGER_TEAMS if spec.slug not in existing]
                if missing:
                    counts = _seed_teams(missing, password)
                    self._print_seeded(counts)
                else:
                    self.stdout.write(
                        "The demo data exists already (use --reset to seed it again)."
                    )
                _ensure_passwords(get_user_model().objects.filter(username__in=USERNAMES), password)
            elif existing:
                raise CommandError(
                    f"Organisations with the slugs {sorted(existing)!r} exist but are not demo "
                    "data; use --reset to replace them."
                )
            else:
                self._print_seeded(_seed(password))
        self._print_logins(password)

    def _print_seeded(self, counts: dict[str, int]) -> None:
        summary = ", ".join(f"{name}: {count} documents" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded the demo data ({summary})."))

    def _print_logins(self, password: str) -> None:
        memberships = defaultdict(list)
        for membership in Membership.objects.filter(user__username__in=USERNAMES).select_related(
            "user", "org"
        ):
            memberships[membership.user.username].append(membership)
        rows = [("Username", "Password", "Organisation(s)", "Role")]
        for username in USERNAMES:
            if username not in memberships:
                continue
            user_memberships = memberships[username]
            roles = dict.fromkeys(m.get_role_display() for m in user_memberships)
            role = " / ".join(roles)
            if any(m.can_export for m in user_memberships):
                role += ", can export"
            if user_memberships[0].user.is_superuser:
                role += ", Django admin"
            orgs = ", ".join(m.org.name for m in user_memberships)
            rows.append((username, password, orgs, role))
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        self.stdout.write("Demo logins:")
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + "  ".join(cells)).rstrip())


def _seed(password: str) -> dict[str, int]:
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
        **_seed_teams(LEDGER_TEAMS, password),
    }


def _seed_teams(specs, password: str) -> dict[str, int]:
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
    _ensure_passwords(users.values(), password)
    return users


def _ensure_passwords(users, password: str) -> None:
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


def _delete_demo() -> None:
    Organization.objects.filter(slug__in=ALL_SLUGS).delete()
    get_user_model().objects.filter(username__in=USERNAMES).delete()
