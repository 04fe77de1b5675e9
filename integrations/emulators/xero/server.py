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

    def add_companies(self, names: tuple[str, ...]) -> list[str]:
        """Each name is another organisation with a user of its own who may access only it
        (`<first word>@ledgersync.local`): the demo's second company consents as that user and
        so reaches its own ledger, as a Xero user of another company would."""
        emulator = self.emulator
        lines = [
            f"  tenant {emulator.default_tenant_id} ({emulator.config.tenant_name}), "
            f"user {DEFAULT_USER_EMAIL} (every tenant)"
        ]
        for name in names:
            tenant = emulator.add_tenant(name)
            user = emulator.add_user(
                f"{name.split()[0].lower()}@ledgersync.local", [tenant["tenantId"]]
            )
            lines.append(f"  tenant {tenant['tenantId']} ({name}), user {user['email']}")
        return lines


running_emulator = EmulatorServer.running
serve = EmulatorServer.serve

COMMAND_LINE = EmulatorCommandLine(
    description="Local Xero API emulator",
    default_port=8123,
    config_class=EmulatorConfig,
    serve=serve,
    more_flag="--tenant",
    more_help="another organisation, with its own user",
)
