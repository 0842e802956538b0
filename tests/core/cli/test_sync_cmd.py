"""``ml-connector sync``: a flow's settlements pulled, booked and posted once; a dry run sends nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ml_connector.core import jsoncodec
from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.cli import app, sync_cmd
from ml_connector.core.database import open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.flows import make_flow, save_flow, store_credentials
from ml_connector.core.jobs import default_runners
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.vault import KEY_VARIABLE, new_key, open_vault

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A flow joining an emulated Amazon seller to an emulated Xero org, in a SQLite file."""
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    clock = FakeClock(START)
    amazon = AmazonEmulator(seed=4, orders=40, clock=clock, marketplaces=["US", "CA"])
    xero = get_target(make_manager(), "xero").emulator(seed=4, clock=clock, chaos=Chaos.off())
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    database = open_database(url)
    flow = make_flow(
        "shop",
        target="xero",
        seller_id=amazon.credentials.seller_id,
        marketplaces=["US", "CA"],
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
    calls = {"xero": 0}

    def xero_handle(request: httpx.Request) -> httpx.Response:
        calls["xero"] += 1
        return xero.handle(request)

    handlers = {"amazon": amazon.handle, "xero": xero_handle}

    def http(service: str) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handlers[service]))

    # The command's own wiring, with the emulators' transports and simulated time.
    monkeypatch.setattr(sync_cmd, "default_runners", lambda: default_runners(http))
    monkeypatch.setattr(sync_cmd, "SystemClock", lambda: clock)
    return url, xero, calls


def posted(url: str, xero) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    from ml_connector.core import outbox

    with open_database(url).engine.connect() as conn:
        rows = outbox.entries(conn, flow="shop", target="xero")
    done = sum(1 for r in rows if r.status == outbox.DONE)
    return done, dict(xero.count_documents([r.document for r in rows]))


def test_sync_posts_a_flow_once_and_a_second_sync_adds_nothing(world) -> None:  # type: ignore[no-untyped-def]
    url, xero, _calls = world
    first = CliRunner().invoke(app, ["sync", "--flow", "shop", "--db", url])
    assert first.exit_code == 0, first.output
    done, census = posted(url, xero)
    assert done > 0 and set(census.values()) == {1}
    second = CliRunner().invoke(app, ["sync", "--db", url])
    assert second.exit_code == 0, second.output
    assert posted(url, xero) == (done, census)


def test_dry_run_writes_the_requests_and_sends_nothing(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _xero, calls = world
    # Settlements booked, nothing posted yet: the dry run plans the first push.
    database = open_database(url)
    runners = sync_cmd.default_runners()
    from ml_connector.core.scheduler import run_job

    run = run_job(
        database,
        "shop",
        "settlements",
        runners["settlements"],
        sync_cmd.SystemClock(),
        vault=open_vault(),
    )
    assert run.status == "ok", run.error
    out = tmp_path / "planned"
    result = CliRunner().invoke(
        app, ["sync", "--flow", "shop", "--db", url, "--dry-run", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = sorted((out / "xero").glob("*.json"))
    assert files and "nothing was sent" in result.output
    target = get_target(make_manager(), "xero")
    for path in files:
        record = jsoncodec.loads(path.read_text(encoding="utf-8"))
        assert (
            target.validate_request(
                method=record["method"],
                url=record["url"],
                headers=record["headers"],
                body=record["body"],
            )
            == []
        )
    assert calls["xero"] == 0, "the flow's own target saw nothing"
    from ml_connector.core import outbox

    with database.engine.connect() as conn:
        assert not outbox.entries(conn, flow="shop", target="xero"), "the real outbox is untouched"


def test_dry_run_without_out_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    url, _xero, _calls = world
    result = CliRunner().invoke(app, ["sync", "--db", url, "--dry-run"])
    assert result.exit_code == 2 and "--out" in result.output
