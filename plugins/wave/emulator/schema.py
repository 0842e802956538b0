"""The executable schema: the project's copy of Wave's SDL plus scalars and resolvers.

The SDL is ``plugins/wave/schema/wave.graphql``, used unchanged, so the emulator accepts exactly
the operations that file allows and rejects the rest with Wave's validation errors. This module
gives the custom scalars their wire behaviour and hangs resolvers on the fields:

* ``Decimal`` (Wave: "signed decimal ... serialized as a string"): leaves as a string, arrives as
  a string, an integer or a JSON number already decoded to ``Decimal`` (request bodies are parsed
  with ``use_decimal``, so ``"amount": 100.00`` in Wave's own example never passes a float);
  floats, booleans, NaN and infinities are refused.
* ``Date`` (``yyyy-MM-dd``) and ``DateTime`` (``yyyy-MM-ddThh:mm:ss.sssZ``, UTC).

The scalars are wired by :func:`wire_scalar`, which graphql-core 3.2 and 3.3 both honour (see
there for what 3.3 changed).
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
    wire_wave_scalars(schema)
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


def wire_wave_scalars(schema: GraphQLSchema) -> None:
    """Give ``schema``'s ``Decimal``, ``Date`` and ``DateTime`` scalars Wave's wire behaviour.

    The emulator executes with these and the contract checker (``plugins/wave/contract.py``)
    validates with them, so both read a request the same way.
    """
    for name, serialize, parse_value, parse_literal in (
        ("Decimal", decimal_to_wire, decimal_from_wire, _decimal_literal),
        ("Date", date_to_wire, date_from_wire, _literal(date_from_wire)),
        ("DateTime", datetime_to_wire, datetime_from_wire, _literal(datetime_from_wire)),
    ):
        scalar = schema.get_type(name)
        if not isinstance(scalar, graphql.GraphQLScalarType):
            raise KeyError(f"the Wave schema has no scalar {name!r}")
        wire_scalar(scalar, serialize, parse_value, parse_literal)


def wire_scalar(
    scalar: graphql.GraphQLScalarType,
    serialize: Callable[[object], Any],
    parse_value: Callable[[object], Any],
    parse_literal: Callable[..., Any],
) -> None:
    """Replace the behaviour of a scalar ``build_ast_schema`` made, under graphql-core 3.2 or 3.3.

    An SDL scalar is built with pass-through hooks, to be replaced afterwards. graphql-core 3.2
    calls ``serialize``, ``parse_value`` and ``parse_literal(node, variables)``. graphql-core 3.3
    renamed the first two ``coerce_output_value`` and ``coerce_input_value`` and reads only the
    new names, which its constructor copies from the legacy ones once: assigning the legacy names
    after the build would leave variables and results unconverted there (a ``Decimal`` variable
    would reach resolvers as the request's ``str``, results go out unserialized). So both names
    are assigned, the new ones where the installed graphql-core has them.

    Literals go through ``parse_literal`` on both versions: 3.3 still calls it (with the same
    arguments as 3.2) while ``coerce_input_literal`` is unset, which it is here on purpose. 3.3
    would call ``coerce_input_literal`` with a copy of a list or object literal that has no
    source location, so the errors refusing such literals would lose their ``locations`` and
    differ from 3.2's.
    """
    scalar.serialize = serialize  # type: ignore[method-assign,assignment]
    scalar.parse_value = parse_value  # type: ignore[method-assign,assignment]
    scalar.parse_literal = parse_literal  # type: ignore[method-assign]
    for renamed, hook in (("coerce_output_value", serialize), ("coerce_input_value", parse_value)):
        if hasattr(scalar, renamed):  # graphql-core >= 3.3
            setattr(scalar, renamed, hook)
