"""Xero's official OpenAPI description of the Accounting API, loaded once and indexed.

``xero_accounting.yaml`` next to this module is a byte-for-byte copy of XeroAPI/Xero-OpenAPI
v16.1.0 (MIT, see ``XERO_OPENAPI_LICENSE``). It is 900 KB, so it is parsed once per process
(:func:`load_spec`). The emulator routes requests by the spec's own path templates and validates
bodies against its schemas, so what it accepts is what the contract says, not what we remember.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

SPEC_PATH = Path(__file__).with_name("xero_accounting.yaml")
SPEC_URI = "urn:xero:accounting"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


class _NoTimestampLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """YAML loader that keeps dates as text, as the JSON they describe would."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed OpenAPI document (cached: parse once per process)."""
    with SPEC_PATH.open("rb") as handle:
        # yaml.load is untyped (Any); the vendor's OpenAPI document is a mapping.
        return cast(dict[str, Any], yaml.load(handle, Loader=_NoTimestampLoader))  # noqa: S506


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: what a request to it may carry and what it answers."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_params: tuple[str, ...]
    uuid_params: frozenset[str]
    query_params: dict[str, dict[str, Any]]
    request_schema: str | None
    response_schemas: dict[int, str]

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters if ``path`` fits this operation's template, else None."""
        found = self.pattern.match(path)
        if not found:
            return None
        values = dict(zip(self.path_params, found.groups(), strict=True))
        if any(not is_uuid(values[name]) for name in self.uuid_params):
            return None
        return values


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = spec
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return cast(dict[str, Any], target)  # a $ref names an object of the parsed document


def _schema_ref(spec: dict[str, Any], holder: dict[str, Any] | None) -> str | None:
    if not holder:
        return None
    content = _resolve(spec, holder).get("content", {}).get("application/json", {})
    schema = content.get("schema")
    return schema.get("$ref") if isinstance(schema, dict) else None


def _segment_pattern(segment: str) -> str:
    return "([^/]+)" if segment.startswith("{") else re.escape(segment)


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the spec, literal templates before parameterised ones."""
    spec = load_spec()
    found: list[Operation] = []
    for template, item in spec["paths"].items():
        shared = [_resolve(spec, p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            op = item.get(method)
            if not op:
                continue
            params = shared + [_resolve(spec, p) for p in op.get("parameters", [])]
            path_params = tuple(re.findall(r"{(\w+)}", template))
            uuid_params = frozenset(
                p["name"]
                for p in params
                if p.get("in") == "path" and p.get("schema", {}).get("format") == "uuid"
            )
            regex = "^" + "/".join(_segment_pattern(s) for s in template.split("/")) + "$"
            responses = {
                int(code): ref
                for code, answer in op.get("responses", {}).items()
                if code.isdigit() and (ref := _schema_ref(spec, answer))
            }
            found.append(
                Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    template=template,
                    pattern=re.compile(regex, re.IGNORECASE),
                    path_params=path_params,
                    uuid_params=uuid_params,
                    query_params={p["name"]: p for p in params if p.get("in") == "query"},
                    request_schema=_schema_ref(spec, op.get("requestBody")),
                    response_schemas=responses,
                )
            )
    # A uuid-typed template must win over a free-text one of the same shape
    # (/Contacts/{ContactID} before /Contacts/{ContactNumber}); literals beat both.
    found.sort(key=lambda o: (2 * o.template.count("{") - len(o.uuid_params), o.template))
    return tuple(found)


def find_operation(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation serving ``method path`` (path relative to ``/api.xro/2.0``), if any."""
    for operation in operations():
        if operation.method != method:
            continue
        params = operation.match(path)
        if params is not None:
            return operation, params
    return None


def operation_by_id(operation_id: str) -> Operation:
    for operation in operations():
        if operation.operation_id == operation_id:
            return operation
    raise KeyError(operation_id)


def path_exists(path: str) -> bool:
    """True when some operation (any method) has a template matching ``path``."""
    return any(operation.match(path) is not None for operation in operations())
