"""What every mutation shares: the output envelope and finding the objects it addresses.

Every Wave mutation answers ``{<object>, didSucceed, inputErrors}``. A business rule that fails
inside the body raises :class:`InputErrors` and becomes ``didSucceed: false`` with the problems
and a null object; on success ``inputErrors`` is an empty list.

Two kinds of "not found", as Wave separates them:

* the object a mutation is *about* (``businessId`` of a create, ``id``/``invoiceId`` of a patch,
  approve, delete...) missing: a top-level ``NOT_FOUND`` error, worded like Wave's example
  ("Business 'BAD_ID' could not be found."), and a null output;
* an object the input merely *refers to* (a customer on an invoice, an account on a line)
  missing: an input error, so a client sees which line was wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from ml_connector.plugins.wave.emulator import ids
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import InputErrors, NotFoundFailure
from ml_connector.plugins.wave.emulator.state import BusinessState

Body = Callable[[RequestContext, Mapping[str, Any]], dict[str, Any]]
INPUT_PATH: tuple[str, ...] = ("input",)


def mutation(output_field: str | None, body: Body) -> Callable[..., dict[str, Any]]:
    """A root resolver running ``body(ctx, input)`` inside Wave's output envelope.

    ``body`` returns the output's object field(s); ``output_field`` names the one to null when
    the input is refused (None for outputs without an object, like ``invoiceDelete``).
    """

    def resolve(
        _root: object, info: GraphQLResolveInfo, input: Mapping[str, Any]
    ) -> dict[str, Any]:  # noqa: A002
        ctx: RequestContext = info.context
        try:
            fields = body(ctx, input)
        except InputErrors as refused:
            output: dict[str, Any] = {
                "didSucceed": False,
                "inputErrors": [problem.as_graphql() for problem in refused.problems],
            }
            if output_field is not None:
                output[output_field] = None
            return output
        return {"didSucceed": True, "inputErrors": [], **fields}

    return resolve


def business_of(ctx: RequestContext, business_id: str) -> BusinessState:
    business = ctx.state.business(business_id)
    if business is None:
        raise NotFoundFailure("Business", business_id)
    return business


def owner_of(ctx: RequestContext, object_id: str, kind: str) -> BusinessState:
    """The business holding the ``kind`` object ``object_id`` (scoped ids name their business)."""
    decoded = ids.decode(object_id)
    if decoded is not None and decoded.kind == kind and decoded.business_uuid is not None:
        for business in ctx.state.businesses.values():
            if business.uuid == decoded.business_uuid:
                return business
    raise NotFoundFailure(kind, object_id)


def lookup(collection: Mapping[str, Any], object_id: str, kind: str) -> Any:
    record = collection.get(object_id)
    if record is None:
        raise NotFoundFailure(kind, object_id)
    return record


def apply_fields(record: Any, given: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """Copy each GraphQL input field present in ``given`` onto ``record`` (explicit null unsets)."""
    for graphql_name, attribute in names.items():
        if graphql_name in given:
            setattr(record, attribute, given[graphql_name])
