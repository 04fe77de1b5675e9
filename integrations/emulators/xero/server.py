"""Serving the Xero emulator over HTTP on loopback (common/server.py's threaded server).

with running_emulator() as (url, emulator):
    httpx.get(f"{url}/_emulator/health")
"""

from ..common import server as common_server
from ..common.cli import EmulatorCommandLine
from .app import XeroEmulator
from .config import EmulatorConfig
from .oauth import DEFAULT_USER_EMAIL


class EmulatorServer(common_server.EmulatorServer):
    emulator_class = XeroEmulator


running_emulator = EmulatorServer.running


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    *,
    allow_remote: bool = False,
    quiet: bool = False,
    tenants: tuple[str, ...] = (),
) -> None:
    """Serve in the foreground until interrupted, printing the base URL first.

    Each of `tenants` is another organisation with a user of its own who may access only it
    (`<first word>@ledgersync.local`): the demo's second company consents as that user and so
    reaches its own ledger, as a Xero user of another company would.
    """
    server = EmulatorServer(
        host=host, port=port, config=config, allow_remote=allow_remote, quiet=quiet
    )
    emulator = server.emulator
    lines = [
        f"  tenant {emulator.default_tenant_id} ({emulator.config.tenant_name}), "
        f"user {DEFAULT_USER_EMAIL} (every tenant)"
    ]
    for name in tenants:
        tenant = emulator.add_tenant(name)
        user = emulator.add_user(
            f"{name.split()[0].lower()}@ledgersync.local", [tenant["tenantId"]]
        )
        lines.append(f"  tenant {tenant['tenantId']} ({name}), user {user['email']}")
    server.serve_until_interrupted(lines)


COMMAND_LINE = EmulatorCommandLine(
    description="Local Xero API emulator",
    default_port=8123,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--tenant",
    more_help="another organisation, with its own user",
    more_keyword="tenants",
)
