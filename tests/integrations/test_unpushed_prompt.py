"""The connection page's "N documents are not in the ledger yet" (issue 17, item 7): what counts,
for which connection and organisation, and where it is not offered."""

import pytest
from django.urls import reverse

from documents.models import DocumentStatus, Payment
from integrations.models import Connection, ConnectionStatus, MappingKind, Provider
from integrations.selectors import connection_unmapped_before_push
from synclog.models import RecordStatus
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
    # The failed one is in Requires attention (and not in the Not pushed filter that "Preview
    # them" selects): on the new connection, the paid one and the approved one.
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
