"""``ml-connector amazon pull`` / ``backfill`` against the in-process emulator, and their errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ml_connector.core.booking import booked_settlements
from ml_connector.core.cli import app
from ml_connector.core.database import open_database

runner = CliRunner()
SECRET = "amzn1.oa2-cs.v1.planted-secret-value-123456"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_pull_from_the_emulator_then_again_changes_nothing(db_url: str) -> None:
    base = [
        "amazon",
        "pull",
        "--flow",
        "shop",
        "--db",
        db_url,
        "--emulator",
        "3",
        "--emulator-orders",
        "30",
    ]
    code, output = run(*base, "--json")
    assert code == 0, output
    first = json.loads(output)
    settlements = first["settlements"]
    assert settlements["listed"] > 0
    assert (
        settlements["booked"] + settlements["on_hold"] + settlements["unmapped"]
        == settlements["listed"]
    )
    assert first["orders"]["stored"] == 30
    with open_database(db_url).engine.begin() as conn:
        assert len(booked_settlements(conn, flow="shop")) == settlements["listed"]

    code, output = run(*base, "--json")
    assert code == 0, output
    again = json.loads(output)
    assert again["settlements"]["booked"] == 0 and again["orders"]["stored"] == 0


def test_pull_prints_tables_and_backfill_reaches_older_settlements(db_url: str) -> None:
    code, output = run(
        "amazon",
        "pull",
        "--flow",
        "shop",
        "--db",
        db_url,
        "--emulator",
        "5",
        "--emulator-orders",
        "20",
        "--skip-orders",
    )
    assert code == 0, output
    assert "Settlement reports" in output and "listed" in output and "Orders" not in output

    code, output = run(
        "amazon",
        "backfill",
        "--flow",
        "shop",
        "--db",
        db_url,
        "--emulator",
        "5",
        "--emulator-orders",
        "20",
        "--since",
        "2020-01-01",
        "--json",
    )
    assert code == 0, output
    result = json.loads(output)["backfill"]
    # The emulator keeps two months: every closed group's report is still listed, so the
    # backfill finds them all booked from reports and books nothing twice.
    assert result["groups"] > 0 and result["booked"] == 0
    assert result["covered_by_report"] + result["open"] == result["groups"]


def test_without_emulator_or_connection_the_command_is_used_wrongly(db_url: str) -> None:
    code, output = run(
        "amazon",
        "pull",
        "--flow",
        "shop",
        "--db",
        db_url,
        "--client-id",
        "app",
        env={"ML_CONNECTOR_AMAZON_CLIENT_SECRET": SECRET},
    )
    assert code == 2
    assert "ML_CONNECTOR_AMAZON_REFRESH_TOKEN" in output
    assert SECRET not in output


def test_backfill_refuses_an_until_before_since(db_url: str) -> None:
    code, output = run(
        "amazon",
        "backfill",
        "--flow",
        "shop",
        "--db",
        db_url,
        "--emulator",
        "1",
        "--since",
        "2026-05-01",
        "--until",
        "2026-04-01",
    )
    assert code == 1
    assert "--until 2026-04-01 must be after --since 2026-05-01" in output


def test_pull_uses_a_stored_flows_connection(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With no connection options, the flow's region, marketplaces and vault credentials are used."""
    import datetime as dt

    import httpx
    from typer.testing import CliRunner

    from ml_connector.core.amazon.emulator import AmazonEmulator
    from ml_connector.core.booking import booked_settlements
    from ml_connector.core.cli import amazon_cmd, app
    from ml_connector.core.database import open_database
    from ml_connector.core.emulation import FakeClock
    from ml_connector.core.flows import make_flow, save_flow, store_credentials
    from ml_connector.core.vault import KEY_VARIABLE, new_key, open_vault

    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    start = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    clock = FakeClock(start)
    amazon = AmazonEmulator(seed=8, orders=30, clock=clock, marketplaces=["US"])
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    database = open_database(url)
    flow = make_flow(
        "shop", target="xero", seller_id=amazon.credentials.seller_id, marketplaces=["US"]
    )
    lwa = amazon.credentials
    secrets = {
        "client_id": lwa.client_id,
        "client_secret": lwa.client_secret,
        "refresh_token": lwa.refresh_token,
    }
    with database.engine.begin() as conn:
        save_flow(conn, flow, now=start)
        store_credentials(conn, open_vault(), flow, {"amazon": secrets}, now=start)

    class EmulatedHttpx:
        """httpx as the command sees it, with every client wired to the emulator."""

        @staticmethod
        def Client(**options: object) -> httpx.Client:  # noqa: N802 (mirrors httpx.Client)
            return httpx.Client(transport=httpx.MockTransport(amazon.handle))

        MockTransport = httpx.MockTransport

    monkeypatch.setattr(amazon_cmd, "httpx", EmulatedHttpx)
    monkeypatch.setattr(amazon_cmd, "SystemClock", lambda: clock)
    result = CliRunner().invoke(app, ["amazon", "pull", "--flow", "shop", "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    assert "as flow shop is connected" in result.output
    for value in secrets.values():
        assert value not in result.output
    with database.engine.connect() as conn:
        assert booked_settlements(conn, flow="shop")
