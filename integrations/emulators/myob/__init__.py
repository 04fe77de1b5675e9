"""Local emulator of the MYOB Business API (what ledgersync's MYOB adapter uses).

from integrations.emulators.myob import MyobEmulator, EmulatorTransport, running_emulator
"""

from ..common.clock import ManualClock
from ..common.transport import EmulatorTransport
from .app import MyobEmulator
from .config import EmulatorConfig
from .server import EmulatorServer, running_emulator, serve

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorTransport",
    "ManualClock",
    "MyobEmulator",
    "running_emulator",
    "serve",
]
