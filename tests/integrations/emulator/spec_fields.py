"""Check a JSON body against a schema of Xero's OpenAPI spec as if every object had
additionalProperties: false: report each field the schema does not declare, and values of the
wrong JSON type or outside an enum."""

import functools
from pathlib import Path

import yaml

SPECS = Path(__file__).resolve().parents[3] / "integrations" / "specs" / "xero"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _spec(name: str) -> dict:
    with open(SPECS / name, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LOADER)


def schema(name: str, spec: str = "xero_accounting.yaml") -> dict:
    return {"$ref": f"#/components/schemas/{name}", "x-spec": spec}


def problems(value, node: dict, path: str = "$", spec: str = "xero_accounting.yaml") -> list:
    spec = node.get("x-spec", spec)
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return problems(value, _spec(spec)["components"]["schemas"][name], path, spec)
    kind = node.get("type")
    if "properties" in node or kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        declared = node.get("properties", {})
        found = []
        for key, item in value.items():
            if key not in declared:
                found.append(f"{path}.{key}: not declared")
            else:
                found += problems(item, declared[key], f"{path}.{key}", spec)
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        return [
            p
            for i, item in enumerate(value)
            for p in problems(item, node["items"], f"{path}[{i}]", spec)
        ]
    checks = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind in checks and not checks[kind](value):
        return [f"{path}: {value!r} is not a {kind}"]
    if "enum" in node and str(value) not in {str(e) for e in node["enum"]}:
        return [f"{path}: {value!r} is not one of the enum values"]
    return []
