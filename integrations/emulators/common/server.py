"""Serving an emulator over HTTP on loopback: a threaded Werkzeug server.

A ledger's server names its emulator class:

    class EmulatorServer(common.server.EmulatorServer):
        emulator_class = XeroEmulator

    with EmulatorServer.running() as (url, emulator):
        httpx.get(f"{url}/_emulator/health")
"""

import ipaddress
import threading
import time
from contextlib import contextmanager

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import LedgerEmulator


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # tests do not want a line per call
        pass


def check_host(host: str, allow_remote: bool, label: str) -> None:
    """Refuse a non-loopback host unless allowed: the emulator has no real authentication."""
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to serve the {label} on non-loopback host {host!r}; "
            "pass allow_remote=True (--allow-remote) to expose it"
        )


class EmulatorServer:
    """A threaded HTTP server around one emulator, started and stopped from Python."""

    emulator_class: type[LedgerEmulator]

    def __init__(
        self,
        emulator: LedgerEmulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config=None,
        allow_remote: bool = False,
        quiet: bool = True,
    ) -> None:
        check_host(host, allow_remote, self.emulator_class.label)
        self.emulator = emulator or self.emulator_class(config)
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
            name=self.emulator_class.label.lower().replace(" ", "-"),
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

    @classmethod
    @contextmanager
    def running(
        cls,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        config=None,
        emulator: LedgerEmulator | None = None,
    ):
        """Start a server (on a free port by default); yields (base_url, emulator); stops on
        exit."""
        server = cls(emulator, host=host, port=port, config=config).start()
        try:
            yield server.url, server.emulator
        finally:
            server.stop()

    company_word = "company"  # how the start-up lines name one: "realm", "business"

    def add_companies(self, names: tuple[str, ...]) -> list[str]:
        """Add a company per name (given on the command line); return the lines that describe
        every company (and user) the emulator now serves, printed when it starts."""
        for name in names:
            self.emulator.add_company(name)
        return [
            f"  {self.company_word} {company_id} ({name})"
            for company_id, name in self.emulator.company_names()
        ]

    @classmethod
    def serve(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        config=None,
        *,
        allow_remote: bool = False,
        quiet: bool = False,
        companies: tuple[str, ...] = (),
    ) -> None:
        """Serve in the foreground until interrupted, with `companies` added, printing the base
        URL, the client id and the companies first."""
        server = cls(host=host, port=port, config=config, allow_remote=allow_remote, quiet=quiet)
        server.serve_until_interrupted(server.add_companies(tuple(companies)))

    def serve_until_interrupted(self, lines: list[str]) -> None:
        """Serve in the foreground until Ctrl-C, after printing the base URL, the client id and
        `lines` (what the emulator holds: its companies and users)."""
        print(f"{self.emulator.label} listening on {self.url}", flush=True)
        print(f"  client_id={self.emulator.config.client_id}", flush=True)
        for line in lines:
            print(line, flush=True)
        try:
            self.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.emulator.shutdown_event.set()
