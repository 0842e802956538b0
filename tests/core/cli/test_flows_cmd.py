"""``flows add|list|show|remove|load``, ``vault``, and the hunt for planted secrets."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ml_connector.core.cli import app
from ml_connector.core.database import open_database
from ml_connector.core.emulation import FakeClock
from ml_connector.core.flows import get_flow
from ml_connector.core.scheduler import FAILED, OK, JobContext, Scheduler
from ml_connector.core.vault import KEY_VARIABLE, KeyRing, Vault, load_keys, new_key, open_vault

runner = CliRunner()

AMAZON_SECRET = "PLANTED-amzn-client-secret-7f3a9c"
AMAZON_REFRESH = "Atzr|PLANTED-refresh-91c2d8e4"
XERO_SECRET = "PLANTED-xero-client-secret-44d1b0"
XERO_REFRESH = "PLANTED-xero-refresh-0e6f2a"
TOML_SECRET = "PLANTED-toml-file-secret-5b7e13"
PLANTED = (AMAZON_SECRET, AMAZON_REFRESH, XERO_SECRET, XERO_REFRESH, TOML_SECRET)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    key = new_key().decode()
    monkeypatch.setenv(KEY_VARIABLE, key)
    monkeypatch.setenv("PLANTED_AMAZON_REFRESH", AMAZON_REFRESH)
    return {KEY_VARIABLE: key}


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())  # rich wraps at the terminal width


def add_shop(db_url: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    secret_file = tmp_path / "xero-secret"
    secret_file.write_text(XERO_SECRET + "\n")
    creds = tmp_path / "xero.json"
    creds.write_text(
        json.dumps({"client_id": "xero-client", "refresh_token": XERO_REFRESH, "port": 1})
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[accounts]\n"Income:Amazon:Sales" = "200"\n')
    return invoke(
        "flows", "add", "shop-us", "--db", db_url,
        "--target", "xero", "--seller-id", "A2SELLER", "-m", "US", "-m", "CA",
        "--mapping", str(mapping), "--schedule", "orders=30m",
        "--credential", "amazon.client_id=amzn1.application-oa2-client.example",
        "--credential", f"amazon.client_secret={AMAZON_SECRET}",
        "--credential", "amazon.refresh_token=env:PLANTED_AMAZON_REFRESH",
        "--credential", f"xero.client_secret=file:{secret_file}",
        "--credentials-file", f"xero={creds}",
        *extra,
    )  # fmt: skip


def test_add_list_show_remove(db_url: str, tmp_path: Path, env: dict[str, str]) -> None:
    code, out = add_shop(db_url, tmp_path)
    assert code == 0, out
    assert (
        "Flow shop-us added: xero, US, CA (NA), summary; 6 credential(s) stored encrypted." in out
    )
    assert "Skipped values that are not text: xero.port." in out
    code, out = invoke("flows", "list", "--db", db_url)
    assert code == 0 and "shop-us" in out and "US, CA (NA)" in out
    code, out = invoke("flows", "show", "shop-us", "--db", db_url, "--json")
    shown = json.loads(out)
    assert shown["credentials"] == {
        "amazon": ["client_id", "client_secret", "refresh_token"],
        "xero": ["client_id", "client_secret", "refresh_token"],
    }
    assert shown["schedule"]["orders"] == 1800
    assert shown["mapping"]["accounts"] == {"Income:Amazon:Sales": "200"}
    code, out = invoke("flows", "show", "shop-us", "--db", db_url)
    assert code == 0 and "client_secret" in out and "Income:Amazon:Sales" in out
    code, out = add_shop(db_url, tmp_path)
    assert code == 1 and "already exists" in out
    assert add_shop(db_url, tmp_path, "--replace", "--mode", "per-order")[0] == 0
    code, out = invoke("flows", "remove", "shop-us", "--db", db_url, "--yes")
    assert code == 0 and "removed" in out
    code, out = invoke("flows", "show", "shop-us", "--db", db_url)
    assert code == 1 and "no flow named 'shop-us'" in out


def test_mistakes_are_reported_on_one_line(
    db_url: str, tmp_path: Path, env: dict[str, str]
) -> None:
    code, out = add_shop(db_url, tmp_path, "--mode", "weekly")
    assert code == 1 and "flow 'shop-us': mode: 'weekly' is not one of summary, per-order" in out
    code, out = invoke(
        "flows", "add", "x", "--db", db_url, "--target", "nosuch", "--seller-id", "S", "-m", "US"
    )
    assert code == 1 and "no target named 'nosuch'" in out
    code, out = invoke(
        "flows", "add", "x", "--db", db_url, "--target", "xero", "--seller-id", "S", "-m", "US",
        "--credential", "amazon.refresh_token=env:NOT_SET_ANYWHERE",
    )  # fmt: skip
    assert code == 1 and "environment variable NOT_SET_ANYWHERE is not set" in out
    code, out = invoke("flows", "list", "--db", db_url)
    assert "No flows yet" in out


def test_load_declares_flows_from_toml(db_url: str, tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "flows.toml"
    path.write_text(
        '[flows.shop-uk]\ntarget = "xero"\nseller_id = "A2SELLER"\nmarketplaces = ["UK", "DE"]\n'
        f'[flows.shop-uk.credentials.xero]\nclient_secret = "{TOML_SECRET}"\n'
    )
    code, out = invoke("flows", "load", str(path), "--db", db_url)
    assert code == 0 and "1 flow(s) added: shop-uk; 0 updated." in out
    code, out = invoke("flows", "load", str(path), "--db", db_url)
    assert "0 flow(s) added; 1 updated: shop-uk." in out
    with open_database(db_url).engine.begin() as conn:
        assert get_flow(conn, "shop-uk").region == "EU"


def test_vault_rotate_key_from_a_key_file(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "vault.key"
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    monkeypatch.setenv("ML_CONNECTOR_KEY_FILE", str(key_file))
    monkeypatch.setenv("PLANTED_AMAZON_REFRESH", AMAZON_REFRESH)
    assert add_shop(db_url, tmp_path)[0] == 0
    before = load_keys()
    code, out = invoke("vault", "rotate-key", "--db", db_url)
    assert code == 0 and "6 credential(s) re-encrypted" in out and "1 old key(s) retired" in out
    assert load_keys().keys != before.keys
    with open_database(db_url).engine.begin() as conn:
        loaded = open_vault().load(conn, "flow/shop-us/amazon")
    assert loaded["refresh_token"].reveal() == AMAZON_REFRESH
    code, out = invoke("vault", "new-key")
    assert code == 0 and len(out.strip()) == 44


def _database_text(db_url: str) -> list[str]:
    """Every value of every table, as text, plus the SQLite files' raw bytes."""
    found: list[str] = []
    engine = open_database(db_url).engine
    metadata = sa.MetaData()
    with warnings.catch_warnings():  # expression indexes are not reflected; rows are all we need
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        found.append(bytes(value).decode("latin-1"))
                    else:
                        found.append(str(value))
    engine.dispose()
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(str(url.database) + suffix)
            if path.exists():
                found.append(path.read_bytes().decode("latin-1"))
    return found


def test_no_planted_secret_reaches_logs_errors_output_or_the_database(
    db_url: str, tmp_path: Path, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    errors: list[str] = []

    code, out = add_shop(db_url, tmp_path)
    assert code == 0, out
    outputs.append(out)
    flows_toml = tmp_path / "flows.toml"
    flows_toml.write_text(
        '[flows.shop-uk]\ntarget = "xero"\nseller_id = "A2SELLER"\nmarketplaces = ["UK"]\n'
        f'[flows.shop-uk.credentials.xero]\nclient_secret = "{TOML_SECRET}"\n'
    )
    for args in (
        ("flows", "load", str(flows_toml), "--db", db_url),
        ("flows", "list", "--db", db_url),
        ("flows", "list", "--db", db_url, "--json"),
        ("flows", "show", "shop-us", "--db", db_url),
        ("flows", "show", "shop-us", "--db", db_url, "--json"),
        ("flows", "show", "shop-uk", "--db", db_url),
        # Forced errors that carry credentials in their input:
        ("flows", "add", "bad", "--db", db_url, "--target", "xero", "--seller-id", "S", "-m", "US",
         "--mode", "weekly", "--credential", f"amazon.client_secret={AMAZON_SECRET}"),
        ("flows", "add", "bad", "--db", db_url, "--target", "xero", "--seller-id", "S", "-m", "US",
         "--credential", f"amazon{AMAZON_SECRET}"),
        ("flows", "add", "bad", "--db", db_url, "--target", "xero", "--seller-id", "S", "-m", "US",
         "--credential", f"wave.token={XERO_SECRET}"),
    ):  # fmt: skip
        outputs.append(invoke(*args)[1])
    assert "error:" in outputs[-1] and "error:" in outputs[-2] and "error:" in outputs[-3]

    # A job whose remote service echoes a token back in its error, at DEBUG, three times (alert).
    database = open_database(db_url)
    clock = FakeClock()

    def echoing_runner(context: JobContext) -> str:
        credentials = context.credentials("amazon")
        logging.getLogger("ml_connector.scheduler").debug(
            "calling with %s", credentials.require("refresh_token")
        )
        raise RuntimeError(f"LWA said: invalid_grant for {credentials.require('refresh_token')}")

    scheduler = Scheduler(database, clock, {"orders": echoing_runner}, vault=open_vault())
    for _ in range(3):
        runs = scheduler.run_due()
        assert [r.status for r in runs] == [FAILED, FAILED]
        errors.extend(r.error for r in runs)
        clock.advance(3600)
    assert "RuntimeError: LWA said: invalid_grant for ***" in errors
    outputs.append(invoke("alerts", "--db", db_url)[1])
    outputs.append(invoke("flows", "show", "shop-us", "--db", db_url)[1])

    # A refreshed token saved through the job's credentials is stored encrypted too.
    def rotating_runner(context: JobContext) -> str:
        context.credentials("xero").save("refresh_token", XERO_REFRESH + "-next")
        return "rotated"

    clock.advance(86400)
    runs = Scheduler(database, clock, {"sync": rotating_runner}, vault=open_vault()).run_due()
    assert {r.status for r in runs} == {OK}

    # The wrong key: the error names the credential and the key source, nothing else.
    wrong_key = Vault(KeyRing((new_key(),), "a lost key"))
    wrong = Scheduler(database, clock, {"orders": echoing_runner}, vault=wrong_key)
    clock.advance(86400)
    wrong_runs = wrong.run_due()
    assert any("(a lost key) does not decrypt credential" in r.error for r in wrong_runs)
    errors.extend(r.error for r in wrong_runs)
    errors.extend(repr(x) for x in (scheduler, database, open_vault()))
    database.engine.dispose()

    haystacks = {
        "logs": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "errors": "\n".join(errors),
        "output": "\n".join(outputs),
        "database": "\n".join(_database_text(db_url)),
    }
    assert "shop-us" in haystacks["database"]  # the search does look at the data
    for where, text in haystacks.items():
        for secret in PLANTED:
            assert secret not in text, f"{secret!r} found in {where}"
