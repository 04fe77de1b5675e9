"""Local emulator of the Xero Accounting API (what ledgersync's Xero adapter uses).

from integrations.emulators.xero import XeroEmulator, EmulatorTransport, running_emulator
"""

from .app import SimulatedTimeout, XeroEmulator
from .config import EmulatorConfig, ManualClock
from .oauth import DEFAULT_SCOPE
from .server import EmulatorServer, running_emulator, serve
from .transport import EmulatorTransport

__all__ = [
    "DEFAULT_SCOPE",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorTransport",
    "ManualClock",
    "SimulatedTimeout",
    "XeroEmulator",
    "running_emulator",
    "serve",
]
