from synclog.views import attention, bulk, document_tab, events, health, history

app_name = "synclog"

urlpatterns = [
    *document_tab.urlpatterns,
    *bulk.urlpatterns,
    *attention.urlpatterns,
    *history.urlpatterns,
    *health.urlpatterns,
    *events.urlpatterns,
]
