"""The emulator against Amazon's models: served paths exist, responses fit their schemas.

Every call made through the test ``Session`` is validated against the response schema the model
declares for that operation and status (see ``conftest.check_against_model``); the tour below
makes sure each served operation is called and validated at least once. Chaos faults are acted
out in Amazon's shapes, and the loopback server answers real HTTP.
"""

from __future__ import annotations

import httpx
import pytest
from emulator_session import Session, body, model_for

from ml_connector.core.amazon.emulator import ROUTES, AmazonEmulator, serve_emulator
from ml_connector.core.emulation import Chaos, FakeClock, Fault


def test_every_served_operation_is_declared_by_a_model() -> None:
    for route in ROUTES:
        operation = model_for(route.template)["paths"][route.template][route.method.lower()]
        assert operation["operationId"] == route.operation


def test_a_tour_of_every_operation_validates_against_the_models(
    session: Session, emulator: AmazonEmulator, clock: FakeClock
) -> None:
    seller = emulator.seller
    order = next(o for o in seller.orders if o.status == "SHIPPED")
    group = next(g for g in seller.groups if g.closed)
    sku = seller.catalog[0].sku
    listing = f"/listings/2021-08-01/items/{seller.seller_id}/{sku}"
    session.get(
        "/orders/2026-01-01/orders",
        params={
            "createdAfter": "2026-07-01T00:00:00Z",
            "includedData": ",".join(
                sorted(
                    [
                        "BUYER",
                        "RECIPIENT",
                        "PROCEEDS",
                        "PROMOTION",
                        "FULFILLMENT",
                        "PACKAGES",
                        "TAX",
                    ]
                )
            ),
        },
    )
    session.get(f"/orders/2026-01-01/orders/{order.order_id}", params={"includedData": "PROCEEDS"})
    session.get("/finances/v0/financialEventGroups", params={"MaxResultsPerPage": "100"})
    session.get(f"/finances/v0/financialEventGroups/{group.group_id}/financialEvents")
    session.get(f"/finances/v0/orders/{order.order_id}/financialEvents")
    session.get("/finances/v0/financialEvents", params={"PostedAfter": "2026-08-01T00:00:00Z"})
    session.get(
        "/reports/2021-06-30/reports",
        params={"reportTypes": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"},
    )
    created = session.send_json(
        "POST",
        "/reports/2021-06-30/reports",
        {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["ATVPDKIKX0DER"]},
    )
    report_id = body(created)["reportId"]
    session.delete(f"/reports/2021-06-30/reports/{report_id}")
    session.get(f"/reports/2021-06-30/reports/{group.report_id}")
    session.get(f"/reports/2021-06-30/documents/{group.document_id}")
    session.get(
        listing,
        params={
            "marketplaceIds": "ATVPDKIKX0DER",
            "includedData": ",".join(
                ["summaries", "attributes", "issues", "offers", "fulfillmentAvailability"]
            ),
        },
    )
    session.send_json(
        "PATCH",
        listing,
        {
            "productType": "PRODUCT",
            "patches": [
                {"op": "replace", "path": "/attributes/item_name", "value": [{"value": "x"}]}
            ],
        },
        params={"marketplaceIds": "ATVPDKIKX0DER"},
    )
    session.get("/sellers/v1/marketplaceParticipations")
    succeeded = {(method, template) for method, template, status in session.checked if status < 300}
    assert succeeded == {(r.method, r.template) for r in ROUTES}


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault.THROTTLE, 429, "QuotaExceeded"),
        (Fault.EXPIRE_TOKEN, 403, "Unauthorized"),
    ],
)
def test_chaos_faults_take_amazons_shape(
    clock: FakeClock, fault: Fault, status: int, code: str
) -> None:
    emulator = AmazonEmulator(
        seed=2, orders=20, clock=clock, chaos=Chaos(seed=1, per_mille={fault: 1000})
    )
    session = Session(emulator, clock)
    response = session.get("/sellers/v1/marketplaceParticipations")
    assert response.status_code == status
    assert body(response)["errors"][0]["code"] == code
    assert "Retry-After" not in response.headers
    assert emulator.chaos.injected[fault] == 1


def test_chaos_server_errors_and_timeouts(clock: FakeClock) -> None:
    emulator = AmazonEmulator(
        seed=2, orders=20, clock=clock, chaos=Chaos(seed=1, per_mille={Fault.SERVER_ERROR: 1000})
    )
    session = Session(emulator, clock)
    statuses = {session.get("/sellers/v1/marketplaceParticipations").status_code for _ in range(4)}
    assert statuses == {500, 503}
    emulator.chaos = Chaos(seed=1, per_mille={Fault.TIMEOUT: 1000})
    with pytest.raises(httpx.TimeoutException):
        session.get("/sellers/v1/marketplaceParticipations")


def test_a_lost_response_still_applies_the_write(clock: FakeClock) -> None:
    emulator = AmazonEmulator(
        seed=2, orders=20, clock=clock, chaos=Chaos(seed=1, per_mille={Fault.LOSE_RESPONSE: 1000})
    )
    session = Session(emulator, clock)
    # Reads are never lost...
    assert session.get("/sellers/v1/marketplaceParticipations").status_code == 200
    # ...a write is applied, then its response is lost.
    with pytest.raises(httpx.TimeoutException):
        session.send_json(
            "POST",
            "/reports/2021-06-30/reports",
            {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["ATVPDKIKX0DER"]},
        )
    created = [r for r in emulator.reports_api.reports if r.report_type.startswith("GET_MERCHANT")]
    assert len(created) == 1


def test_serve_emulator_answers_real_http_on_loopback() -> None:
    server, info = serve_emulator(seed=4, orders=20)
    with server, httpx.Client() as client:
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["lwa_url"] == info["url"] + "/auth/o2/token"
        token = client.post(
            info["lwa_url"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": info["refresh_token"],
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
            },
        )
        assert token.status_code == 200
        response = client.get(
            info["url"] + "/sellers/v1/marketplaceParticipations",
            headers={"x-amz-access-token": token.json()["access_token"]},
        )
        assert response.status_code == 200
        assert response.headers["x-amzn-RequestId"]
        ids = [p["marketplace"]["id"] for p in response.json()["payload"]]
        assert ids == info["marketplace_ids"]
