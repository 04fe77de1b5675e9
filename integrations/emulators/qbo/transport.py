"""An httpx transport that runs requests through the emulator in process (no socket).

    client = httpx.Client(transport=EmulatorTransport(emulator), base_url="http://qbo.emulator")

A simulated timeout or a lost answer surfaces as httpx.ReadTimeout, as over a network.
"""

import httpx

from .app import IN_PROCESS_KEY, QboEmulator, SimulatedTimeout


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: QboEmulator) -> None:
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
