"""``ml-connector emulate``: the mapping file for ``flows add`` and the Amazon rate multiplier."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ml_connector.core.cli import app, emulate_cmd
from ml_connector.core.emulation import Chaos, SystemClock
from ml_connector.core.flows import mapping_to_dict
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.vault import KEY_VARIABLE, new_key


@pytest.fixture(autouse=True)
def _returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve, print, and stop at once instead of waiting for Ctrl-C."""
    monkeypatch.setattr(emulate_cmd, "_wait_for_interrupt", lambda: None)


def test_mapping_out_writes_the_emulated_organisations_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "xero-mapping.json"
    result = CliRunner().invoke(app, ["emulate", "xero", "--seed", "3", "--mapping-out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output.splitlines()[0])
    assert info["api_url"].startswith("http://127.0.0.1:")
    expected = get_target(make_manager(), "xero").emulator(
        seed=3, clock=SystemClock(), chaos=Chaos.off()
    )
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == mapping_to_dict(expected.mapping)
    assert written["accounts"]["Income:Amazon:Sales"]
    # What 'flows add --mapping' reads, as the walkthrough does.
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    added = CliRunner().invoke(
        app,
        ["flows", "add", "shop", "--target", "xero", "--seller-id", "A2EXAMPLE", "-m", "US",
         "--mapping", str(out), "--db", f"sqlite:///{tmp_path / 'books.sqlite'}"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output


def test_amazon_rate_multiplier_scales_the_advertised_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The served emulator meters at 100 x Amazon's rates and says so in its rate header."""
    import httpx

    from ml_connector.core.amazon import emulator as amazon_emulator

    seen: dict[str, str] = {}
    serve = amazon_emulator.serve_emulator

    def serve_and_ask(**kwargs: Any) -> Any:
        server, info = serve(**kwargs)
        token = httpx.post(
            info["lwa_url"],
            data={"grant_type": "refresh_token", "refresh_token": info["refresh_token"],
                  "client_id": info["client_id"], "client_secret": info["client_secret"]},
        ).json()["access_token"]  # fmt: skip
        answer = httpx.get(
            info["url"] + "/sellers/v1/marketplaceParticipations",
            headers={"x-amz-access-token": token},
        )
        seen["limit"] = answer.headers["x-amzn-RateLimit-Limit"]
        return server, info

    monkeypatch.setattr(amazon_emulator, "serve_emulator", serve_and_ask)
    result = CliRunner().invoke(
        app, ["emulate", "amazon", "--orders", "5", "--rate-multiplier", "100"]
    )
    assert result.exit_code == 0, result.output
    assert Decimal(seen["limit"]) == Decimal("0.016") * 100  # getMarketplaceParticipations


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["emulate", "amazon", "--rate-multiplier", "0"], "must be a positive number"),
        (["emulate", "amazon", "--rate-multiplier", "fast"], "must be a positive number"),
        (["emulate", "xero", "--rate-multiplier", "10"], "Amazon emulator only"),
        (["emulate", "amazon", "--mapping-out", "m.json"], "not Amazon's"),
    ],
)
def test_misused_options_are_refused_clearly(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
