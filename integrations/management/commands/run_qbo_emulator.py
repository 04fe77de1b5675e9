"""`manage.py run_qbo_emulator --port 8125`: the local QuickBooks Online emulator."""

from django.core.management.base import BaseCommand, CommandError

from integrations.emulators.qbo import EmulatorConfig, serve


class Command(BaseCommand):
    help = "Serve the local QuickBooks Online API emulator on loopback (state lives in memory)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8125)
        parser.add_argument(
            "--allow-remote", action="store_true", help="allow a non-loopback --host"
        )
        parser.add_argument("--client-id", default=EmulatorConfig.client_id)
        parser.add_argument("--client-secret", default=EmulatorConfig.client_secret)
        parser.add_argument("--quiet", action="store_true", help="do not log each request")
        parser.add_argument(
            "--company", action="append", default=[], help="another company (realm)"
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
                companies=tuple(options["company"]),
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
