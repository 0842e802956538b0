"""What every resource handler shares: the request as the handlers see it, and list reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ml_connector.plugins.xero.emulator import query, validation
from ml_connector.plugins.xero.emulator.batch import WriteContext, envelope, run_batch
from ml_connector.plugins.xero.emulator.spec import Operation
from ml_connector.plugins.xero.emulator.state import IdFactory, Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import (
    WireError,
    json_response,
    parse_timestamp,
    query_parse_error,
    validation_failure,
)


@dataclass
class Call:
    """One authenticated API request, parsed: everything a resource handler may look at."""

    tenant: Tenant
    ids: IdFactory
    now: float
    method: str
    operation: Operation
    path_params: dict[str, str]
    query: dict[str, str]  # keys lower-cased: Xero reads query names case-insensitively
    headers: httpx.Headers
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        return self.query.get(name.lower())

    def int_param(self, name: str) -> int | None:
        raw = self.param(name)
        return int(raw) if raw not in (None, "") else None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.param(name)
        return default if raw in (None, "") else raw.strip().lower() == "true"

    @property
    def path_value(self) -> str | None:
        return next(iter(self.path_params.values()), None)

    @property
    def unitdp(self) -> int | None:
        return self.int_param("unitdp")

    def write_context(self) -> WriteContext:
        return WriteContext(
            tenant=self.tenant,
            ids=self.ids,
            now=self.now,
            method=self.method,
            unitdp=self.unitdp,
            path_id=self.path_value,
            query=self.query,
        )


Handler = Callable[[Call], httpx.Response]


def csv_param(call: Call, name: str) -> list[str]:
    """A comma-separated list parameter (``IDs``, ``InvoiceNumbers``), quotes tolerated."""
    raw = call.param(name)
    if not raw:
        return []
    return [part.strip().strip('"').strip() for part in raw.split(",") if part.strip()]


def list_objects(
    call: Call,
    kind: str,
    envelope_key: str,
    render: Callable[[Obj, bool], dict[str, Any]],
    *,
    pageable: bool,
    lines_without_page: bool = True,
    keep: Callable[[Obj], bool] | None = None,
) -> httpx.Response:
    """A GET list: ``If-Modified-Since``, ``where``, ``order``, then ``page``/``pageSize``."""
    objects = call.tenant.objects(kind)
    if keep is not None:
        objects = [o for o in objects if keep(o)]
    since_header = call.headers.get("If-Modified-Since")
    try:
        if since_header:
            since = parse_timestamp(since_header)
            objects = [o for o in objects if o.get("UpdatedDateUTC", 0) > since]
        if call.param("where"):
            predicate = query.parse_where(call.param("where") or "")
            objects = [o for o in objects if predicate(o)]
        if call.param("order"):
            objects = query.apply_order(objects, query.parse_order(call.param("order") or ""))
    except WireError as error:
        return validation_failure([str(error)])
    except query.QueryError as error:
        return query_parse_error(str(error))
    extra: dict[str, Any] = {}
    page = call.int_param("page") if pageable else None
    with_lines = lines_without_page
    if page is not None:
        objects, extra["pagination"] = query.page_slice(objects, page, call.int_param("pageSize"))
        with_lines = True
    items = [render(o, with_lines) for o in objects]
    return json_response(200, envelope(call.ids, call.now, envelope_key, items, **extra))


def get_one(
    call: Call,
    obj: Obj | None,
    envelope_key: str,
    render: Callable[[Obj, bool], dict[str, Any]],
) -> httpx.Response:
    """A GET by id: the object in its envelope, or Xero's 404."""
    if obj is None:
        return httpx.Response(
            404,
            text="The resource you're looking for cannot be found",
            headers={"Content-Type": "text/plain"},
        )
    return json_response(200, envelope(call.ids, call.now, envelope_key, [render(obj, True)]))


def write_batch(
    call: Call,
    *,
    writer: Any,
    render: Callable[[Obj, bool], dict[str, Any]],
    summarize_default: bool = True,
    single_object: bool = False,
) -> httpx.Response:
    """A PUT/POST of an array of objects (or of one object, for the few single-object writes)."""
    schema = call.operation.request_schema or ""
    body = call.body
    if single_object:
        item_schema, envelope_key = schema, _envelope_key_of(call)
        elements = (
            body.get(envelope_key) if isinstance(body, dict) and envelope_key in body else [body]
        )
    else:
        described = validation.element_schema(schema)
        if described is None:
            raise LookupError(f"{call.operation.operation_id} has no array body in the spec")
        envelope_key, item_schema = described
        if not isinstance(body, dict) or not isinstance(body.get(envelope_key), list):
            return validation_failure(
                [f"The request body must be an object with an array '{envelope_key}'"]
            )
        elements = body[envelope_key]
        if not elements:
            return validation_failure([f"'{envelope_key}' must contain at least one object"])
    summarize = call.flag("summarizeErrors", summarize_default)
    return run_batch(
        call.write_context(),
        list(elements or []),
        item_schema=item_schema,
        envelope_key=envelope_key,
        writer=writer,
        render=lambda obj: render(obj, True),
        summarize=summarize,
    )


def _envelope_key_of(call: Call) -> str:
    response_schema = call.operation.response_schemas.get(200, "")
    return response_schema.rsplit("/", 1)[-1]
