"""Serving the MYOB emulator over HTTP on loopback (the shared threaded server).

with EmulatorServer.running() as (url, emulator):
    httpx.get(f"{url}/_emulator/health")
"""

from ..common import server as common
from ..common.cli import EmulatorCommandLine
from .app import MyobEmulator
from .config import EmulatorConfig


class EmulatorServer(common.EmulatorServer):
    emulator_class = MyobEmulator


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
    """Serve in the foreground until interrupted, printing the base URL and company files."""
    server = EmulatorServer(
        host=host, port=port, config=config, allow_remote=allow_remote, quiet=quiet
    )
    for name in companies:
        server.emulator.add_company_file(name)
    server.serve_until_interrupted(
        [f"  business {uid} ({name})" for uid, name in server.emulator.company_file_names()]
    )


COMMAND_LINE = EmulatorCommandLine(
    description="Local MYOB Business API emulator",
    default_port=8127,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--company",
    more_help="another company file (business)",
    more_keyword="companies",
)
