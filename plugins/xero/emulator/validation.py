"""Request and response validation against the OpenAPI 3.0 schemas of Xero's spec.

Requests are checked element by element, so a bad field in the third invoice of a batch is
reported on that invoice (as Xero does) and the others can still be saved when the caller asked
for ``summarizeErrors=false``. Responses are checked in tests: everything the emulator answers
must fit the response schema of the operation, or a client built from the same spec would choke
on it.

Numbers arrive as ``int`` or ``Decimal``; the OpenAPI ``double``/``float`` format checks of
``openapi-schema-validator`` insist on Python floats, so they are replaced here by checks that
accept any JSON number and refuse floats outright.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ml_connector.plugins.xero.emulator.spec import SPEC_URI, is_uuid, load_spec

# Fields a caller may name by dotted path in a message; jsonschema gives a deque of keys.
_Path = list[str | int]


def _is_exact_number(value: object) -> bool:
    # The type keyword already demands a number; this only refuses the lossy kind.
    return not isinstance(value, float)


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uuid")(lambda value: not isinstance(value, str) or is_uuid(value))
    for name in ("double", "float"):
        checker.checks(name)(_is_exact_number)
    for name in ("int32", "int64"):
        checker.checks(name)(lambda value: not isinstance(value, float))
    return checker


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT4)
    # referencing types ``with_resource`` as returning Any; it returns a new Registry.
    return cast(Registry, Registry().with_resource(SPEC_URI, resource))


@functools.cache
def _validator(schema_ref: str) -> OAS30Validator:
    return OAS30Validator(
        {"$ref": f"{SPEC_URI}{schema_ref}"},
        registry=_registry(),
        format_checker=_format_checker(),
    )


def schema_ref(name: str) -> str:
    """The JSON pointer of a named component schema (``Invoice`` -> ``#/components/...``)."""
    return f"#/components/schemas/{name}"


def _dotted(path: _Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def errors(schema: str, instance: Any) -> list[str]:
    """Readable messages for every way ``instance`` breaks ``schema`` (a ``#/...`` pointer)."""
    found = sorted(_validator(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    messages = []
    for error in found:
        where = _dotted(list(error.absolute_path))
        text = error.message
        if error.validator == "maxLength":
            # The default message repeats the whole over-long value; say what matters instead.
            text = (
                f"must be at most {error.validator_value} characters long "
                f"(got {len(error.instance)})"
            )
        messages.append(f"{where}: {text}" if where else text)
    return messages


def element_schema(envelope_schema: str) -> tuple[str, str] | None:
    """For an envelope schema (``Invoices``), its array key and the item schema pointer."""
    definition = load_spec()["components"]["schemas"][envelope_schema.rsplit("/", 1)[-1]]
    for key, prop in definition.get("properties", {}).items():
        items = prop.get("items", {}) if prop.get("type") == "array" else {}
        if key not in ("Warnings",) and "$ref" in items:
            return key, items["$ref"]
    return None


def query_param_errors(declared: dict[str, dict[str, Any]], query: dict[str, str]) -> list[str]:
    """Type errors in the query parameters the operation declares (integer and boolean)."""
    problems = []
    for name, raw in query.items():
        declared_param = next((p for n, p in declared.items() if n.lower() == name.lower()), None)
        if declared_param is None:
            continue
        kind = declared_param.get("schema", {}).get("type")
        if kind == "integer" and not raw.strip().lstrip("-").isdigit():
            problems.append(f"The query parameter {name} must be an integer, not '{raw}'")
        if kind == "boolean" and raw.strip().lower() not in ("true", "false"):
            problems.append(f"The query parameter {name} must be true or false, not '{raw}'")
    return problems


def response_errors(response_schemas: dict[int, str], status: int, body: Any) -> list[str]:
    """How a response body breaks the schema the spec gives for ``status`` (400: ``Error``).

    Statuses the spec describes without a JSON body (404, 429, 5xx) have nothing to check.
    """
    schema = response_schemas.get(status)
    if schema is None and status == 400:
        schema = schema_ref("Error")
    if schema is None:
        return []
    return errors(schema, body)
