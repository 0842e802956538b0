"""Shared set-up for the Xero emulator tests (no tests here; the other files import it).

:class:`XeroEnv` is an emulator on a :class:`FakeClock` with an API client already holding a
token and the tenant header. Every response the client receives is checked against the OpenAPI
response schema of the operation it answers, so each test also proves the emulator speaks the
spec; a mismatch fails the test that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.plugins.xero.emulator import XeroEmulator, spec, validation

API = "https://api.xero.com/api.xro/2.0"
IDENTITY = "https://identity.xero.com"


class SchemaMismatch(AssertionError):
    """A response body that does not fit the spec's response schema."""


def checked(emulator: XeroEmulator) -> Any:
    """``emulator.handle`` plus a check of every JSON answer against the spec."""

    def handle(request: httpx.Request) -> httpx.Response:
        response = emulator.handle(request)
        path = request.url.path
        if "/api.xro/2.0" not in path:
            return response
        subpath = path.split("/api.xro/2.0", 1)[1]
        found = spec.find_operation(request.method, subpath)
        content_type = response.headers.get("Content-Type", "")
        if found is None or "json" not in content_type:
            return response
        body = jsoncodec.loads(response.read())
        problems = validation.response_errors(found[0].response_schemas, response.status_code, body)
        if problems:
            raise SchemaMismatch(f"{found[0].operation_id} {response.status_code}: {problems}")
        return response

    return handle


@dataclass
class XeroEnv:
    clock: FakeClock
    emulator: XeroEmulator
    api: httpx.Client
    tokens: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, *, chaos: Chaos | None = None, **options: Any) -> XeroEnv:
        clock = FakeClock()
        emulator = XeroEmulator(clock=clock, chaos=chaos, **options)
        tokens = emulator.issue_tokens()
        api = httpx.Client(
            transport=httpx.MockTransport(checked(emulator)),
            base_url=API,
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "xero-tenant-id": emulator.tenant_id,
                "Accept": "application/json",
            },
        )
        return cls(clock, emulator, api, tokens)

    @property
    def tenant(self) -> Any:
        return self.emulator.state.tenant()

    def send(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        content = jsoncodec.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        return self.api.request(method, path, content=content, headers=headers, **kw)

    def fresh_minute(self) -> None:
        """Step past the per-minute window, so a test can make many calls."""
        self.clock.advance(61)


def body(response: httpx.Response) -> Any:
    return jsoncodec.loads(response.content)


def invoice(number: str | None = "AMZ-1001", **fields: Any) -> dict[str, Any]:
    """A plain ACCREC invoice for the seeded org (one line on Sales 200, no tax)."""
    data: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"Name": "Amazon.com Customers"},
        "Date": "2026-10-05",
        "DueDate": "2026-10-19",
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Order 111-2223334-5556667",
                "Quantity": 2,
                "UnitAmount": Decimal("19.99"),
                "AccountCode": "200",
                "TaxType": "NONE",
            }
        ],
    }
    if number is not None:
        data["InvoiceNumber"] = number
    data.update(fields)
    return data


def journal(narration: str = "Settlement 12345", amount: str = "100.00", **fields: Any) -> dict:
    """A balanced two-line manual journal: clearing debit, sales credit."""
    data: dict[str, Any] = {
        "Narration": narration,
        "Date": "2026-10-05",
        "Status": "POSTED",
        "JournalLines": [
            {"LineAmount": Decimal(amount), "AccountCode": "091", "Description": "Clearing"},
            {"LineAmount": -Decimal(amount), "AccountCode": "200", "Description": "Sales"},
        ],
    }
    data.update(fields)
    return data
