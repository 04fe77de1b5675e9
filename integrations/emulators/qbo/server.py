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


running_emulator = EmulatorServer.running


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    *,
    allow_remote: bool = False,
    quiet: bool = False,
    companies: tuple[str, ...] = (),
) -> None:
    """Serve in the foreground until interrupted, printing the base URL and realms first."""
    server = EmulatorServer(
        host=host, port=port, config=config, allow_remote=allow_remote, quiet=quiet
    )
    emulator = server.emulator
    for name in companies:
        emulator.add_realm(name)
    server.serve_until_interrupted(
        [f"  realm {realm_id} ({name})" for realm_id, name in emulator.realm_names()]
    )


COMMAND_LINE = EmulatorCommandLine(
    description="Local QuickBooks Online API emulator",
    default_port=8125,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--company",
    more_help="another company (realm)",
    more_keyword="companies",
)
