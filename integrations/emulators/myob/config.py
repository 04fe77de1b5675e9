"""Settings of the MYOB emulator."""

from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    # The API key (client_id) doubles as the `x-myobapi-key` header's value, as at MYOB.
    client_id: str = "ledgersync-myob-dev"
    client_secret: str = "ledgersync-myob-dev-secret"
    # Empty: any http(s) redirect URI is accepted (a dev key); else only these.
    redirect_uris: tuple[str, ...] = ()

    access_token_ttl: int = 1200  # NOTES.md: MYOB's lifetime is unverified; 20 minutes here
    refresh_token_ttl: int = 365 * 24 * 3600  # unverified; long-lived here
    authorization_code_ttl: int = 120  # MYOB: "expires in 2-5 minutes"

    # MYOB's limits belong to the API key, across every company file (NOTES.md, "Rate limits").
    calls_per_second: int = 8
    calls_per_day: int = 1_000_000

    # A lost answer over a socket: how long the handler holds the connection before giving up.
    timeout_sleep_seconds: float = 30.0

    company_name: str = "Clearwater Workshop (Emulated)"
    random_seed: int | None = None
