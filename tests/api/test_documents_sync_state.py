"""GET /documents?sync_state=… (issue 17, item 6): the documents page's sync status filter,
the same FilterSet, for a partner system; scoped to the key's organisation."""

from documents.models import DocumentStatus
from synclog.models import RecordStatus
from tests.factories import ConnectionFactory, DocumentFactory, SyncRecordFactory


def test_filter_documents_by_sync_status(api, org, other_org):
    xero = ConnectionFactory(org=org)
    failed = DocumentFactory(org=org, number="F-1", status=DocumentStatus.APPROVED)
    SyncRecordFactory(connection=xero, document=failed, status=RecordStatus.FAILED)
    DocumentFactory(org=org, number="N-1", status=DocumentStatus.APPROVED)
    theirs = ConnectionFactory(org=other_org, name="Theirs")
    SyncRecordFactory(
        connection=theirs,
        document=DocumentFactory(org=other_org, number="F-THEIRS", status="approved"),
        status=RecordStatus.FAILED,
    )

    def numbers(**params):
        response = api.get("/api/v1/documents", params)
        assert response.status_code == 200, response.content
        return sorted(row["number"] for row in response.json()["results"])

    assert numbers(sync_state="failed") == ["F-1"]
    assert numbers(sync_state="not_pushed") == ["N-1"]
    assert numbers(sync_state="in_ledger") == []
    assert api.get("/api/v1/documents", {"sync_state": "lost"}).status_code == 400
