"""Serving the emulator over HTTP on loopback: a threaded Werkzeug server.

with running_emulator() as (url, emulator):
    httpx.get(f"{url}/_emulator/health")
"""

import ipaddress
import threading
import time
from contextlib import contextmanager

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import XeroEmulator
from .config import EmulatorConfig
from .oauth import DEFAULT_USER_EMAIL


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # tests do not want a line per call
        pass


def _check_host(host: str, allow_remote: bool) -> None:
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to serve the Xero emulator on non-loopback host {host!r}; "
            "pass allow_remote=True (--allow-remote) to expose it"
        )


class EmulatorServer:
    """A threaded HTTP server around one emulator, started and stopped from Python."""

    def __init__(
        self,
        emulator: XeroEmulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: EmulatorConfig | None = None,
        allow_remote: bool = False,
        quiet: bool = True,
    ) -> None:
        _check_host(host, allow_remote)
        self.emulator = emulator or XeroEmulator(config)
        handler = _QuietHandler if quiet else WSGIRequestHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self.emulator, threaded=True, request_handler=handler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self.emulator.shutdown_event.clear()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def start(self, ready_timeout: float = 5.0) -> "EmulatorServer":
        """Serve from a background thread; return once the server answers."""
        self.emulator.shutdown_event.clear()
        # A short poll interval makes stop() quick (the default 0.5 s adds up across tests).
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="xero-emulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                httpx.get(f"{self.url}/_emulator/health", timeout=0.5).raise_for_status()
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.01)

    def stop(self) -> None:
        # Wake handlers sleeping in a timeout/latency fault so their threads end promptly.
        self.emulator.shutdown_event.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()


@contextmanager
def running_emulator(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    config: EmulatorConfig | None = None,
    emulator: XeroEmulator | None = None,
):
    """Start an emulator server on a free port; yields (base_url, emulator); stops on exit."""
    server = EmulatorServer(emulator, host=host, port=port, config=config).start()
    try:
        yield server.url, server.emulator
    finally:
        server.stop()


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
    print(f"Xero emulator listening on {server.url}", flush=True)
    print(f"  client_id={server.emulator.config.client_id}", flush=True)
    emulator = server.emulator
    print(
        f"  tenant {emulator.default_tenant_id} ({emulator.config.tenant_name}), "
        f"user {DEFAULT_USER_EMAIL} (every tenant)",
        flush=True,
    )
    for name in tenants:
        tenant = emulator.add_tenant(name)
        user = emulator.add_user(
            f"{name.split()[0].lower()}@ledgersync.local", [tenant["tenantId"]]
        )
        print(f"  tenant {tenant['tenantId']} ({name}), user {user['email']}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.emulator.shutdown_event.set()
