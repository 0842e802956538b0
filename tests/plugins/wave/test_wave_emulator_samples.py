"""Wave's own example operations (reference ``samples-json/``) run against the emulator.

Each sample is sent as Wave documents it, with only the ``<PLACEHOLDER>`` ids replaced by ids of
the seeded business, and its answer must carry every field the operation selects. The two
example error responses are reproduced and compared key by key.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from wave_emulator_harness import (
    SAMPLES,
    WaveSession,
    assert_matches_selection,
    sample,
    with_ids,
)

from ml_connector.core.jsoncodec import loads


@pytest.fixture
def session() -> WaveSession:
    return WaveSession()


def run_sample(session: WaveSession, name: str, ids: dict[str, str]) -> dict[str, Any]:
    """Post sample ``name`` verbatim (ids replaced) and return its ``data``, shape-checked."""
    payload = with_ids(sample(name), {"<BUSINESS_ID>": session.business_id, **ids})
    body = session.post(payload["query"], payload.get("variables"))
    assert "errors" not in body, body
    assert assert_matches_selection(payload["query"], body["data"]) > 0
    data: dict[str, Any] = body["data"]
    return data


def seeded_ids(session: WaveSession) -> dict[str, str]:
    """Ids for every placeholder the samples use, creating a customer, product and invoice."""
    customer = session.create_customer("Santa")
    product = session.create_product("LED Bulb", "2.0625")
    invoice = session.data(
        "mutation($input: InvoiceCreateInput!){ invoiceCreate(input:$input){ invoice{id} } }",
        {
            "input": {
                "businessId": session.business_id,
                "customerId": customer,
                "items": [{"productId": product}],
            }
        },
    )["invoiceCreate"]["invoice"]["id"]
    return {
        "<CUSTOMER_ID>": customer,
        "<PRODUCT_ID>": product,
        "<INVOICE_ID>": invoice,
        "<ACCOUNT_ID>": session.account_id("Amazon Sales"),
        "<ANCHOR_ACCOUNT_ID>": session.account_id("Business Bank"),
        "<LINE_ITEM_ACCOUNT_ID>": session.account_id("Amazon Sales"),
    }


def test_every_request_sample_is_covered() -> None:
    covered = {
        "user.request.json",
        "businesses.request.json",
        "businesses.pagination.request.json",
        "countries.request.json",
        "business.customer.request.json",
        "business.accounts.request.json",
        "business.accounts.incomeSubtypes.request.json",
        "business.invoices.request.json",
        "customerCreate.request.json",
        "customerPatch.request.json",
        "productCreate.request.json",
        "invoiceCreate.request.json",
        "invoiceCreate.request.minimal.json",
        "invoicePatch.request.json",
        "invoiceSend.request.json",
        "moneyTransactionCreate.request.json",
    }
    on_disk = {p.name for p in SAMPLES.glob("*.request*.json")}
    assert on_disk == covered


def test_user_sample(session: WaveSession) -> None:
    user = run_sample(session, "user.request.json", {})["user"]
    assert base64.b64decode(user["id"]).decode().startswith("User:")
    assert user["createdAt"].endswith("Z")


def test_businesses_samples_match_wave_example_response(session: WaveSession) -> None:
    data = run_sample(session, "businesses.pagination.request.json", {})
    example = loads((SAMPLES / "businesses.pagination.response.json").read_text())["data"]
    assert data["businesses"]["pageInfo"].keys() == example["businesses"]["pageInfo"].keys()
    assert data["businesses"]["pageInfo"] == {"currentPage": 1, "totalPages": 1, "totalCount": 2}
    for edge in data["businesses"]["edges"]:
        assert edge["node"].keys() == example["businesses"]["edges"][0]["node"].keys()
        assert base64.b64decode(edge["node"]["id"]).decode().startswith("Business:")
    listed = run_sample(session, "businesses.request.json", {})["businesses"]["edges"]
    assert [e["node"]["isPersonal"] for e in listed] == [True, False]


def test_countries_sample(session: WaveSession) -> None:
    countries = run_sample(session, "countries.request.json", {})["countries"]
    canada = next(c for c in countries if c["code"] == "CA")
    assert {"code": "CA-NU", "name": "Nunavut"} in canada["provinces"]


def test_customer_samples(session: WaveSession) -> None:
    ids = seeded_ids(session)
    created = run_sample(session, "customerCreate.request.json", ids)["customerCreate"]
    assert created["didSucceed"] is True and created["inputErrors"] == []
    customer = created["customer"]
    assert customer["address"]["province"] == {"code": "CA-NU", "name": "Nunavut"}
    assert customer["address"]["country"] == {"code": "CA", "name": "Canada"}
    assert customer["currency"] == {"code": "CAD"}
    ids["<CUSTOMER_ID>"] = customer["id"]
    patched = run_sample(session, "customerPatch.request.json", ids)["customerPatch"]
    assert patched["customer"] == {"id": customer["id"], "email": "jdoe@example.com"}
    fetched = run_sample(session, "business.customer.request.json", ids)["business"]["customer"]
    assert fetched["email"] == "jdoe@example.com"
    assert fetched["outstandingAmount"] == {"raw": 0, "value": "0.00"}


def test_account_samples_filter_as_asked(session: WaveSession) -> None:
    accounts = run_sample(session, "business.accounts.request.json", {})["business"]["accounts"]
    nodes = [e["node"] for e in accounts["edges"]]
    assert {n["type"]["value"] for n in nodes} == {"INCOME"}
    assert not any(n["isArchived"] for n in nodes)  # isArchived defaults to false
    assert accounts["pageInfo"]["totalCount"] == len(nodes)
    income = run_sample(session, "business.accounts.incomeSubtypes.request.json", {})
    subtypes = {e["node"]["subtype"]["value"] for e in income["business"]["accounts"]["edges"]}
    assert subtypes == {"INCOME", "DISCOUNTS", "OTHER_INCOME"}


def test_product_sample_keeps_four_decimals(session: WaveSession) -> None:
    ids = seeded_ids(session)
    product = run_sample(session, "productCreate.request.json", ids)["productCreate"]["product"]
    assert product["unitPrice"] == "2.0625"
    assert product["incomeAccount"]["name"] == "Amazon Sales"
    assert (product["isSold"], product["isBought"], product["isArchived"]) == (True, False, False)


@pytest.mark.parametrize(
    "name", ["invoiceCreate.request.json", "invoiceCreate.request.minimal.json"]
)
def test_invoice_create_samples(session: WaveSession, name: str) -> None:
    ids = seeded_ids(session)
    out = run_sample(session, name, ids)["invoiceCreate"]
    assert out["didSucceed"] is True
    invoice = out["invoice"]
    assert invoice["status"] == "DRAFT"
    assert invoice["invoiceNumber"] == "2"  # the seeded invoice took 1
    [item] = invoice["items"]
    assert (item["quantity"], item["price"]) == ("1", "2.0625")
    assert item["subtotal"]["value"] == "2.06"  # 2.0625 rounded half away from zero
    assert item["account"]["subtype"] == {"name": "Income", "value": "INCOME"}
    assert invoice["total"] == {"value": "2.06", "currency": {"symbol": "$"}}


def test_invoice_patch_send_and_list_samples(session: WaveSession) -> None:
    ids = seeded_ids(session)
    patched = run_sample(session, "invoicePatch.request.json", ids)["invoicePatch"]
    assert patched["didSucceed"] and patched["invoice"]["invoiceNumber"] == "1"
    sent = run_sample(session, "invoiceSend.request.json", ids)["invoiceSend"]
    assert sent == {"didSucceed": True, "inputErrors": []}
    listed = run_sample(session, "business.invoices.request.json", ids)["business"]["invoices"]
    [node] = [e["node"] for e in listed["edges"]]
    assert node["title"] == "a new awesome title"
    assert node["status"] == "SENT" and node["lastSentVia"] == "WAVE"


def test_money_transaction_sample_with_json_number_amounts(session: WaveSession) -> None:
    ids = seeded_ids(session)
    raw = (SAMPLES / "moneyTransactionCreate.request.json").read_text()
    assert '"amount": 100.00' in raw  # Wave's example sends a JSON number, not a string
    payload = with_ids(loads(raw), {"<BUSINESS_ID>": session.business_id, **ids})
    out = session.data(payload["query"], payload["variables"])["moneyTransactionCreate"]
    assert out["didSucceed"] is True and out["transaction"]["id"]
    [stored] = session.emulator.state.money_transactions(session.business_id)
    assert stored.anchor_amount == Decimal("100.00") and type(stored.anchor_amount) is Decimal
    assert session.balance("Business Bank") == Decimal("100.00")


def test_validation_error_matches_wave_example(session: WaveSession) -> None:
    example = loads((SAMPLES / "error.GRAPHQL_VALIDATION_FAILED.response.json").read_text())
    response = session.raw('query {\n  business(name: "x") {\n    id\n  }\n}')
    assert response.status_code == 200
    [error] = loads(response.content)["errors"]
    [wave] = example["errors"]
    assert error.keys() == wave.keys()
    assert error["extensions"].keys() == wave["extensions"].keys()
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["locations"] == wave["locations"]
    assert "name" in error["message"] and "business" in error["message"]


def test_not_found_error_matches_wave_example(session: WaveSession) -> None:
    example = loads((SAMPLES / "error.NOT_FOUND.response.json").read_text())
    body = session.post('query {\n  business(id: "BAD_ID") {\n    id\n  }\n}')
    [error] = body["errors"]
    [wave] = example["errors"]
    assert {k: v for k, v in error.items() if k != "extensions"} == {
        k: v for k, v in wave.items() if k != "extensions"
    }
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert body["data"] == example["data"]
