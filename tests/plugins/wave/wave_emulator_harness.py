"""Test helpers: a plain httpx client on a WaveEmulator, and Wave's sample operations.

The client speaks to the emulator exactly as any Wave client would (``httpx`` over
``MockTransport``, JSON bodies), so the tests exercise the wire format, not Python shortcuts.
Request bodies are written with the project's exact JSON codec, so Decimal amounts go out as
JSON numbers or strings without ever being floats.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import graphql
import httpx

from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.jsoncodec import dumps, loads
from ml_connector.plugins.wave.emulator import GRAPHQL_PATH, WaveEmulator

SAMPLES = Path("/work/shared/reference/wave/samples-json")
GRAPHQL_URL = "https://gql.waveapps.com" + GRAPHQL_PATH
OAUTH_BASE = "https://api.waveapps.com"

MONEY_TRANSACTION_CREATE = """
mutation ($input: MoneyTransactionCreateInput!) {
  moneyTransactionCreate(input: $input) { didSucceed inputErrors { path message code } transaction { id } }
}"""


class WaveSession:
    """An emulator plus an authenticated client; ``post`` returns the decoded JSON body."""

    def __init__(
        self,
        *,
        chaos: Chaos | None = None,
        external_id_dedup: bool = False,
        invoice_number_unique: bool = True,
        seed: int = 0,
    ) -> None:
        self.clock = FakeClock()
        self.emulator = WaveEmulator(
            seed=seed,
            clock=self.clock,
            chaos=chaos,
            external_id_dedup=external_id_dedup,
            invoice_number_unique=invoice_number_unique,
        )
        self.tokens = self.emulator.issue_tokens()
        self.http = httpx.Client(transport=httpx.MockTransport(self.emulator.handle))
        self.business_id = self.emulator.business_id

    def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        bearer = self.tokens.access_token if token is None else token
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        body = dumps({"query": query, "variables": variables or {}})
        return self.http.post(GRAPHQL_URL, content=body, headers=headers)

    def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        response = self.raw(query, variables, **kw)
        assert response.status_code == 200, response.text
        return loads(response.content)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = self.post(query, variables)
        assert "errors" not in body, body
        return body["data"]

    # ------------------------------------------------------------------ seeded ids

    def account_id(self, name: str) -> str:
        business = self.emulator.state.businesses[self.business_id]
        return next(a.id for a in business.accounts.values() if a.name == name)

    def sales_tax_id(self) -> str:
        business = self.emulator.state.businesses[self.business_id]
        return next(iter(business.sales_taxes))

    def create_customer(self, name: str = "Amazon Customer", **fields: Any) -> str:
        out = self.data(
            "mutation($input: CustomerCreateInput!){ customerCreate(input:$input)"
            "{ didSucceed inputErrors{path message code} customer{id} } }",
            {"input": {"businessId": self.business_id, "name": name, **fields}},
        )["customerCreate"]
        assert out["didSucceed"], out
        return str(out["customer"]["id"])

    def create_product(self, name: str = "Widget", unit_price: str = "10.00", **fields: Any) -> str:
        given = {
            "businessId": self.business_id,
            "name": name,
            "unitPrice": unit_price,
            "incomeAccountId": self.account_id("Amazon Sales"),
            **fields,
        }
        out = self.data(
            "mutation($input: ProductCreateInput!){ productCreate(input:$input)"
            "{ didSucceed inputErrors{path message code} product{id} } }",
            {"input": given},
        )["productCreate"]
        assert out["didSucceed"], out
        return str(out["product"]["id"])

    def money_transaction(self, **overrides: Any) -> dict[str, Any]:
        """Run moneyTransactionCreate on a balanced sale of 100.00 with ``overrides`` applied."""
        given: dict[str, Any] = {
            "businessId": self.business_id,
            "externalId": "settlement-1",
            "date": "2026-10-01",
            "description": "Amazon settlement 1",
            "anchor": {
                "accountId": self.account_id("Amazon Clearing"),
                "amount": Decimal("100.00"),
                "direction": "DEPOSIT",
            },
            "lineItems": [
                {
                    "accountId": self.account_id("Amazon Sales"),
                    "amount": Decimal("100.00"),
                    "balance": "INCREASE",
                }
            ],
        }
        given.update(overrides)
        result: dict[str, Any] = self.data(MONEY_TRANSACTION_CREATE, {"input": given})[
            "moneyTransactionCreate"
        ]
        return result

    def balance(self, account_name: str) -> Decimal:
        business = self.emulator.state.businesses[self.business_id]
        return business.account_balance(self.account_id(account_name))


def sample(name: str) -> dict[str, Any]:
    """One of Wave's example operations from the shared reference folder."""
    payload: dict[str, Any] = loads((SAMPLES / name).read_text(encoding="utf-8"))
    return payload


def with_ids(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with Wave's ``<PLACEHOLDER>`` ids replaced (strings and nested containers)."""
    if isinstance(value, str):
        for placeholder, real in ids.items():
            value = value.replace(placeholder, real)
        return value
    if isinstance(value, dict):
        return {k: with_ids(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [with_ids(v, ids) for v in value]
    return value


def input_reasons(output: dict[str, Any]) -> list[str]:
    """The messages of a mutation's ``inputErrors`` (empty when it succeeded)."""
    return [str(e["message"]) for e in output.get("inputErrors") or []]


def assert_matches_selection(query: str, data: Any) -> int:
    """Check that ``data`` has every field ``query`` selects, nested; return the fields seen.

    Lists are checked element by element; a null is accepted wherever it appears (the schema
    decides nullability and graphql-core enforces it), so this checks the shape, not the values.
    """
    document = graphql.parse(query)
    operation = next(
        d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
    )
    return _walk(operation.selection_set, data)


def _walk(selection_set: graphql.SelectionSetNode, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(_walk(selection_set, item) for item in value)
    assert isinstance(value, dict), value
    seen = 0
    for selection in selection_set.selections:
        assert isinstance(selection, graphql.FieldNode)
        key = selection.alias.value if selection.alias else selection.name.value
        assert key in value, f"field {key!r} missing from {sorted(value)}"
        seen += 1
        if selection.selection_set is not None:
            seen += _walk(selection.selection_set, value[key])
    return seen
