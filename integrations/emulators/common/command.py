"""The base of each `manage.py run_<ledger>_emulator` command (the only module here that needs
Django: the emulators themselves run without it)."""

from django.core.management.base import BaseCommand, CommandError

from .cli import EmulatorCommandLine


class EmulatorCommand(BaseCommand):
    command_line: EmulatorCommandLine

    def add_arguments(self, parser):
        self.command_line.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            self.command_line.serve_with(options)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
