"""`manage.py run_xero_emulator --port 8123`: the local Xero emulator, the product's sandbox."""

from integrations.emulators.common.command import EmulatorCommand
from integrations.emulators.xero.server import COMMAND_LINE


class Command(EmulatorCommand):
    help = "Serve the local Xero API emulator on loopback (state lives in memory)."
    command_line = COMMAND_LINE
