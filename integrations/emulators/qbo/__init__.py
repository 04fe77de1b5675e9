"""Local emulator of the QuickBooks Online Accounting API v3 (what ledgersync's QBO adapter uses).

from integrations.emulators.qbo import QboEmulator, EmulatorTransport, running_emulator
"""

from .app import QboEmulator, SimulatedTimeout
from .books import QboFault
from .config import EmulatorConfig, ManualClock
from .oauth import ACCOUNTING_SCOPE
from .server import EmulatorServer, running_emulator, serve
from .transport import EmulatorTransport

__all__ = [
    "ACCOUNTING_SCOPE",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorTransport",
    "ManualClock",
    "QboEmulator",
    "QboFault",
    "SimulatedTimeout",
    "running_emulator",
    "serve",
]
