"""The emulator on a real loopback port, driven by a plain httpx client from the info dict."""

from __future__ import annotations

import httpx

from ml_connector.core.jsoncodec import dumps, loads
from ml_connector.plugins.wave.emulator import serve_emulator


def test_served_emulator_answers_oauth_and_graphql() -> None:
    server, info = serve_emulator(seed=3)
    try:
        assert info["url"].startswith("http://127.0.0.1:") and info["url"].endswith(
            "/graphql/public"
        )
        with httpx.Client(timeout=10) as client:
            refreshed = client.post(
                info["token_url"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": info["refresh_token"],
                    "client_id": info["client_id"],
                    "client_secret": info["client_secret"],
                },
            )
            assert refreshed.status_code == 200
            for token in (info["access_token"], loads(refreshed.content)["access_token"]):
                response = client.post(
                    info["url"],
                    content=dumps(
                        {
                            "query": "query($b: ID!){ business(id: $b) { name } }",
                            "variables": {"b": info["business_id"]},
                        }
                    ),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
                assert loads(response.content) == {
                    "data": {"business": {"name": "Amazon Seller Co"}}
                }
            authorize = client.get(
                info["authorize_url"],
                params={
                    "client_id": info["client_id"],
                    "response_type": "code",
                    "scope": "business:*",
                },
            )
            assert authorize.status_code == 302
            assert authorize.headers["Location"].startswith(info["redirect_uri"] + "?code=")
    finally:
        server.close()
