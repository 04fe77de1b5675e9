from django.apps import AppConfig
from django.db.backends.signals import connection_created


class SynclogConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "synclog"

    def ready(self):
        from syncsvc.database import configure_connection

        # Every connection of the process, the workers' batch pushes first (see syncsvc.database).
        connection_created.connect(
            configure_connection, dispatch_uid="syncsvc.database.configure_connection"
        )
