"""``ml-connector rollback`` with the flow's own credentials, then ``sync --rebook`` re-posts it.

The operations walkthrough (``docs/operations.md``) connects a flow with ``flows add`` and
``auth``, syncs it, rolls a settlement back and re-posts it. These tests run that path through
the commands, with the emulators' transports standing in for the network.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ml_connector.core import outbox
from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.booking import booked_settlements
from ml_connector.core.cli import app, rollback_cmd, sync_cmd
from ml_connector.core.database import open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.flows import make_flow, save_flow, store_credentials
from ml_connector.core.jobs import default_runners
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.vault import KEY_VARIABLE, new_key, open_vault

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A synced flow: an emulated Amazon seller posted to an emulated Xero org, in SQLite."""
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    clock = FakeClock(START)
    amazon = AmazonEmulator(seed=5, orders=30, clock=clock, marketplaces=["US"])
    xero = get_target(make_manager(), "xero").emulator(seed=5, clock=clock, chaos=Chaos.off())
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    database = open_database(url)
    flow = make_flow(
        "shop",
        target="xero",
        seller_id=amazon.credentials.seller_id,
        marketplaces=["US"],
        mapping=xero.mapping,
    )
    lwa = amazon.credentials
    with database.engine.begin() as conn:
        save_flow(conn, flow, now=START)
        store_credentials(
            conn,
            open_vault(),
            flow,
            {
                "amazon": {
                    "client_id": lwa.client_id,
                    "client_secret": lwa.client_secret,
                    "refresh_token": lwa.refresh_token,
                },
                "xero": xero.credentials,
            },
            now=START,
        )
    handlers = {"amazon": amazon.handle, "xero": xero.handle}

    def http(service: str) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handlers[service]))

    monkeypatch.setattr(sync_cmd, "default_runners", lambda: default_runners(http))
    monkeypatch.setattr(sync_cmd, "SystemClock", lambda: clock)
    # The rollback reaches the target the way a sync does: the flow's credentials, plain HTTP.
    monkeypatch.setattr(rollback_cmd, "default_http", http)
    monkeypatch.setattr(rollback_cmd, "SystemClock", lambda: clock)
    synced = CliRunner().invoke(app, ["sync", "--flow", "shop", "--db", url])
    assert synced.exit_code == 0, synced.output
    with database.engine.connect() as conn:
        settlement_id = booked_settlements(conn, flow="shop")[-1].settlement_id
    return url, xero, settlement_id


def documents(url: str, settlement_id: str) -> list[outbox.OutboxEntry]:
    database = open_database(url)
    with database.engine.connect() as conn:
        rows = outbox.entries(conn, flow="shop", target="xero")
    ids = {entry.id for entry in database.ledger.entries_with_meta("settlement_id", settlement_id)}
    return [row for row in rows if row.document.entry_ids and set(row.document.entry_ids) & ids]


def test_rollback_uses_the_flows_credentials_and_sync_rebook_reposts_once(world) -> None:  # type: ignore[no-untyped-def]
    url, xero, settlement_id = world
    before = documents(url, settlement_id)
    assert before and {row.status for row in before} == {outbox.DONE}

    rolled = CliRunner().invoke(app, ["rollback", settlement_id, "--flow", "shop", "--db", url])
    assert rolled.exit_code == 0, rolled.output
    assert f"sync --flow shop --rebook {settlement_id}" in " ".join(rolled.output.split())
    undone = documents(url, settlement_id)
    assert {row.status for row in undone} == {outbox.UNDONE}
    assert set(xero.count_documents([row.document for row in undone]).values()) == {0}

    reposted = CliRunner().invoke(
        app, ["sync", "--flow", "shop", "--db", url, "--rebook", settlement_id]
    )
    assert reposted.exit_code == 0, reposted.output
    assert "booked again" in reposted.output
    after = [row for row in documents(url, settlement_id) if row.status == outbox.DONE]
    assert len(after) == len(before)
    assert {row.document.key for row in after}.isdisjoint(row.document.key for row in before)
    assert set(xero.count_documents([row.document for row in after]).values()) == {1}

    again = CliRunner().invoke(
        app, ["sync", "--flow", "shop", "--db", url, "--rebook", settlement_id]
    )
    assert again.exit_code == 1
    assert "not rolled back" in " ".join(again.output.split())


def test_rebook_needs_a_flow_and_is_no_dry_run(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _xero, settlement_id = world
    no_flow = CliRunner().invoke(app, ["sync", "--db", url, "--rebook", settlement_id])
    assert no_flow.exit_code == 2 and "--flow" in no_flow.output
    dry = CliRunner().invoke(
        app,
        ["sync", "--flow", "shop", "--db", url, "--rebook", settlement_id, "--dry-run", "--out",
         str(tmp_path / "out")],
    )  # fmt: skip
    assert dry.exit_code == 2 and "--rebook" in dry.output


def test_rollback_refuses_a_target_the_flow_does_not_post_to(world) -> None:  # type: ignore[no-untyped-def]
    url, _xero, settlement_id = world
    result = CliRunner().invoke(
        app, ["rollback", settlement_id, "--flow", "shop", "--target", "wave", "--db", url]
    )
    assert result.exit_code == 1
    assert "posts to xero, not wave" in " ".join(result.output.split())


def test_audit_prints_account_names_as_they_are(world) -> None:  # type: ignore[no-untyped-def]
    """Rich would turn the ':bank:' of 'Assets:Bank:AmazonPayouts' into an emoji."""
    url, _xero, settlement_id = world
    result = CliRunner().invoke(app, ["audit", settlement_id, "--db", url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Assets:Bank:AmazonPayouts" in result.output
    assert "\N{BANK}" not in result.output
