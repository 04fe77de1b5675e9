"""Serving the QBO emulator over HTTP on loopback (common/server.py's threaded server).

with running_emulator() as (url, emulator):
    httpx.get(f"{url}/_emulator/health")
"""

from ..common import server as common_server
from ..common.cli import EmulatorCommandLine
from .app import QboEmulator
from .config import EmulatorConfig


class EmulatorServer(common_server.EmulatorServer):
    emulator_class = QboEmulator
    company_word = "realm"


running_emulator = EmulatorServer.running
serve = EmulatorServer.serve

COMMAND_LINE = EmulatorCommandLine(
    description="Local QuickBooks Online API emulator",
    default_port=8125,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--company",
    more_help="another company (realm)",
)
