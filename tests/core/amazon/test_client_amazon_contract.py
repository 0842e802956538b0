"""The contract checker catches what Amazon would refuse (so the other tests mean something)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from spapi_contract import (
    MODEL_OPERATIONS,
    ContractTransport,
    ContractViolation,
    check_lwa_request,
    check_request,
    find_operation,
)

BASE = "https://sellingpartnerapi-na.amazon.com"
HEADERS = {"x-amz-access-token": "Atza|x", "user-agent": "ml-connector/0.1 (Language=Python/3.11)"}
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def get(path: str, params: dict[str, str] | None = None, **headers: str) -> httpx.Request:
    return httpx.Request("GET", BASE + path, params=params, headers={**HEADERS, **headers})


def test_models_are_loaded_and_operations_found_by_template() -> None:
    assert len(MODEL_OPERATIONS) > 50
    op, values = find_operation("GET", "/finances/v0/financialEventGroups/G%2F1/financialEvents")  # type: ignore[misc]
    assert op.operation_id == "listFinancialEventsByGroupId"
    assert values == {"eventGroupId": "G/1"}
    assert find_operation("GET", "/nowhere") is None


def test_a_good_request_passes() -> None:
    request = get(
        "/reports/2021-06-30/reports",
        {"reportTypes": "A,B", "processingStatuses": "DONE", "pageSize": "100"},
    )
    assert check_request(request).operation_id == "getReports"


@pytest.mark.parametrize(
    ("path", "params", "problem"),
    [
        ("/reports/2021-06-30/reports", {"reportTypes": "A", "colour": "red"}, "unknown query"),
        ("/reports/2021-06-30/reports", {"reportTypes": "A", "pageSize": "101"}, "above maximum"),
        ("/reports/2021-06-30/reports", {"reportTypes": "A", "pageSize": "0"}, "below minimum"),
        (
            "/reports/2021-06-30/reports",
            {"reportTypes": "A", "processingStatuses": "NOPE"},
            "not in",
        ),
        ("/reports/2021-06-30/reports", {"reportTypes": ",".join("ABCDEFGHIJK")}, "maximum 10"),
        ("/reports/2021-06-30/reports", {"nextToken": "t", "pageSize": "10"}, "only parameter"),
        ("/reports/2021-06-30/reports", {}, "reportTypes or nextToken"),
        ("/orders/2026-01-01/orders", {"marketplaceIds": "X"}, "exactly one"),
        (
            "/orders/2026-01-01/orders",
            {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedBefore": "2026-01-02T00:00:00Z"},
            "excludes",
        ),
        ("/orders/2026-01-01/orders", {"createdAfter": "yesterday"}, "ISO 8601"),
        (
            "/finances/v0/financialEvents",
            {"PostedAfter": "2025-01-01T00:00:00Z", "PostedBefore": "2025-08-01T00:00:00Z"},
            "180 days",
        ),
        ("/finances/v0/financialEvents", {"PostedBefore": "2025-08-01T00:00:00Z"}, "needs"),
        (
            "/finances/v0/financialEvents",
            {"PostedAfter": "2026-03-01T11:59:00Z"},
            "two minutes",
        ),
    ],
)
def test_violations_are_named(path: str, params: dict[str, str], problem: str) -> None:
    with pytest.raises(ContractViolation, match=problem):
        check_request(get(path, params), now=NOW)


def test_missing_required_query_parameter() -> None:
    request = httpx.Request(
        "PATCH",
        BASE + "/listings/2021-08-01/items/S/SKU",
        json={"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/x"}]},
        headers=HEADERS,
    )
    with pytest.raises(ContractViolation, match="required query parameter marketplaceIds"):
        check_request(request)


def test_body_is_checked_against_the_schema() -> None:
    request = httpx.Request(
        "PATCH",
        BASE + "/listings/2021-08-01/items/S/SKU",
        params={"marketplaceIds": "ATVPDKIKX0DER"},
        json={"patches": [{"op": "upsert", "path": "/attributes/x"}]},
        headers=HEADERS,
    )
    with pytest.raises(ContractViolation) as caught:
        check_request(request)
    assert "productType" in str(caught.value)
    assert "upsert" in str(caught.value)


def test_headers_the_developer_guide_asks_for() -> None:
    request = httpx.Request(
        "GET",
        BASE + "/sellers/v1/marketplaceParticipations",
        headers={"user-agent": "python-httpx"},
    )
    with pytest.raises(ContractViolation) as caught:
        check_request(request)
    assert "x-amz-access-token" in str(caught.value)
    assert "user-agent" in str(caught.value)


def test_lwa_exchange_needs_the_four_fields() -> None:
    good = httpx.Request(
        "POST",
        "https://api.amazon.com/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "r",
            "client_id": "c",
            "client_secret": "s",
        },
    )
    check_lwa_request(good)
    bad = httpx.Request(
        "POST", "https://api.amazon.com/auth/o2/token", data={"grant_type": "refresh_token"}
    )
    with pytest.raises(ContractViolation, match="form fields"):
        check_lwa_request(bad)


def test_access_token_never_goes_to_a_download_url() -> None:
    transport = ContractTransport(httpx.MockTransport(lambda r: httpx.Response(200)))
    with httpx.Client(transport=transport) as http:
        http.get("https://tortuga-prod-na.s3.amazonaws.com/doc")
        with pytest.raises(ContractViolation, match="no model operation"):
            http.get(
                "https://tortuga-prod-na.s3.amazonaws.com/doc", headers={"x-amz-access-token": "t"}
            )
    assert transport.calls == ["download"]
