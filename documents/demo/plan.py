"""What the demo holds: its organisations (one per ledger team), users and roles, vendors,
categories, the lines of their documents and how far each document gets; fixed, so every
developer sees the same data (dates follow today)."""

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Role

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
    # seed_teams; the first two name theirs in seed_demo.
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
# one was added gets it on the next run, without a --reset. Each is seeded by seed_teams.
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
