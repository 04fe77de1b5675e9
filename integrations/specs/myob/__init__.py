"""Contract checks for MYOB Business API traffic against the JSON Schemas written from MYOB's
pages (integrations/specs/myob/*.json, each field with its source; NOTES.md beside them).

Every schema says ``additionalProperties: false`` at every level, so a field MYOB does not
document fails. On top of the schemas, the rules NOTES.md names for requests:

- every call under ``/accountright/`` carries ``Authorization: Bearer``, ``x-myobapi-key`` and
  ``x-myobapi-version: v2``;
- a POST carries no ``UID``, ``RowVersion`` or line ``RowID`` / ``RowVersion`` (MYOB answers
  409), a PUT carries the record's ``UID`` and ``RowVersion``.

Answers: an error status holds to ``errors.json``; a collection GET is a page (``Items`` of the
entity); a single GET, or a POST/PUT that returned a body, is the entity; an empty 201/200 body
is allowed (the ``Location`` header names the record). The token endpoint's 200 holds to
``token.json``. Other paths (the consent page, the emulator's control API) are not checked.

Public API::

    check_exchange(request, response=None) -> list[Problem]
    validate_exchange(request, response=None)               # raises ContractViolation
    ContractCheckingTransport(inner, *, raise_on_violation=True)
    check_json(body, schema_name) -> list[Problem]

What the ledgers share (the problem, the violation, the transport, JSON Schema errors as
problems) is in ``integrations.specs.contract``.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import httpx
from jsonschema import Draft202012Validator

from integrations.specs.contract import (
    CheckingTransport,
    ContractViolation,
    LedgerChecks,
    Problem,
    instance_problems,
    parse_json,
    rerooted,
)

__all__ = [
    "ContractCheckingTransport",
    "ContractViolation",
    "Problem",
    "check_exchange",
    "check_json",
    "validate_exchange",
]

SPECS_DIR = Path(__file__).resolve().parent
API_PATH = re.compile(r"/accountright/(?P<cf>[^/]+)/(?P<rest>.+?)/?$")
TOKEN_PATH = "/oauth2/v1/authorize"
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

# Resource path (under the company file URI) -> schema file.
RESOURCES = {
    "Purchase/Bill/Service": "bill_service",
    "Sale/Invoice/Service": "invoice_service",
    "Purchase/SupplierPayment": "supplier_payment",
    "Sale/CustomerPayment": "customer_payment",
    "Contact/Supplier": "supplier",
    "Contact/Customer": "customer",
    "GeneralLedger/Account": "account",
    "GeneralLedger/TaxCode": "tax_code",
    "GeneralLedger/Job": "job",
    "Category": "category",
    "Banking/SpendMoneyTxn": "spend_money",
}
ATTACHABLE = ("Purchase/Bill/Service", "Sale/Invoice/Service", "Banking/SpendMoneyTxn")


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SPECS_DIR / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_json(body, name: str, *, where: str = "response") -> list[Problem]:
    """One JSON body against one of the schemas (``bill_service``, ``errors``, ...)."""
    return instance_problems(where, validator(name), body)


def _route(path: str) -> tuple[str, bool, bool] | None:
    """(schema name, names one record, is an attachment path) for an API path, else None."""
    match = API_PATH.search(path)
    if not match:
        return None
    rest = match["rest"]
    if rest == "Company":
        return "company", True, False
    if rest == "Company/Preferences":
        return "company_preferences", True, False
    for resource, name in RESOURCES.items():
        if rest == resource:
            return name, False, False
        tail = rest[len(resource) + 1 :] if rest.startswith(resource + "/") else None
        if tail is None:
            continue
        if re.fullmatch(GUID, tail):
            return name, True, False
        if resource in ATTACHABLE and re.fullmatch(GUID + "/Attachment", tail):
            return "attachment", True, True
    return "", False, False


def _header_problems(request: httpx.Request) -> list[Problem]:
    problems = []
    if not request.headers.get("authorization", "").startswith("Bearer "):
        problems.append(Problem("request", "header Authorization", "Bearer token missing"))
    if not request.headers.get("x-myobapi-key"):
        problems.append(Problem("request", "header x-myobapi-key", "the API key is missing"))
    if request.headers.get("x-myobapi-version") != "v2":
        problems.append(Problem("request", "header x-myobapi-version", "must be v2"))
    return problems


def _write_rules(method: str, body: dict) -> list[Problem]:
    problems = []
    if method == "POST":
        for key in ("UID", "RowVersion"):
            if key in body:
                problems.append(Problem("request", f"$.{key}", "a POST must not carry it (409)"))
        for index, line in enumerate(body.get("Lines") or []):
            for key in ("RowID", "RowVersion"):
                if isinstance(line, dict) and key in line:
                    problems.append(
                        Problem("request", f"$.Lines[{index}].{key}", "a POST must not carry it")
                    )
    elif method == "PUT":
        for key in ("UID", "RowVersion"):
            if key not in body:
                problems.append(Problem("request", f"$.{key}", "a PUT must carry it"))
    return problems


def check_request(request: httpx.Request) -> list[Problem]:
    route = _route(request.url.path)
    if route is None:
        return []
    name, _, attachment = route
    problems = _header_problems(request)
    if not name:
        return problems + [Problem("request", "$", f"no MYOB endpoint {request.url.path!r}")]
    if request.method not in ("POST", "PUT"):
        return problems
    body, bad = parse_json(request.content, "request")
    if bad:
        return problems + bad
    if attachment:
        return problems + check_json(body, "attachment_request", where="request")
    if not isinstance(body, dict):
        return problems + [Problem("request", "$", "expected an object")]
    return problems + _write_rules(request.method, body) + check_json(body, name, where="request")


def check_response(request: httpx.Request, response: httpx.Response) -> list[Problem]:
    content = response.read()
    if request.url.path.endswith(TOKEN_PATH):
        if response.status_code != 200:
            return []
        body, bad = parse_json(content, "response")
        return bad or check_json(body, "token")
    route = _route(request.url.path)
    if route is None or not route[0]:
        return []
    name, single, attachment = route
    if response.status_code >= 400:
        body, bad = parse_json(content, "response")
        return bad or check_json(body, "errors")
    if not content.strip():
        if request.method == "GET":
            return [Problem("response", "$", "a GET answered no body")]
        return []
    body, bad = parse_json(content, "response")
    if bad:
        return bad
    if attachment:
        return check_json(body, "attachment_response")
    if request.method == "GET" and not single:
        problems = check_json(body, "collection")
        for index, item in enumerate(body.get("Items", []) if isinstance(body, dict) else []):
            problems += rerooted(check_json(item, name), f"$.Items[{index}]")
        return problems
    return check_json(body, name)


CHECKS = LedgerChecks.of_request_and_answer(check_request, check_response, breaks="MYOB's contract")
check_exchange = CHECKS.check_exchange
validate_exchange = CHECKS.validate_exchange


class ContractCheckingTransport(CheckingTransport):
    """Checks every exchange through ``inner`` against MYOB's schemas (see CheckingTransport)."""

    begin = staticmethod(CHECKS.begin)
