"""Settings of one QBO emulator instance."""

from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    client_id: str = "ledgersync-qbo-dev"
    client_secret: str = "ledgersync-qbo-dev-secret"
    # Empty: any http(s) redirect URI is accepted (a dev app); else only these.
    redirect_uris: tuple[str, ...] = ()

    access_token_ttl: int = 3600  # Intuit: one hour
    refresh_token_ttl: int = 100 * 24 * 3600  # Intuit: rolling 100 days
    # Intuit (2025-11): a refresh token chain ends five years after the consent, whatever the use.
    refresh_token_max_age: int = 5 * 365 * 24 * 3600
    authorization_code_ttl: int = 300

    # Intuit's throttles (developer.intuit.com "API call limits and throttles").
    calls_per_minute: int = 500  # per realm, batch requests included
    calls_per_second: int = 10  # per realm and app
    batch_calls_per_minute: int = 40  # per realm and app
    max_batch_items: int = 30

    # `requestid` answers are kept this long (Intuit does not publish its window).
    requestid_ttl: float = 24 * 3600
    # A lost answer over a socket: how long the handler holds the connection before giving up.
    timeout_sleep_seconds: float = 30.0

    company_name: str = "Sandbox Company (Emulated)"
    # Intuit retired minor versions 1-74 on 2025-08-01: lower ones are refused.
    min_minorversion: int = 75
    max_minorversion: int = 75
    random_seed: int | None = None
