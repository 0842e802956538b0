"""Batched writes as Xero runs them: every element checked, then all-or-nothing or per element.

A PUT or POST carries an array of objects. Each element is validated against the spec's schema
and then by the resource's own rules, in order, so the second of two invoices with one number is
the one refused. With ``summarizeErrors=true`` (Xero's default) one refused element means HTTP
400 listing the refused elements, and nothing of the batch is kept. With ``false`` the valid
elements are saved and the answer is HTTP 200 with every element marked ``HasErrors``,
``StatusAttributeString`` (``OK``/``WARNING``/``ERROR``), ``ValidationErrors`` and ``Warnings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ml_connector.plugins.xero.emulator import validation
from ml_connector.plugins.xero.emulator.lines import Findings
from ml_connector.plugins.xero.emulator.state import IdFactory, Obj, Tenant
from ml_connector.plugins.xero.emulator.wire import (
    PROVIDER_NAME,
    json_response,
    ms_timestamp,
    validation_error_body,
)


@dataclass
class WriteContext:
    """What a resource needs to apply one element of a write request."""

    tenant: Tenant
    ids: IdFactory
    now: float
    method: str
    unitdp: int | None = None
    path_id: str | None = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one element: the object to echo back and what was found on the way."""

    obj: Obj
    findings: Findings

    @property
    def failed(self) -> bool:
        return bool(self.findings.errors)


class Writer(Protocol):
    def __call__(self, ctx: WriteContext, element: Obj) -> Outcome:
        """Check ``element`` and, only when no error was found, apply it to the tenant."""


Render = Callable[[Obj], dict[str, Any]]


def envelope(
    ids: IdFactory, now: float, key: str, items: list[Any], **extra: Any
) -> dict[str, Any]:
    """Xero's response envelope around ``items``."""
    return {
        "Id": ids.uuid(),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_timestamp(now, offset=False),
        **extra,
        key: items,
    }


def _annotated(outcome: Outcome, render: Render) -> dict[str, Any]:
    wire = render(outcome.obj)
    errors, warnings = outcome.findings.errors, outcome.findings.warnings
    status = "ERROR" if errors else ("WARNING" if warnings else "OK")
    wire["HasErrors"] = bool(errors)
    wire["StatusAttributeString"] = status
    if errors:
        wire["ValidationErrors"] = [{"Message": m} for m in errors]
    if warnings:
        wire["Warnings"] = [{"Message": m} for m in warnings]
    return wire


def run_batch(
    ctx: WriteContext,
    elements: list[Any],
    *,
    item_schema: str,
    envelope_key: str,
    writer: Writer,
    render: Render,
    summarize: bool,
) -> httpx.Response:
    """Apply ``elements`` with ``writer`` and answer as Xero does for ``summarizeErrors``."""
    outcomes: list[Outcome] = []
    with ctx.tenant.transaction() as tx:
        for element in elements:
            if not isinstance(element, dict):
                outcomes.append(
                    Outcome({}, Findings(errors=[f"each {envelope_key} element must be an object"]))
                )
                continue
            schema_errors = validation.errors(item_schema, element)
            if schema_errors:
                outcomes.append(Outcome(dict(element), Findings(errors=schema_errors)))
                continue
            outcomes.append(writer(ctx, element))
        if summarize and any(o.failed for o in outcomes):
            tx.rollback()
    if summarize and any(o.failed for o in outcomes):
        failed = [_annotated(o, render) for o in outcomes if o.failed]
        return json_response(400, validation_error_body("A validation exception occurred", failed))
    items = [_annotated(o, render) for o in outcomes]
    return json_response(200, envelope(ctx.ids, ctx.now, envelope_key, items))
