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

from .app import QboEmulator
from .config import EmulatorConfig


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
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
            f"refusing to serve the QBO emulator on non-loopback host {host!r}; "
            "pass allow_remote=True (--allow-remote) to expose it"
        )


class EmulatorServer:
    """A threaded HTTP server around one emulator, started and stopped from Python."""

    def __init__(
        self,
        emulator: QboEmulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: EmulatorConfig | None = None,
        allow_remote: bool = False,
        quiet: bool = True,
    ) -> None:
        _check_host(host, allow_remote)
        self.emulator = emulator or QboEmulator(config)
        handler = _QuietHandler if quiet else WSGIRequestHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self.emulator, threaded=True, request_handler=handler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.emulator.shutdown_event.clear()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def start(self, ready_timeout: float = 5.0) -> "EmulatorServer":
        """Serve from a background thread; return once the server answers."""
        self.emulator.shutdown_event.clear()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="qbo-emulator",
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
        self.emulator.shutdown_event.set()  # wake calls sleeping in a latency/timeout fault
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
    emulator: QboEmulator | None = None,
):
    """Start a server on a free port; yields (base_url, emulator); stops on exit."""
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
    companies: tuple[str, ...] = (),
) -> None:
    """Serve in the foreground until interrupted, printing the base URL and realms first."""
    server = EmulatorServer(
        host=host, port=port, config=config, allow_remote=allow_remote, quiet=quiet
    )
    emulator = server.emulator
    for name in companies:
        emulator.add_realm(name)
    print(f"QBO emulator listening on {server.url}", flush=True)
    print(f"  client_id={emulator.config.client_id}", flush=True)
    for realm_id, name in emulator.realm_names():
        print(f"  realm {realm_id} ({name})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.shutdown_event.set()
