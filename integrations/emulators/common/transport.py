"""An httpx transport that runs requests through an emulator in process (no socket).

    client = httpx.Client(transport=EmulatorTransport(emulator), base_url="http://xero.emulator")

A simulated timeout or a dropped response surfaces as httpx.ReadTimeout, as it would over a
network, instead of blocking the test.
"""

import httpx

from .app import IN_PROCESS_KEY, LedgerEmulator, SimulatedTimeout


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: LedgerEmulator) -> None:
        self.emulator = emulator

        def in_process_app(environ, start_response):
            environ[IN_PROCESS_KEY] = True
            return emulator(environ, start_response)

        self._wsgi = httpx.WSGITransport(app=in_process_app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._wsgi.handle_request(request)
        except SimulatedTimeout as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from None
