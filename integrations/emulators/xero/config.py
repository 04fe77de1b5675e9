"""Settings of one Xero emulator instance."""

from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    # The one registered OAuth2 app (web app with a client secret).
    client_id: str = "ledgersync-dev"
    client_secret: str = "ledgersync-dev-secret"
    # Allowed redirect URIs; empty means any http(s) URI, convenient for a dev sandbox.
    redirect_uris: tuple[str, ...] = ()

    # Token lifetimes (Xero OAuth2 FAQ: access 30 min, refresh 60 days if unused).
    access_token_ttl: int = 1800
    refresh_token_ttl: int = 60 * 24 * 3600
    authorization_code_ttl: int = 300
    # Xero lets a used refresh token be retried for 30 min if the response was lost. 0 = strict
    # rotation: a used refresh token is refused at once (what our adapter must cope with anyway).
    refresh_grace_seconds: int = 0

    # Rate limits per tenant (Xero: 60/min rolling, 5 in flight, 5000/day) and per app.
    calls_per_window: int = 60
    window_seconds: float = 60
    max_concurrent: int = 5
    calls_per_day: int = 5000
    app_calls_per_minute: int = 10_000

    idempotency_ttl: int = 24 * 3600
    # How long a simulated timeout holds a real socket open before giving up (interrupted on
    # server shutdown); in process the transport raises httpx.ReadTimeout instead.
    timeout_sleep_seconds: float = 30.0

    tenant_name: str = "Demo Company (Emulated)"
    base_currency: str = "USD"
    provider_name: str = "ledgersync Xero emulator"
    # Real Xero adds envelope fields (Id, Status, ProviderName, DateTimeUTC), DateString and
    # DueDateString, and echoes whole objects in error Elements, none of which the OpenAPI
    # schemas declare. True drops them so every body validates against the schemas as written.
    spec_strict: bool = False
    # Stricter than Xero (whose own spec example has a DueDate before the Date): catches bugs.
    reject_due_date_before_date: bool = True
    # Seed of the random source behind error_rate / timeout_rate (None: unseeded).
    random_seed: int | None = None
