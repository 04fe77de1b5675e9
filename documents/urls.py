from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("", views.DocumentListView.as_view(), name="list"),
    path("new/", views.DocumentCreateView.as_view(), name="create"),
    path("<int:document_id>/", views.DocumentDetailView.as_view(), name="detail"),
    path("<int:document_id>/edit/", views.DocumentEditView.as_view(), name="edit"),
    path("<int:document_id>/submit/", views.DocumentSubmitView.as_view(), name="submit"),
    path("<int:document_id>/approve/", views.DocumentApproveView.as_view(), name="approve"),
    path("<int:document_id>/mark-paid/", views.DocumentMarkPaidView.as_view(), name="mark-paid"),
    path("<int:document_id>/void/", views.DocumentVoidView.as_view(), name="void"),
    path("<int:document_id>/payments/new/", views.PaymentCreateView.as_view(), name="pay"),
    path(
        "<int:document_id>/attachments/",
        views.AttachmentUploadView.as_view(),
        name="attachment-upload",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment-download",
    ),
]
