"""Local emulator of the Xero Accounting API (what ledgersync's Xero adapter uses).

from integrations.emulators.xero import XeroEmulator, EmulatorTransport, running_emulator
"""

from ..common.app import SimulatedTimeout
from ..common.clock import ManualClock
from ..common.transport import EmulatorTransport
from .app import XeroEmulator
from .config import EmulatorConfig
from .oauth import DEFAULT_SCOPE
from .server import EmulatorServer, running_emulator, serve

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
