"""Contract checks for QuickBooks Online traffic against Intuit's XML Schemas.

Intuit publishes no OpenAPI for the Accounting API; its JSON is the XML of
``integrations/specs/qbo/*.xsd`` written as objects: a key is an element or attribute name, a
simple-content element (``ReferenceType``) is an object whose ``value`` is the text, a repeated
element (maxOccurs > 1) is an array. The schemas are loaded with xmlschema; each JSON body is
walked against the schema's component model:

- a key the type does not declare (element, substitute of an abstract element such as
  ``IntuitObject``, or attribute) is a violation: what the schema does not know fails the test;
- every scalar is checked against its simple type (enumerations, decimals, dates, booleans);
- an array where the element may occur once, an object or scalar where it repeats, and null, are
  violations; a required attribute (``Error.code``) must be there.

Required elements are not enforced: Intuit's JSON leaves out elements the XSD marks required
(``Line`` on a sparse update, ``Name`` on a read of a deleted entity), so that check would test
the schema's XML serialisation rather than the wire.

Roots: a POST to ``/v3/company/{realm}/{entity}`` sends the bare entity (``Bill``, ...), ``/batch``
an ``IntuitBatchRequest``, ``/upload`` an ``Attachable`` in each ``file_metadata_N`` part; every
``/v3/`` answer is an ``IntuitResponse``. Other paths (OAuth, the control API) are not checked.

Public API::

    check_exchange(request, response=None) -> list[Problem]
    validate_exchange(request, response=None)               # raises ContractViolation
    ContractCheckingTransport(inner, *, raise_on_violation=True)
    check_json(body, type_name) -> list[Problem]            # one body against one named type

What the ledgers share (the problem, the violation, the transport) is in
``integrations.specs.contract``.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import httpx
import xmlschema

from integrations.specs.contract import (
    CheckingTransport,
    ContractViolation,
    LedgerChecks,
    Problem,
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
ROOT_SCHEMA = SPECS_DIR / "IntuitRestServiceDef.xsd"
PATH = re.compile(r"/v3/company/(?P<realm>[^/]+)(?:/(?P<resource>[^/?]+))?(?:/(?P<id>[^/?]+))?$")


@functools.cache
def schema() -> xmlschema.XMLSchema:
    """The schemas, loaded once per process (about a second). Report.xsd is not saved, so
    its three references stay unresolved: 'lax' keeps the rest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xmlschema.XMLSchema(str(ROOT_SCHEMA), validation="lax")


def _local(name: str | None) -> str:
    return (name or "").rsplit("}", 1)[-1]


@functools.cache
def _entity_names() -> dict[str, str]:
    """`bill` -> `Bill`: the URL resource of each entity that substitutes for IntuitObject."""
    head = schema().elements["IntuitObject"]
    return {_local(e.name).lower(): _local(e.name) for e in head.iter_substitutes()}


@functools.cache
def _children(xsd_type) -> dict[str, object]:
    """Element name -> element declaration, substitutes of abstract heads included."""
    found = {}
    for element in xsd_type.content.iter_elements():
        declaration = getattr(element, "ref", None) or element
        if not declaration.abstract:
            found[_local(element.name)] = element
        for substitute in declaration.iter_substitutes():
            found.setdefault(_local(substitute.name), _Substitute(substitute, element))
    return found


@dataclass(frozen=True)
class _Substitute:
    """A substitute takes the occurrence bounds of the abstract element it stands for."""

    declaration: object
    position: object

    @property
    def type(self):
        return self.declaration.type

    @property
    def max_occurs(self):
        return self.position.max_occurs


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


@dataclass
class _Walk:
    where: str
    problems: list[Problem] = field(default_factory=list)

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(Problem(self.where, path, reason))

    def simple(self, path: str, simple_type, value) -> None:
        if isinstance(value, dict | list) or value is None:
            name = _local(getattr(simple_type, "name", None)) or "simple"
            self.fail(path, f"expected a {name} value, got {type(value).__name__}")
            return
        if simple_type is None:  # an unresolved type (Report.xsd is not saved)
            return
        if not simple_type.is_valid(_text(value)):
            self.fail(path, f"{value!r} is not a valid {_local(simple_type.name) or 'value'}")

    def element(self, path: str, declaration, value) -> None:
        repeats = declaration.max_occurs is None or declaration.max_occurs > 1
        if isinstance(value, list):
            if not repeats:
                self.fail(path, "an array where the schema allows one element")
                return
            for index, item in enumerate(value):
                self.value(f"{path}[{index}]", declaration.type, item)
        elif repeats:
            self.fail(path, "a repeated element must be an array")
        else:
            self.value(path, declaration.type, value)

    def value(self, path: str, xsd_type, value) -> None:
        if value is None:
            self.fail(path, "null is not a value in QBO's JSON")
            return
        if xsd_type.is_simple():
            self.simple(path, xsd_type, value)
            return
        if not isinstance(value, dict):
            if xsd_type.has_simple_content():
                self.simple(path, xsd_type.content, value)
            else:
                self.fail(path, f"expected an object ({_local(xsd_type.name)})")
            return
        attributes = {_local(name): a for name, a in xsd_type.attributes.items() if name}
        children = {} if xsd_type.has_simple_content() else _children(xsd_type)
        for key, item in value.items():
            where = f"{path}.{key}"
            if key in children:
                self.element(where, children[key], item)
            elif key in attributes:
                if item is None:
                    self.fail(where, "null is not a value in QBO's JSON")
                else:
                    self.simple(where, attributes[key].type, item)
            elif key == "value" and xsd_type.has_simple_content():
                self.simple(where, xsd_type.content, item)
            else:
                self.fail(where, f"{_local(xsd_type.name) or 'this type'} has no element {key!r}")
        for name, attribute in attributes.items():
            if attribute.use == "required" and name not in value:
                self.fail(f"{path}.{name}", "required attribute missing")


def check_json(body, type_name: str, *, where: str = "response") -> list[Problem]:
    """One JSON body against one named type (``Bill``, ``IntuitResponse``, ...)."""
    s = schema()
    walk = _Walk(where)
    xsd_type = s.types.get(type_name) or s.elements[type_name].type
    walk.value("$", xsd_type, body)
    return walk.problems


def _multipart_metadata(request: httpx.Request) -> list[tuple[str, bytes]]:
    content_type = request.headers.get("content-type", "")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.content
    )
    return [
        (part.get_param("name", header="content-disposition"), part.get_payload(decode=True))
        for part in message.iter_parts()
        if (part.get_param("name", header="content-disposition") or "").startswith("file_metadata_")
    ]


def check_request(request: httpx.Request) -> list[Problem]:
    match = PATH.search(request.url.path)
    if not match or request.method != "POST":
        return []
    resource = (match["resource"] or "").lower()
    if resource == "query":
        return []  # the body is the query text
    if resource == "upload":
        problems = []
        for name, content in _multipart_metadata(request):
            body, bad = parse_json(content, "request")
            problems += bad or rerooted(check_json(body, "Attachable", where="request"), name)
        return problems
    body, bad = parse_json(request.content, "request")
    if bad:
        return bad
    if resource == "batch":
        return check_json(body, "IntuitBatchRequest", where="request")
    entity = _entity_names().get(resource)
    if entity is None:
        return [Problem("request", "$", f"no entity is called {resource!r} in the schema")]
    return check_json(body, entity, where="request")


def check_response(request: httpx.Request, response: httpx.Response) -> list[Problem]:
    if not PATH.search(request.url.path):
        return []
    body, bad = parse_json(response.read(), "response")
    return bad or check_json(body, "IntuitResponse")


CHECKS = LedgerChecks.of_request_and_answer(check_request, check_response, breaks="Intuit's schema")
check_exchange = CHECKS.check_exchange
validate_exchange = CHECKS.validate_exchange


class ContractCheckingTransport(CheckingTransport):
    """Checks every exchange through ``inner`` against Intuit's schemas (see CheckingTransport)."""

    begin = staticmethod(CHECKS.begin)
