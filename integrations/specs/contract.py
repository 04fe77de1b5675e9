"""What the three ledgers' contract checks share.

A check turns one request into an ``Exchange`` (the request's problems, and how to check the
answer to it); ``CheckingTransport`` / ``AsyncCheckingTransport`` run every exchange through a
test's httpx client that way and keep the violations, so a test still fails when the code under
test swallows the exception. Also here: reading a JSON body, re-rooting a nested body's problems,
and turning JSON Schema errors into problems (a field the schema does not declare is named).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jsonschema
import yaml

SPECS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Problem:
    """One contract mismatch: where (e.g. 'request body'), which field, and why."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        target = f" {self.field}" if self.field else ""
        return f"{self.where}{target}: {self.reason}"


class ContractViolation(AssertionError):
    """An exchange that does not hold to its ledger's spec; ``problems`` says how."""

    def __init__(
        self,
        method: str,
        path: str,
        problems: list[Problem],
        *,
        heading: str | None = None,
        operation: str | None = None,
        spec: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.problems = list(problems)
        self.operation = operation
        self.spec = spec
        heading = heading or f"{method} {path} breaks the ledger's contract"
        super().__init__("\n".join([heading + ":"] + [f"  - {p}" for p in self.problems]))


@dataclass
class Exchange:
    """The request side of one exchange, checked; its answer is checked against it later by
    ``answer_check`` (none: the answer is not checked)."""

    request: httpx.Request
    problems: list[Problem]
    answer_check: Callable[[httpx.Request, httpx.Response], list[Problem]] | None = None
    breaks: str = "the ledger's contract"  # "{method} {path} breaks ..." in the violation

    def check_response(self, response: httpx.Response) -> list[Problem]:
        return self.answer_check(self.request, response) if self.answer_check else []

    def violation(self, problems: list[Problem]) -> ContractViolation:
        method, path = self.request.method, self.request.url.path
        heading = f"{method} {path} breaks {self.breaks}"
        return ContractViolation(method, path, problems, heading=heading)


@dataclass(frozen=True)
class LedgerChecks:
    """A ledger's checks of one exchange, from its ``begin`` (a request -> its Exchange)."""

    begin: Callable[[httpx.Request], Exchange]

    @classmethod
    def of_request_and_answer(
        cls,
        check_request: Callable[[httpx.Request], list[Problem]],
        check_response: Callable[[httpx.Request, httpx.Response], list[Problem]],
        *,
        breaks: str,
    ) -> LedgerChecks:
        """The checks of a ledger whose request and answer each have a check of their own
        (MYOB, QuickBooks; Xero's exchange carries the operation it found to its answer)."""
        return cls(
            lambda request: Exchange(request, check_request(request), check_response, breaks)
        )

    def _problems(self, request, response) -> tuple[Exchange, list[Problem]]:
        exchange = self.begin(request)
        problems = list(exchange.problems)
        if response is not None:
            problems += exchange.check_response(response)
        return exchange, problems

    def check_exchange(
        self, request: httpx.Request, response: httpx.Response | None = None
    ) -> list[Problem]:
        """All contract problems of one exchange (``response`` None: check the request only)."""
        return self._problems(request, response)[1]

    def validate_exchange(
        self, request: httpx.Request, response: httpx.Response | None = None
    ) -> None:
        """Raise ContractViolation unless the request (and response, if given) hold to the spec."""
        exchange, problems = self._problems(request, response)
        if problems:
            raise exchange.violation(problems)


# ---------------------------------------------------------------------------------------------
# Reading bodies and reporting their problems
# ---------------------------------------------------------------------------------------------


def parse_json(content: bytes, where: str) -> tuple[Any, list[Problem]]:
    """The body parsed, or None and the problem that it is not JSON."""
    try:
        return json.loads(content), []
    except ValueError as exc:
        return None, [Problem(where, "$", f"not JSON: {exc}")]


def rerooted(problems: list[Problem], root: str) -> list[Problem]:
    """A nested body's problems with its ``$`` replaced by where it sits (``$.Items[3]``)."""
    return [Problem(p.where, f"{root}{p.field[1:]}", p.reason) for p in problems]


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def json_path(parts) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def schema_problems(where: str, error: jsonschema.ValidationError) -> list[Problem]:
    """One JSON Schema error as problems: each undeclared field by name, the closest of the
    alternatives of an anyOf/oneOf, a missing required field at its own path."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = set(error.schema.get("properties", {}))
        return [
            Problem(where, json_path([*path, key]), f"field not in the spec (strict mode): {key!r}")
            for key in sorted(k for k in error.instance if k not in declared)
        ]
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Report the alternative that came closest (fewest errors), not a mix of all of them.
        by_branch: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0], []).append(sub)
        branch, errors = min(by_branch.items(), key=lambda item: (len(item[1]), item[0]))
        prefix = (
            f"matches none of the {len(error.validator_value)} allowed shapes; shape {branch + 1}:"
        )
        return [
            Problem(p.where, p.field, f"{prefix} {p.reason}")
            for sub in errors
            for p in schema_problems(where, sub)
        ]
    if error.validator == "readOnly":
        return [Problem(where, json_path(path), "read-only (response) field sent in a request")]
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        if missing:
            return [Problem(where, json_path([*path, missing.group(1)]), "required, missing")]
    return [Problem(where, json_path(path), error.message)]


def instance_problems(where: str, validator, instance) -> list[Problem]:
    """Every problem of ``instance`` under a jsonschema ``validator``, in path order."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: json_path(e.absolute_path))
    return [p for error in errors for p in schema_problems(where, error)]


# ---------------------------------------------------------------------------------------------
# Loading spec files
# ---------------------------------------------------------------------------------------------


class _JSONCompatibleLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that leaves timestamps as strings: OpenAPI is a JSON model, and YAML 1.1's
    implicit timestamps would turn example values into datetime objects."""


_JSONCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a spec file into plain JSON types (string keys, no datetimes)."""
    with open(path, "rb") as fh:
        data = yaml.load(fh, Loader=_JSONCompatibleLoader)  # noqa: S506 - safe loader subclass
    # A JSON round trip normalises keys (e.g. unquoted 200 -> "200") so that a cold load and a
    # cache hit give identical documents.
    return json.loads(json.dumps(data))


# ---------------------------------------------------------------------------------------------
# The checking transports
# ---------------------------------------------------------------------------------------------


def _rebuild(response: httpx.Response, raw: bytes, request: httpx.Request):
    """A fresh response carrying the same raw bytes (so the caller still decodes them itself) and
    a decoded view for validation."""
    forwarded = httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(raw),
        extensions=response.extensions,
        request=request,
    )
    view = httpx.Response(
        response.status_code, headers=response.headers, content=raw, request=request
    )
    return forwarded, view


@dataclass
class _ViolationLog:
    begin: Callable[[httpx.Request], Exchange]
    raise_on_violation: bool
    violations: list[ContractViolation] = field(default_factory=list)
    checked: int = 0

    def before_send(self, request: httpx.Request) -> Exchange:
        exchange = self.begin(request)
        if exchange.problems and self.raise_on_violation:
            # Fail before forwarding: an invalid request must not change the emulator's state.
            self._fail(exchange.violation(exchange.problems))
        return exchange

    def after_receive(self, exchange: Exchange, response: httpx.Response) -> None:
        self.checked += 1
        problems = exchange.problems + exchange.check_response(response)
        if problems:
            self._fail(exchange.violation(problems))

    def _fail(self, violation: ContractViolation) -> None:
        self.violations.append(violation)
        if self.raise_on_violation:
            raise violation

    def assert_no_violations(self) -> None:
        if self.violations:
            text = "\n".join(str(v) for v in self.violations)
            raise ContractViolation(
                "*",
                "*",
                [Problem("exchanges", "", f"{len(self.violations)} violation(s):\n{text}")],
                heading="Contract violations",
            )


class _CheckingTransportBase:
    # The ledger's check: a request -> its Exchange (a ledger's transport sets it).
    begin: ClassVar[Callable[[httpx.Request], Exchange]]

    def __init__(self, inner, *, raise_on_violation: bool = True) -> None:
        self.inner = inner
        self._log = _ViolationLog(type(self).begin, raise_on_violation)

    @property
    def violations(self) -> list[ContractViolation]:
        """Every violation seen, also those the code under test may have caught and swallowed."""
        return self._log.violations

    @property
    def checked(self) -> int:
        """Number of exchanges (request + response) validated so far."""
        return self._log.checked

    def assert_no_violations(self) -> None:
        """Raise one ContractViolation summarising all recorded violations, if any."""
        self._log.assert_no_violations()


class CheckingTransport(_CheckingTransportBase, httpx.BaseTransport):
    """Forward to ``inner``; check every request (before sending, so an invalid request never
    reaches the emulator) and every response.

    Violations raise ContractViolation and are also kept in ``violations``, so a fixture can fail
    the test even when the code under test catches broad exceptions. With
    ``raise_on_violation=False`` nothing is raised; only ``violations`` records them.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # buffered, so the inner transport can still read it
        exchange = self._log.before_send(request)
        response = self.inner.handle_request(request)
        try:
            raw = b"".join(response.iter_raw())
        except httpx.StreamConsumed:  # built in memory, e.g. by a MockTransport handler
            self._log.after_receive(exchange, response)
            return response
        finally:
            response.close()
        forwarded, view = _rebuild(response, raw, request)
        self._log.after_receive(exchange, view)
        return forwarded

    def close(self) -> None:
        self.inner.close()


class AsyncCheckingTransport(_CheckingTransportBase, httpx.AsyncBaseTransport):
    """Async twin of CheckingTransport."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        exchange = self._log.before_send(request)
        response = await self.inner.handle_async_request(request)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.StreamConsumed:
            self._log.after_receive(exchange, response)
            return response
        finally:
            await response.aclose()
        forwarded, view = _rebuild(response, raw, request)
        self._log.after_receive(exchange, view)
        return forwarded

    async def aclose(self) -> None:
        await self.inner.aclose()
