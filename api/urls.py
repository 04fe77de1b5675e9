"""REST API for partner systems, under /api/v1/ (schema at /api/schema/, docs at /api/docs/)."""

urlpatterns = []
