"""The executable schema: the project's copy of Wave's SDL plus scalars and resolvers.

The SDL is ``plugins/wave/schema/wave.graphql``, used unchanged, so the emulator accepts exactly
the operations that file allows and rejects the rest with Wave's validation errors. This module
gives the custom scalars their wire behaviour and hangs resolvers on the fields:

* ``Decimal`` (Wave: "signed decimal ... serialized as a string"): leaves as a string, arrives as
  a string, an integer or a JSON number already decoded to ``Decimal`` (request bodies are parsed
  with ``use_decimal``, so ``"amount": 100.00`` in Wave's own example never passes a float);
  floats, booleans, NaN and infinities are refused.
* ``Date`` (``yyyy-MM-dd``) and ``DateTime`` (``yyyy-MM-ddThh:mm:ss.sssZ``, UTC).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import graphql
from graphql import GraphQLError, GraphQLSchema

from ml_connector.plugins.wave.schema import SCHEMA_PATH

Resolver = Callable[..., Any]

_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def decimal_from_wire(value: object) -> Decimal:
    """A ``Decimal`` scalar input as an exact ``Decimal``; raises ``GraphQLError`` otherwise."""
    if isinstance(value, bool | float):
        raise GraphQLError(f"Decimal cannot represent a {type(value).__name__}: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise GraphQLError(f"Decimal cannot represent a non-finite value: {value}")
        return value
    if isinstance(value, str) and _PLAIN_DECIMAL.match(value.strip()):
        return Decimal(value.strip())  # the pattern admits only plain decimals, which all parse
    raise GraphQLError(f"Decimal cannot represent value: {value!r}")


def decimal_to_wire(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise GraphQLError(f"Decimal cannot serialize value: {value!r}")
    return format(Decimal(value), "f")


def _decimal_literal(node: graphql.ValueNode, _variables: Any = None) -> Decimal:
    if isinstance(node, graphql.IntValueNode | graphql.FloatValueNode | graphql.StringValueNode):
        return decimal_from_wire(node.value)
    raise GraphQLError("Decimal literals must be numbers or strings.", node)


def date_from_wire(value: object) -> dt.date:
    problem = f"Date cannot represent value: {value!r} (expected yyyy-MM-dd)"
    if not (isinstance(value, str) and _DATE.match(value)):
        raise GraphQLError(problem)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:  # the right shape but no such day, e.g. 2026-02-30
        raise GraphQLError(problem) from None


def date_to_wire(value: object) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    raise GraphQLError(f"Date cannot serialize value: {value!r}")


def datetime_from_wire(value: object) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
    raise GraphQLError(f"DateTime cannot represent value: {value!r} (expected ISO-8601 with zone)")


def datetime_to_wire(value: object) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    raise GraphQLError(f"DateTime cannot serialize value: {value!r}")


def _literal(parse: Callable[[object], Any]) -> Callable[..., Any]:
    def parse_literal(node: graphql.ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, graphql.StringValueNode):
            return parse(node.value)
        raise GraphQLError("Expected a string literal.", node)

    return parse_literal


@cache
def sdl() -> str:
    """The text of the project's Wave schema."""
    return SCHEMA_PATH.read_text(encoding="utf-8")


@cache
def _sdl_document() -> graphql.DocumentNode:
    # Parsed once per process: each emulator builds its own schema objects from it (resolvers
    # close over that emulator), but the parse is the same every time.
    return graphql.parse(sdl())


def build_executable_schema(resolvers: Mapping[str, Mapping[str, Resolver]]) -> GraphQLSchema:
    """Wave's schema with scalars wired and ``resolvers[type][field]`` attached.

    Every root field without a resolver is an error of the caller of this function, not a silent
    ``null``: the emulator passes a resolver for each root field it serves and a "not emulated"
    resolver for the rest.
    """
    schema = graphql.build_ast_schema(_sdl_document())
    _wire_scalar(schema, "Decimal", decimal_to_wire, decimal_from_wire, _decimal_literal)
    _wire_scalar(schema, "Date", date_to_wire, date_from_wire, _literal(date_from_wire))
    _wire_scalar(
        schema, "DateTime", datetime_to_wire, datetime_from_wire, _literal(datetime_from_wire)
    )
    discount = schema.get_type("InvoiceDiscount")
    assert isinstance(discount, graphql.GraphQLInterfaceType)
    discount.resolve_type = lambda value, _info, _type: value["__typename"]
    for type_name, fields in resolvers.items():
        gtype = schema.get_type(type_name)
        if not isinstance(gtype, graphql.GraphQLObjectType):
            raise KeyError(f"resolvers name {type_name!r}, which is not an object type")
        for field_name, resolver in fields.items():
            gtype.fields[field_name].resolve = resolver
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        missing = [name for name, f in root.fields.items() if f.resolve is None]
        if missing:
            raise KeyError(f"{root.name} fields without a resolver: {', '.join(missing)}")
    return schema


def _wire_scalar(
    schema: GraphQLSchema,
    name: str,
    serialize: Callable[[object], Any],
    parse_value: Callable[[object], Any],
    parse_literal: Callable[..., Any],
) -> None:
    scalar = schema.get_type(name)
    assert isinstance(scalar, graphql.GraphQLScalarType)
    scalar.serialize = serialize  # type: ignore[method-assign,assignment]
    scalar.parse_value = parse_value  # type: ignore[method-assign,assignment]
    scalar.parse_literal = parse_literal  # type: ignore[method-assign]
