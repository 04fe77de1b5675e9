"""Local emulator of the QuickBooks Online Accounting API v3 (what ledgersync's QBO adapter uses).

from integrations.emulators.qbo import QboEmulator, EmulatorTransport, running_emulator
"""

from ..common.app import SimulatedTimeout
from ..common.clock import ManualClock
from ..common.transport import EmulatorTransport
from .app import QboEmulator
from .config import EmulatorConfig
from .faults import QboFault
from .oauth import ACCOUNTING_SCOPE
from .server import EmulatorServer, running_emulator, serve

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
