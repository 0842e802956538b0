"""Request validation against Xero's own OpenAPI contract (``xero_accounting.yaml``).

The vendor file is the truth: a request is checked against the operation it addresses (method and
path below ``/api.xro/2.0``), its JSON body against the operation's request schema with the
OpenAPI 3.0 *write* rules (read-only fields such as ``Invoice.Payments`` may not be sent), its
required headers (``xero-tenant-id``), the ``Idempotency-Key`` length limit, and the query
parameters the operation declares. The parsed YAML and the compiled validators are cached: the
file is close to a megabyte and every recorded request passes through here.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_schema_validator import OAS30WriteValidator

API_PREFIX = "/api.xro/2.0"
IDEMPOTENCY_KEY_MAX = 128
SPEC_ENV = "ML_CONNECTOR_XERO_SPEC"
# The vendor file ships inside the package (beside the emulator, which reads the same copy);
# the shared reference folder is where it came from, used when the package copy is absent.
_SPEC_CANDIDATES = (
    Path(__file__).parent / "emulator" / "xero_accounting.yaml",
    Path("/work/shared/reference/xero/xero_accounting.yaml"),
)
_HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def spec_path() -> Path:
    """Where the vendor's OpenAPI file is read from (``$ML_CONNECTOR_XERO_SPEC`` overrides)."""
    override = os.environ.get(SPEC_ENV)
    if override:
        return Path(override)
    return next((p for p in _SPEC_CANDIDATES if p.exists()), _SPEC_CANDIDATES[-1])


@functools.cache
def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed OpenAPI document, parsed once per process."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path or spec_path(), encoding="utf-8") as handle:
        # yaml.load is untyped (Any); the vendor's OpenAPI document is a mapping.
        return cast(dict[str, Any], yaml.load(handle, Loader=loader))  # noqa: S506 - safe loader


@functools.cache
def _path_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Every templated path of the spec as a case-insensitive regex, literal paths first.

    Xero treats paths case-insensitively; a literal path (``/Invoices``) must win over a template
    that would also match it (``/Contacts/{ContactNumber}`` vs ``/Contacts/{ContactID}``).
    """
    patterns = []
    for template in load_spec()["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        patterns.append((template.count("{"), re.compile(f"^{regex}$", re.IGNORECASE), template))
    patterns.sort(key=lambda item: (item[0], item[2]))
    return tuple((regex, template) for _, regex, template in patterns)


def find_operation(method: str, url: str) -> tuple[str, dict[str, Any]] | None:
    """The spec's (path template, operation) addressed by ``method`` and ``url``, or None."""
    path = urlsplit(url).path
    if path.lower().startswith(API_PREFIX.lower()):
        path = path[len(API_PREFIX) :]
    path = path.rstrip("/") or "/"
    for regex, template in _path_patterns():
        if regex.match(path):
            operation = load_spec()["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
    return None


def _resolve(node: Mapping[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) to the object it names."""
    target: Any = node
    while isinstance(target, Mapping) and "$ref" in target:
        parts = target["$ref"].removeprefix("#/").split("/")
        target = load_spec()
        for part in parts:
            target = target[part]
    return dict(target)


def _parameters(template: str, operation: Mapping[str, Any]) -> list[dict[str, Any]]:
    shared = load_spec()["paths"][template].get("parameters", [])
    return [_resolve(p) for p in [*shared, *operation.get("parameters", [])]]


@functools.cache
def _body_validator(template: str, method: str) -> OAS30WriteValidator | None:
    operation = load_spec()["paths"][template][method]
    body = operation.get("requestBody")
    if not body:
        return None
    content: dict[str, Any] = _resolve(body).get("content", {})
    media: Mapping[str, Any] = content.get("application/json") or next(iter(content.values()), {})
    schema = media.get("schema")
    if schema is None:
        return None
    # The schema's $refs point into the whole document; carrying ``components`` beside the
    # entry point lets the validator resolve them without a separate registry.
    rooted = {"allOf": [schema], "components": load_spec()["components"]}
    return OAS30WriteValidator(rooted)


def _query_problem(parameter: Mapping[str, Any], value: str) -> str | None:
    kind = parameter.get("schema", {}).get("type")
    name = parameter["name"]
    if kind == "boolean" and value.lower() not in ("true", "false"):
        return f"query parameter {name}={value!r} is not a boolean"
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return f"query parameter {name}={value!r} is not an integer"
    return None


def validate_request(method: str, url: str, headers: Mapping[str, str], body: Any) -> list[str]:
    """Every way this request breaks Xero's published contract; empty when it keeps it.

    Checks the operation exists, required headers and query parameters are present and typed,
    ``Idempotency-Key`` is at most 128 characters, and the JSON body validates against the
    operation's request schema (write rules). Requests to the identity service (token,
    connections) are outside this file and are not judged here.
    """
    split = urlsplit(url)
    if not split.path.lower().startswith(API_PREFIX.lower()):
        return []
    found = find_operation(method, url)
    if found is None:
        return [f"{method.upper()} {split.path}: no such operation in xero_accounting.yaml"]
    template, operation = found
    where = f"{method.upper()} {template}"
    problems: list[str] = []
    lower_headers = {k.lower(): v for k, v in headers.items()}
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    lower_query = {k.lower(): v for k, v in query.items()}
    known_query = set()
    for parameter in _parameters(template, operation):
        name, place = parameter["name"], parameter["in"]
        if place == "header":
            value = lower_headers.get(name.lower())
            if parameter.get("required") and not value:
                problems.append(f"{where}: required header {name} is missing")
            if name.lower() == "idempotency-key" and value and len(value) > IDEMPOTENCY_KEY_MAX:
                problems.append(
                    f"{where}: Idempotency-Key is {len(value)} characters, "
                    f"more than {IDEMPOTENCY_KEY_MAX}"
                )
        elif place == "query":
            known_query.add(name.lower())
            value = lower_query.get(name.lower())
            if value is None:
                if parameter.get("required"):
                    problems.append(f"{where}: required query parameter {name} is missing")
            elif problem := _query_problem(parameter, value):
                problems.append(f"{where}: {problem}")
    for name in query:
        if name.lower() not in known_query:
            problems.append(f"{where}: query parameter {name} is not defined for this operation")
    validator = _body_validator(template, method.lower())
    if validator is not None:
        if body is None:
            problems.append(f"{where}: a JSON body is required")
        else:
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
                location = "/".join(str(p) for p in error.absolute_path) or "(body)"
                problems.append(f"{where}: body {location}: {error.message}")
    return problems
