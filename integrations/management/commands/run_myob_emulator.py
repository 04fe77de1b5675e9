"""`manage.py run_myob_emulator --port 8127`: the local MYOB Business API emulator."""

from integrations.emulators.common.command import EmulatorCommand
from integrations.emulators.myob.server import COMMAND_LINE


class Command(EmulatorCommand):
    help = "Serve the local MYOB Business API emulator on loopback (state lives in memory)."
    command_line = COMMAND_LINE
