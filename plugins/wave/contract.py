"""Request validation against Wave's GraphQL schema (the project's copy, ``schema/wave.graphql``).

A request to the GraphQL endpoint must be a ``POST`` with a bearer token and a JSON body
``{"query", "variables"}`` whose document parses, validates against the schema
(``graphql.validate``: every field, argument and type exists and fits) and whose variables coerce
to the operation's variable types (input field names, enums, non-null fields, the ``Decimal``,
``Date`` and ``DateTime`` scalars as Wave reads them). Requests to Wave's OAuth endpoints are
outside the schema and are not judged here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import graphql
from graphql.execution.values import get_variable_values

from ml_connector.plugins.wave.schema import SCHEMA_PATH

OAUTH_PREFIX = "/oauth2/"


@functools.cache
def schema() -> graphql.GraphQLSchema:
    """Wave's schema, its scalars reading input as Wave documents them, built once.

    ``Decimal`` is "a signed decimal serialized as a string" (JSON numbers are accepted too, never
    floats); ``Date`` is ``yyyy-MM-dd``; ``DateTime`` ISO 8601 in UTC. The scalars are wired by
    the emulator's own :func:`~ml_connector.plugins.wave.emulator.schema.wire_wave_scalars`
    (variables and inline literals alike, on graphql-core 3.2 and 3.3), so both sides read the
    contract the same way.
    """
    from ml_connector.plugins.wave.emulator.schema import wire_wave_scalars

    built = graphql.build_ast_schema(graphql.parse(SCHEMA_PATH.read_text(encoding="utf-8")))
    wire_wave_scalars(built)
    return built


def validate_document(document: str) -> list[str]:
    """Why ``document`` is not a valid operation of Wave's schema (empty when it is)."""
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError as error:
        return [f"syntax: {error.message}"]
    return [error.message for error in graphql.validate(schema(), parsed)]


def validate_request(method: str, url: str, headers: Mapping[str, str], body: Any) -> list[str]:
    """Every way this request breaks Wave's schema or wire rules; empty when it keeps them."""
    path = urlsplit(url).path
    if path.startswith(OAUTH_PREFIX):
        return []
    where = f"{method.upper()} {path}"
    problems: list[str] = []
    if method.upper() != "POST":
        problems.append(f"{where}: Wave's GraphQL endpoint takes POST only")
    lower = {k.lower(): v for k, v in headers.items()}
    if not lower.get("authorization", "").strip():
        problems.append(f"{where}: no Authorization header (Wave needs a bearer token)")
    if "json" not in lower.get("content-type", "json"):
        problems.append(f"{where}: the body must be sent as application/json")
    if not isinstance(body, Mapping) or not isinstance(body.get("query"), str):
        return [*problems, f"{where}: the body must be a JSON object with a query string"]
    try:
        document = graphql.parse(body["query"])
    except graphql.GraphQLError as error:
        return [*problems, f"{where}: syntax: {error.message}"]
    problems.extend(f"{where}: {e.message}" for e in graphql.validate(schema(), document))
    if problems:
        return problems
    operation = graphql.get_operation_ast(document, body.get("operationName"))
    if operation is None:
        return [f"{where}: no operation to run (several and no operationName?)"]
    variables = body.get("variables") or {}
    if not isinstance(variables, Mapping):
        return [f"{where}: variables must be a JSON object"]
    coerced = get_variable_values(schema(), operation.variable_definitions or [], dict(variables))
    if isinstance(coerced, list):
        problems.extend(f"{where}: variables: {e.message}" for e in coerced)
    return problems
