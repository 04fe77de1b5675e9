"""The connection page's "N documents are not in the ledger yet" (issue 17, item 7): what counts,
for which connection and organisation, and where it is not offered."""

import re

import pytest
from django.urls import reverse

from documents.models import DocumentStatus, Payment
from integrations import services as integration_services
from integrations.models import Connection, ConnectionStatus, MappingKind, Provider
from integrations.selectors import connection_unmapped_before_push
from synclog import services as sync_services
from synclog.models import RecordStatus, SyncRecord, SyncRun
from synclog.selectors.document_state import (
    connection_unpushed_document_count,
    connection_unpushed_documents,
)
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    DocumentFactory,
    MappingFactory,
    SyncRecordFactory,
)
from tests.ledger_fixtures import QboBooks, XeroBooks
from tests.tenancy import assert_not_found_for_other_tenant


def connect(org, name="Xero", status=ConnectionStatus.ACTIVE):
    return Connection.objects.create(
        org=org, provider=Provider.XERO, name=name, status=status, tenant_name=f"{name} Ltd"
    )


def complete(connection, document):
    SyncRecordFactory(connection=connection, document=document, status=RecordStatus.COMPLETE)


def test_counts_the_syncable_documents_with_no_record_on_this_connection(org, other_org):
    new = connect(org)
    old = connect(org, "Old ledger")
    in_both = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    complete(new, in_both)
    complete(old, in_both)
    complete(old, DocumentFactory(org=org, status=DocumentStatus.PAID))  # not in the new one
    failed = DocumentFactory(org=org, status=DocumentStatus.VOID)
    SyncRecordFactory(connection=new, document=failed, status=RecordStatus.FAILED)
    approved = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    DocumentFactory(org=org, status=DocumentStatus.DRAFT)
    DocumentFactory(org=org, status=DocumentStatus.AWAITING_APPROVAL)
    DocumentFactory(org=other_org, status=DocumentStatus.APPROVED)  # not ours
    # The failed one is in Requires attention (and not among what "Preview them" selects): on
    # the new connection, the paid one and the approved one.
    assert connection_unpushed_document_count(connection=new) == 2
    assert connection_unpushed_document_count(connection=old) == 2
    assert set(connection_unpushed_documents(connection=old)) == {failed, approved}


def test_the_connection_page_offers_to_push_them(admin_client, org):
    connection = connect(org)
    DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    DocumentFactory(org=org, status=DocumentStatus.PAID)
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk]))
    html = page.content.decode()
    assert "2 documents are not in Xero Ltd yet" in html
    force = reverse("integrations:action", args=[connection.pk, "force"])
    assert f'<form method="post" action="{force}">' in html
    assert 'id="push-now">Push them now</button>' in html


@pytest.mark.parametrize(
    "status", [ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_REAUTH, "disconnected"]
)
def test_not_offered_where_nothing_can_be_pushed_now(admin_client, org, status):
    connection = connect(org, status=status)
    DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk]))
    assert b"unpushed-prompt" not in page.content


def test_a_document_whose_push_failed_is_left_to_requires_attention(admin_client, org):
    """Seen on the demo: a bill held for the ledger's lock date made the page say "1 document
    is not in the ledger yet … nothing pushes it by itself", and its "Preview them" (the Not
    pushed filter) answered that none of the selected documents existed any more."""
    connection = connect(org)
    held = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    SyncRecordFactory(connection=connection, document=held, status=RecordStatus.FAILED)
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk]))
    assert b"unpushed-prompt" not in page.content
    preview = admin_client.post(
        reverse("synclog:bulk-confirm"),
        {"select_all_matching": "1", "filter_query": "sync_state=not_pushed"},
    )
    assert b"No document matches this selection now" in preview.content


def test_nothing_to_say_when_the_ledger_has_everything(admin_client, org):
    connection = connect(org)
    complete(connection, DocumentFactory(org=org, status=DocumentStatus.APPROVED))
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk]))
    assert b"unpushed-prompt" not in page.content


def test_another_organisations_connection_is_not_found(admin_client, other_org):
    theirs = connect(other_org)
    DocumentFactory(org=other_org, status=DocumentStatus.APPROVED)
    assert_not_found_for_other_tenant(
        admin_client, "get", reverse("integrations:detail", args=[theirs.pk])
    )
    assert_not_found_for_other_tenant(
        admin_client, "post", reverse("integrations:action", args=[theirs.pk, "force"])
    )


def test_the_prompt_names_what_to_map_before_pushing(
    admin_client, org, other_org, django_assert_max_num_queries
):
    # Found on the demo: Push them now right after mapping categories by code sent 289 entries,
    # and 90 documents failed on departments and the bank account nobody had said were needed.
    connection = connect(org)
    travel = CategoryFactory(org=org, name="Travel")
    office = CategoryFactory(org=org, name="Office")
    MappingFactory(connection=connection, local_id=office.pk)
    sales = DepartmentFactory(org=org, name="Sales")
    paid = DocumentFactory(org=org, status=DocumentStatus.PAID, category=office, department=sales)
    Payment.objects.create(org=org, document=paid, amount=paid.total, paid_at=paid.issue_date)
    DocumentFactory(org=org, status=DocumentStatus.APPROVED, category=travel)
    DocumentFactory(org=org, status=DocumentStatus.DRAFT, category=CategoryFactory(org=org))
    # Another organisation's unmapped names never show here.
    DocumentFactory(org=other_org, status=DocumentStatus.APPROVED, category__name="Secret")

    unmapped = connection_unmapped_before_push(
        connection=connection, documents=connection_unpushed_documents(connection=connection)
    )
    assert (unmapped.categories, unmapped.departments, unmapped.contacts) == (
        ["Travel"],
        ["Sales"],
        [],  # Xero takes contacts by name
    )
    assert unmapped.payment_account
    with django_assert_max_num_queries(20):
        page = admin_client.get(reverse("integrations:detail", args=[connection.pk]))
    prompt = page.content.decode()
    assert "Categories: Travel" in prompt and "Departments: Sales" in prompt
    assert "The bank account bills are paid from" in prompt and "Secret" not in prompt

    # Mapped: nothing left to name; the push is still offered.
    MappingFactory(connection=connection, local_id=travel.pk)
    MappingFactory(connection=connection, kind=MappingKind.TRACKING, local_id=sales.pk)
    connection.settings = {"payment_account_code": "090"}
    connection.save()
    page = admin_client.get(reverse("integrations:detail", args=[connection.pk])).content.decode()
    assert "unmapped-before-push" not in page and 'id="push-now"' in page


def test_a_ledger_that_takes_contacts_by_id_names_the_vendors_too(org):
    connection = connect(org)
    connection.provider = Provider.QUICKBOOKS
    connection.save()
    DocumentFactory(org=org, status=DocumentStatus.APPROVED, contact__name="Paper Co")
    unmapped = connection_unmapped_before_push(
        connection=connection, documents=connection_unpushed_documents(connection=connection)
    )
    assert unmapped.contacts == ["Paper Co"]


# --- "Preview them" with two ledgers: that connection's documents, to that ledger alone ---------


@pytest.fixture
def two_ledgers(monkeypatch, settings, xero_emulator, xero_transport, qbo_emulator, qbo_transport):
    """Xero and QuickBooks Online emulators in process, each connector routed to its own."""
    settings.LEDGER_EMULATOR_ALLOWED = True
    transports = {Provider.XERO: xero_transport, Provider.QUICKBOOKS: qbo_transport}
    monkeypatch.setattr(
        integration_services.ledger,
        "ledger_transport",
        lambda connection: transports[connection.provider],
    )
    return XeroBooks(xero_emulator), QboBooks(qbo_emulator)


def push_pending():
    """Play the worker: push every Pending record once."""
    for record_id in SyncRecord.objects.filter(status=RecordStatus.PENDING).values_list(
        "pk", flat=True
    ):
        sync_services.sync_record_push(record_id=record_id, worker="test")


def test_preview_selects_that_connections_documents_and_pushes_them_to_it_alone(
    admin_client, org, category, two_ledgers
):
    """Seen on the demo walk: with Xero and QuickBooks connected, the Xero page said "1 document
    is not in Demo Company yet", but its "Preview them" selected the organisation's Not pushed
    filter: "Re-sync 163 documents? … will be pushed again to QuickBooks Online walk and Xero
    walk", and confirming would have pushed all of them to both."""
    xero_books, qbo_books = two_ledgers
    xero = xero_books.connect_org(org, name="Xero walk")
    qbo = qbo_books.connect_org(org)
    not_in_xero = DocumentFactory(org=org, number="NX-1", category=category, status="approved")
    complete(qbo, not_in_xero)
    not_in_qbo = DocumentFactory(org=org, number="NQ-1", category=category, status="approved")
    complete(xero, not_in_qbo)
    DocumentFactory(org=org, status=DocumentStatus.DRAFT)

    page = admin_client.get(reverse("integrations:detail", args=[xero.pk])).content.decode()
    assert "1 document is not in Xero walk yet" in page
    assert 'id="preview-unpushed">Preview it</button>' in page
    assert 'id="push-now">Push it now</button>' in page
    preview_form = re.search(r"<form[^>]*bulk/confirm[^>]*>(.*?)</form>", page, re.S).group(1)
    selection = dict(re.findall(r'name="(\w+)" value="([^"]*)"', preview_form))
    selection.pop("csrfmiddlewaretoken")
    assert selection == {"unpushed_connection": str(xero.pk)}

    confirm = admin_client.post(reverse("synclog:bulk-confirm"), selection)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", confirm.content.decode()))
    assert "Re-sync 1 document?" in text
    # Never pushed to Xero: pushed, not "pushed again"; and to Xero alone.
    assert "It will be pushed to Xero walk (Xero)." in text
    assert "QuickBooks" not in text
    assert f'name="unpushed_connection" value="{xero.pk}"' in confirm.content.decode()
    preview = admin_client.post(reverse("synclog:bulk-preview"), selection).content.decode()
    assert "NX-1" in preview and "NQ-1" not in preview

    started = admin_client.post(reverse("synclog:bulk-resync"), selection)
    assert started.status_code == 302
    run = SyncRun.objects.get()
    assert (run.connection, run.total) == (xero, 1)
    assert list(SyncRecord.objects.filter(status=RecordStatus.PENDING)) == [
        SyncRecord.objects.get(connection=xero, document=not_in_xero)
    ]
    push_pending()
    assert [bill.number for bill in xero_books.bills()] == ["NX-1"]
    assert qbo_books.writes() == []
    assert connection_unpushed_document_count(connection=xero) == 0
    assert connection_unpushed_document_count(connection=qbo) == 1

    # Pushed since: the confirmation says so instead of an empty dialog.
    again = admin_client.post(reverse("synclog:bulk-confirm"), selection)
    assert b"Nothing is left to push to Xero walk" in again.content


def test_preview_of_another_organisations_connection_is_not_found(admin_client, other_org):
    theirs = connect(other_org)
    DocumentFactory(org=other_org, status=DocumentStatus.APPROVED)
    for step in ("synclog:bulk-confirm", "synclog:bulk-preview", "synclog:bulk-resync"):
        assert_not_found_for_other_tenant(
            admin_client, "post", reverse(step), {"unpushed_connection": theirs.pk}
        )
    assert not SyncRun.objects.exists() and not SyncRecord.objects.exists()


def test_the_confirmation_says_again_only_for_documents_already_in_the_ledger(
    admin_client, org, category
):
    connection = connect(org)
    pushed = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    complete(connection, pushed)
    new = DocumentFactory(org=org, status=DocumentStatus.APPROVED)

    def said(ids):
        page = admin_client.post(reverse("synclog:bulk-confirm"), {"document_ids": ids})
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.content.decode()))

    assert "It will be pushed again to Xero (Xero)." in said([pushed.pk])
    assert "It will be pushed to Xero (Xero)." in said([new.pk])
    assert "All of them will be pushed to Xero (Xero) (1 of them for the first time)." in said(
        [pushed.pk, new.pk]
    )
