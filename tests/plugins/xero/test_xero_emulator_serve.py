"""The Xero emulator on a loopback port, driven by a plain HTTP client; and the schema check."""

from __future__ import annotations

from decimal import Decimal

import httpx
from test_xero_emulator_support import body, invoice

from ml_connector.core import jsoncodec
from ml_connector.plugins.xero.emulator import serve_emulator, spec, validation
from ml_connector.plugins.xero.emulator.app import HANDLERS


def test_served_emulator_refreshes_and_posts() -> None:
    server, info = serve_emulator(seed=7)
    try:
        with httpx.Client(timeout=10) as http:
            tokens = http.post(
                info["identity_url"],
                data={"grant_type": "refresh_token", "refresh_token": info["refresh_token"]},
                auth=(info["client_id"], info["client_secret"]),
            ).json()
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            [connection] = http.get(info["connections_url"], headers=auth).json()
            assert connection["tenantId"] == info["tenant_id"]
            headers = {**auth, "xero-tenant-id": info["tenant_id"]}
            made = http.put(
                f"{info['url']}/Invoices",
                content=jsoncodec.dumps({"Invoices": [invoice()]}),
                headers={**headers, "Content-Type": "application/json"},
            )
            assert made.status_code == 200
            assert body(made)["Invoices"][0]["Total"] == Decimal("39.98")
            authorize = http.get(
                info["authorize_url"],
                params={
                    "response_type": "code",
                    "client_id": info["client_id"],
                    "redirect_uri": info["redirect_uri"],
                    "scope": "openid offline_access",
                },
            )
            assert authorize.status_code == 302
            assert authorize.headers["Location"].startswith(info["redirect_uri"] + "?code=")
    finally:
        server.close()
    assert info["emulator"].count_by("Invoice", "InvoiceNumber") == {"AMZ-1001": 1}


def test_response_check_catches_a_body_off_the_spec() -> None:
    operation = spec.operation_by_id("getInvoices")
    good = {
        "Invoices": [
            {"InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", "Total": Decimal("1.00")}
        ]
    }
    assert validation.response_errors(operation.response_schemas, 200, good) == []
    bad = {"Invoices": [{"InvoiceID": "not-a-uuid", "Total": "1.00"}]}
    problems = validation.response_errors(operation.response_schemas, 200, bad)
    assert len(problems) == 2
    error_body = {"ErrorNumber": "ten"}
    assert validation.response_errors(operation.response_schemas, 400, error_body)


def test_every_implemented_operation_is_in_the_spec() -> None:
    known = {operation.operation_id for operation in spec.operations()}
    assert set(HANDLERS) <= known
