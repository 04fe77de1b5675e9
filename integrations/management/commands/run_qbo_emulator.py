"""`manage.py run_qbo_emulator --port 8125`: the local QuickBooks Online emulator."""

from integrations.emulators.common.command import EmulatorCommand
from integrations.emulators.qbo.server import COMMAND_LINE


class Command(EmulatorCommand):
    help = "Serve the local QuickBooks Online API emulator on loopback (state lives in memory)."
    command_line = COMMAND_LINE
