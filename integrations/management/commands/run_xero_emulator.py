"""`manage.py run_xero_emulator --port 8123`: the local Xero emulator, the product's sandbox."""

from django.core.management.base import BaseCommand, CommandError

from integrations.emulators.xero import EmulatorConfig, serve


class Command(BaseCommand):
    help = "Serve the local Xero API emulator on loopback (state lives in memory)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8123)
        parser.add_argument(
            "--allow-remote", action="store_true", help="allow a non-loopback --host"
        )
        parser.add_argument("--client-id", default=EmulatorConfig.client_id)
        parser.add_argument("--client-secret", default=EmulatorConfig.client_secret)
        parser.add_argument("--quiet", action="store_true", help="do not log each request")
        parser.add_argument(
            "--tenant", action="append", default=[], help="another organisation, with its own user"
        )

    def handle(self, *args, **options):
        config = EmulatorConfig(
            client_id=options["client_id"], client_secret=options["client_secret"]
        )
        try:
            serve(
                options["host"],
                options["port"],
                config,
                allow_remote=options["allow_remote"],
                quiet=options["quiet"],
                tenants=tuple(options["tenant"]),
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
