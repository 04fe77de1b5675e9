from django.apps import AppConfig


class SynclogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "synclog"
