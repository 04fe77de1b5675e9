import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import F, Q

from accounts.models import Membership, Organization, Role
from documents.models import (
    Category,
    Contact,
    ContactKind,
    Department,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Payment,
)

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = (
    "admin",
    "clerk",
    "accounting",
    "auditor",
    "support",
    "multi",
    "globex",
    "initech",
    "initech-clerk",
    "initech-accounting",
    "initech-support",
    "clearwater",
    "clearwater-clerk",
    "clearwater-accounting",
    "clearwater-support",
)
DEMO_SLUGS = ["demo", "globex", "initech", "clearwater"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_logins(output: str) -> dict[str, str]:
    """Username -> password, read from the table after "Demo logins:"."""
    table = output.split("Demo logins:\n", 1)[1]
    rows = [line.split() for line in table.splitlines()[1:]]  # the first line is the header
    return {row[0]: row[1] for row in rows}


def counts() -> dict[str, int]:
    demo_orgs = Q(org__slug__in=DEMO_SLUGS)
    return {
        "orgs": Organization.objects.count(),
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
        "contacts": Contact.objects.filter(demo_orgs).count(),
        "categories": Category.objects.filter(demo_orgs).count(),
        "departments": Department.objects.filter(demo_orgs).count(),
        "documents": Document.objects.filter(demo_orgs).count(),
        "lines": DocumentLine.objects.filter(document__org__slug__in=DEMO_SLUGS).count(),
        "payments": Payment.objects.filter(demo_orgs).count(),
    }


def test_seeds_both_organisations_with_documents_in_every_state():
    output = seed()

    demo = Organization.objects.get(slug="demo", name="Demo Company", currency="USD")
    globex = Organization.objects.get(slug="globex", name="Globex Ltd", currency="EUR")
    for role in Role.values:
        assert Membership.objects.filter(org=demo, role=role).exists(), role
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert Membership.objects.get(user=admin).can_export
    # Accounting staff both with and without the export permission, to try the page as each.
    assert Membership.objects.get(user__username="accounting", role=Role.ACCOUNTING_SYNC).can_export
    assert not Membership.objects.get(
        user__username="auditor", role=Role.ACCOUNTING_SYNC
    ).can_export
    assert set(
        Membership.objects.filter(user__username="multi").values_list("org__slug", "role")
    ) == {("demo", Role.AP_CLERK), ("globex", Role.AP_CLERK)}
    assert Membership.objects.filter(user__username="globex", org=globex, role=Role.ADMIN).exists()

    assert Contact.objects.for_org(demo).filter(kind=ContactKind.VENDOR).count() >= 25
    bills = Document.objects.for_org(demo).filter(kind=DocumentKind.BILL)
    assert bills.count() >= 180
    assert set(bills.values_list("status", flat=True)) == set(DocumentStatus.values)
    assert bills.filter(status=DocumentStatus.APPROVED, amount_paid__gt=0).exists()
    paid_bills = bills.filter(status=DocumentStatus.PAID)
    assert paid_bills.filter(marked_paid=True).exists()
    assert paid_bills.filter(marked_paid=False).exists()
    demo_kinds = set(Document.objects.for_org(demo).values_list("kind", flat=True))
    assert demo_kinds == set(DocumentKind.values)
    assert Document.objects.for_org(globex).filter(kind=DocumentKind.BILL).count() >= 15

    documents = Document.objects.filter(org__slug__in=DEMO_SLUGS)
    for document in documents.prefetch_related("lines", "payments"):
        assert sum(line.amount for line in document.lines.all()) == document.total, document
        assert sum(p.amount for p in document.payments.all()) == document.amount_paid, document
    assert not documents.filter(status=DocumentStatus.PAID).exclude(amount_paid=F("total")).exists()
    # Tenant isolation: nothing points at another organisation's contact or category.
    assert not documents.exclude(contact__org=F("org")).exists()
    assert not documents.exclude(Q(category__isnull=True) | Q(category__org=F("org"))).exists()

    logins = printed_logins(output)
    assert set(logins) == set(DEMO_USERNAMES)
    for username, password in logins.items():
        assert password == "ledgersync-demo"
        assert authenticate(username=username, password=password) is not None, username


# One test for both, since each full seed takes a few seconds.
def test_running_again_adds_nothing_and_reset_seeds_afresh():
    seed()
    before = counts()
    old_demo_id = Organization.objects.get(slug="demo").id

    output = seed("--password", "another-secret")

    assert "exists already" in output
    assert counts() == before
    for username, password in printed_logins(output).items():
        assert password == "another-secret"
        assert authenticate(username=username, password=password) is not None, username

    output = seed("--reset")

    assert counts() == before
    assert Organization.objects.get(slug="demo").id != old_demo_id
    assert authenticate(username="clerk", password=printed_logins(output)["clerk"]) is not None


def test_initech_is_an_ap_team_of_its_own_on_the_quickbooks_emulators_names():
    from integrations.emulators.qbo import seed as qbo_seed

    seed()

    initech = Organization.objects.get(slug="initech", name="Initech Inc.", currency="USD")
    members = Membership.objects.filter(org=initech)
    # Every role, held by users of Initech alone (no one signs in through another organisation).
    assert set(members.values_list("role", flat=True)) == set(Role.values)
    assert not Membership.objects.filter(user__in=members.values("user")).exclude(org=initech)
    assert members.get(user__username="initech").role == Role.ADMIN

    bills = Document.objects.for_org(initech).filter(kind=DocumentKind.BILL)
    assert set(bills.values_list("status", flat=True)) == set(DocumentStatus.values)
    assert bills.filter(status=DocumentStatus.APPROVED, amount_paid__gt=0).exists()
    assert Payment.objects.for_org(initech).exists()
    # Each vendor and department has its namesake in the QuickBooks company (vendors, classes),
    # so the admin maps them by picking the same name after Connect.
    vendors = set(Contact.objects.for_org(initech).values_list("name", flat=True))
    active_qbo_vendors = set(qbo_seed.VENDORS) - qbo_seed.INACTIVE_VENDORS
    assert vendors and vendors <= active_qbo_vendors
    departments = set(Department.objects.for_org(initech).values_list("name", flat=True))
    assert departments and departments <= set(qbo_seed.CLASSES)
    assert set(bills.values_list("contact__name", flat=True)) == vendors


def test_a_demo_seeded_before_initech_gets_it_on_the_next_run():
    seed()
    Organization.objects.filter(slug="initech").delete()
    get_user_model().objects.filter(username__startswith="initech").delete()
    before = {slug: Document.objects.filter(org__slug=slug).count() for slug in ("demo", "globex")}

    output = seed()

    assert "Initech Inc.:" in output and "exists already" not in output
    assert Document.objects.filter(org__slug="initech").count() >= 20
    after = {slug: Document.objects.filter(org__slug=slug).count() for slug in ("demo", "globex")}
    assert after == before
    assert set(printed_logins(output)) == set(DEMO_USERNAMES)
    assert authenticate(username="initech-clerk", password="ledgersync-demo") is not None


def test_clearwater_is_an_ap_team_of_its_own_on_the_myob_emulators_names():
    from integrations.emulators.myob import seed as myob_seed

    seed()

    clearwater = Organization.objects.get(slug="clearwater", currency="AUD")
    members = Membership.objects.filter(org=clearwater)
    assert set(members.values_list("role", flat=True)) == set(Role.values)
    assert not Membership.objects.filter(user__in=members.values("user")).exclude(org=clearwater)
    bills = Document.objects.for_org(clearwater).filter(kind=DocumentKind.BILL)
    assert set(bills.values_list("status", flat=True)) == set(DocumentStatus.values)
    assert Payment.objects.for_org(clearwater).exists()
    # Each vendor, category and department has its namesake in the MYOB company file (active
    # supplier cards, detail accounts, detail jobs): the admin maps them by picking the name.
    suppliers = {name for _, name, active in myob_seed.SUPPLIER_CARDS if active}
    vendors = set(Contact.objects.for_org(clearwater).values_list("name", flat=True))
    assert vendors and vendors <= suppliers
    accounts = {
        name
        for _, name, _, kind, header, active in myob_seed.CHART
        if kind == "Expense" and active and not header
    }
    categories = set(Category.objects.for_org(clearwater).values_list("name", flat=True))
    assert categories and categories <= accounts
    jobs = {name for _, name, header in myob_seed.JOB_LIST if not header}
    departments = set(Department.objects.for_org(clearwater).values_list("name", flat=True))
    assert departments and departments <= jobs
