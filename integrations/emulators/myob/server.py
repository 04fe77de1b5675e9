"""Serving the MYOB emulator over HTTP on loopback (common/server.py's threaded server).

with EmulatorServer.running() as (url, emulator):
    httpx.get(f"{url}/_emulator/health")
"""

from ..common import server as common_server
from ..common.cli import EmulatorCommandLine
from .app import MyobEmulator
from .config import EmulatorConfig


class EmulatorServer(common_server.EmulatorServer):
    emulator_class = MyobEmulator
    company_word = "business"


running_emulator = EmulatorServer.running
serve = EmulatorServer.serve

COMMAND_LINE = EmulatorCommandLine(
    description="Local MYOB Business API emulator",
    default_port=8127,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--company",
    more_help="another company file (business)",
)
