"""Contract checks for ledgersync's Xero traffic against Xero's published OpenAPI specs.

Every request the adapter sends and every response the emulator returns is validated against
``xero_accounting.yaml`` / ``xero_identity.yaml`` (beside this module), after mapping the URL (any
host, any prefix before ``/api.xro/2.0``) onto the spec's server ``https://api.xero.com``. The
strict form of the specs and its allowances are in ``strict``; a spec operation's checks in
``operations``; the OAuth endpoints' in ``oauth``; what all ledgers share in
``integrations.specs.contract``.

Public API::

    validate_exchange(request, response=None) -> None        # raises ContractViolation
    check_exchange(request, response=None) -> list[Problem]   # same checks, returns problems
    ContractCheckingTransport(inner, *, raise_on_violation=True)
    AsyncContractCheckingTransport(inner, *, raise_on_violation=True)
    ContractViolation (an AssertionError), Problem(where, field, reason)
    get_spec("accounting" | "identity") -> XeroSpec          # cached per process
    load_specs() -> dict[str, XeroSpec]
    strict_document(raw, spec_name=None) -> dict              # the strict transform, pure
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from openapi_core.templating.paths.exceptions import PathError

from integrations.specs.contract import (
    AsyncCheckingTransport,
    CheckingTransport,
    ContractViolation,
    Exchange,
    LedgerChecks,
    Problem,
)
from integrations.specs.xero.oauth import (
    check_revocation_request,
    check_token_request,
    check_token_response,
)
from integrations.specs.xero.operations import (
    OpenAPIRequest,
    check_spec_request,
    check_spec_response,
    check_undeclared_status,
)
from integrations.specs.xero.strict import (
    ALLOWANCES,
    TIGHTENINGS,
    XeroSpec,
    get_spec,
    load_specs,
    strict_document,
)

__all__ = [
    "ALLOWANCES",
    "TIGHTENINGS",
    "AsyncContractCheckingTransport",
    "ContractCheckingTransport",
    "ContractViolation",
    "Problem",
    "XeroSpec",
    "check_exchange",
    "get_spec",
    "load_specs",
    "strict_document",
    "validate_exchange",
]

ACCOUNTING_ROOT = "/api.xro/2.0"


@dataclass(frozen=True)
class _Route:
    kind: str  # accounting | identity | token | revocation | authorize | emulator | unknown
    spec_path: str = ""  # path on the spec's server, raw (percent-encoded)


_CONNECTIONS = re.compile(r"^(?:.*)?/connections(/[^/]+)?/?$", re.IGNORECASE)


def _route(url: httpx.URL) -> _Route:
    """Which spec (if any) a URL belongs to, and its path on that spec's server."""
    raw_path = url.raw_path.decode("ascii").split("?", 1)[0]
    segments = raw_path.split("/")
    if "_emulator" in segments:
        return _Route("emulator")
    idx = raw_path.find(ACCOUNTING_ROOT + "/")
    if idx >= 0 or raw_path.endswith(ACCOUNTING_ROOT):
        start = idx if idx >= 0 else len(raw_path) - len(ACCOUNTING_ROOT)
        return _Route("accounting", raw_path[start:])
    if raw_path.endswith("/connect/token"):
        return _Route("token")
    if raw_path.endswith("/connect/revocation"):
        return _Route("revocation")
    if raw_path.endswith("/connect/authorize"):
        return _Route("authorize")
    match = _CONNECTIONS.match(raw_path)
    if match:
        # connections-path-case: Xero serves /connections, the spec says /Connections.
        return _Route("identity", "/Connections" + (match.group(1) or ""))
    return _Route("unknown")


def _display_path(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii").split("?", 1)[0]


@dataclass
class _XeroExchange(Exchange):
    """A Xero exchange: its route, and for a spec operation the spec, operation and request."""

    route: _Route = _Route("unknown")
    spec: XeroSpec | None = None
    operation: dict[str, Any] | None = None
    oa_request: OpenAPIRequest | None = None

    @property
    def spec_label(self) -> str | None:
        if self.route.kind in ("token", "revocation"):
            return self.route.kind
        return self.route.kind if self.spec is not None else None

    def check_response(self, response: httpx.Response) -> list[Problem]:
        kind = self.route.kind
        if kind == "token":
            return check_token_response(response)
        if kind == "revocation":
            return [] if response.status_code == 200 else check_undeclared_status(response)
        if self.spec is None or self.operation is None or self.oa_request is None:
            return []  # skipped route, or the request already failed to match an operation
        return check_spec_response(self.spec, self.operation, self.oa_request, response)

    def violation(self, problems: list[Problem]) -> ContractViolation:
        method, path = self.request.method, _display_path(self.request)
        operation = (self.operation or {}).get("operationId")
        spec = self.spec_label
        label = None
        if spec in ("accounting", "identity"):
            label = f"{spec} spec"
        elif spec:
            label = f"OAuth {spec} endpoint"
        context = ", ".join(x for x in (label, operation) if x)
        heading = f"Xero contract violation in {method} {path}" + (
            f" ({context})" if context else ""
        )
        return ContractViolation(
            method, path, problems, heading=heading, operation=operation, spec=spec
        )


def _begin(request: httpx.Request) -> _XeroExchange:
    """The request checked against the spec (or OAuth endpoint) its URL belongs to."""
    route = _route(request.url)
    if route.kind in ("authorize", "emulator"):
        return _XeroExchange(request, [], route=route)  # a browser page / the control API
    if route.kind == "token":
        return _XeroExchange(request, check_token_request(request), route=route)
    if route.kind == "revocation":
        return _XeroExchange(request, check_revocation_request(request), route=route)
    if route.kind == "unknown":
        problem = Problem("request path", "", "URL matches neither Xero spec nor a known endpoint")
        return _XeroExchange(request, [problem], route=route)
    spec = get_spec(route.kind)
    try:
        op, oa_request, problems = check_spec_request(spec, request, route.spec_path)
    except PathError as error:
        problem = Problem("request path", route.spec_path, f"not in the spec ({error})")
        return _XeroExchange(request, [problem], route=route, spec=spec)
    return _XeroExchange(
        request, problems, route=route, spec=spec, operation=op, oa_request=oa_request
    )


_checks = LedgerChecks(_begin)
check_exchange = _checks.check_exchange
validate_exchange = _checks.validate_exchange


class ContractCheckingTransport(CheckingTransport):
    """Checks every exchange through ``inner`` against Xero's specs (see CheckingTransport)."""

    begin = staticmethod(_begin)


class AsyncContractCheckingTransport(AsyncCheckingTransport):
    """Async twin of ContractCheckingTransport."""

    begin = staticmethod(_begin)
