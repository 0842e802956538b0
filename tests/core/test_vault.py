"""The vault: encryption at rest, where the key comes from, rotation, and tokens saved before use."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

import ml_connector.plugins.xero as xero
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.errors import AuthError
from ml_connector.core.schema import VaultSecret
from ml_connector.core.secrets import Secret
from ml_connector.core.vault import (
    KEY_FILE_VARIABLE,
    KEY_VARIABLE,
    KeyRing,
    RedactingFilter,
    Vault,
    VaultError,
    load_keys,
    new_key,
    redact,
    rotate_key,
)
from ml_connector.plugins.xero.auth import XeroAuth

NOW = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
SCOPE = "flow/shop/amazon"
_VAULT = VaultSecret.__table__  # type: ignore[attr-defined]


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


def ring(*keys: bytes, source: str = KEY_VARIABLE) -> KeyRing:
    return KeyRing(keys, source)


def raw_tokens(database: Database) -> dict[tuple[str, str], bytes]:
    with database.engine.begin() as conn:
        return {(r.scope, r.name): bytes(r.token) for r in conn.execute(select(_VAULT))}


def test_a_key_file_is_created_on_first_use_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "vault.key"
    first = load_keys({}, key_path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys({}, key_path=path).keys == first.keys
    assert load_keys({KEY_FILE_VARIABLE: str(path)}).keys == first.keys
    assert [p.name for p in path.parent.iterdir()] == ["vault.key"]  # no temporary file left


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    load_keys({}, key_path=path)
    os.chmod(path, 0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        load_keys({}, key_path=path)


def test_the_environment_key_wins_and_a_malformed_one_is_named_not_shown(tmp_path: Path) -> None:
    key = new_key()
    assert load_keys({KEY_VARIABLE: key.decode()}, key_path=tmp_path / "k").keys == (key,)
    assert not (tmp_path / "k").exists()
    with pytest.raises(VaultError) as caught:
        load_keys({KEY_VARIABLE: "not-a-key-but-private"})
    assert "ML_CONNECTOR_KEY" in str(caught.value)
    assert "not-a-key-but-private" not in str(caught.value)
    assert key.decode() not in repr(ring(key))


def test_values_are_encrypted_at_rest_and_read_back(database: Database) -> None:
    vault = Vault(ring(new_key()))
    with database.engine.begin() as conn:
        vault.store(
            conn,
            SCOPE,
            {"refresh_token": Secret("Atzr|very-secret"), "client_id": "amzn1.x"},
            now=NOW,
        )
    for token in raw_tokens(database).values():
        assert b"very-secret" not in token and b"amzn1.x" not in token
    with database.engine.begin() as conn:
        loaded = vault.load(conn, SCOPE)
        assert Vault.names(conn, SCOPE) == ["client_id", "refresh_token"]
    assert loaded["refresh_token"].reveal() == "Atzr|very-secret"
    assert repr(loaded) == "{'client_id': ***, 'refresh_token': ***}"


def test_another_key_cannot_open_the_values_and_says_so_without_them(database: Database) -> None:
    with database.engine.begin() as conn:
        Vault(ring(new_key())).store(conn, SCOPE, {"refresh_token": "Atzr|very-secret"}, now=NOW)
        with pytest.raises(
            VaultError, match="does not decrypt credential 'refresh_token'"
        ) as caught:
            Vault(ring(new_key())).load(conn, SCOPE)
    assert "very-secret" not in str(caught.value)


def test_a_token_copied_onto_another_row_is_refused(database: Database) -> None:
    vault = Vault(ring(new_key()))
    with database.engine.begin() as conn:
        vault.store(conn, SCOPE, {"client_secret": "s1", "refresh_token": "r1"}, now=NOW)
        token = conn.execute(
            select(_VAULT.c.token).where(_VAULT.c.name == "client_secret")
        ).scalar_one()
        conn.execute(_VAULT.update().where(_VAULT.c.name == "refresh_token").values(token=token))
        with pytest.raises(VaultError, match="sealed for another credential"):
            vault.load(conn, SCOPE)


def test_a_saved_token_is_committed_before_save_returns(database: Database) -> None:
    vault = Vault(ring(new_key()))
    with database.engine.begin() as conn:
        vault.store(conn, SCOPE, {"refresh_token": "old"}, now=NOW)
    credentials = vault.credentials(database.engine, SCOPE, now=lambda: NOW)
    credentials.save("refresh_token", "new")
    # Another connection (another process after a crash) sees the new value at once.
    with database.engine.begin() as conn:
        assert vault.load(conn, SCOPE)["refresh_token"].reveal() == "new"


def test_a_save_that_cannot_persist_raises_and_the_new_value_is_not_taken(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault(ring(new_key()))
    with database.engine.begin() as conn:
        vault.store(conn, SCOPE, {"refresh_token": "old"}, now=NOW)
    credentials = vault.credentials(database.engine, SCOPE, now=lambda: NOW)

    def disk_full(*_args: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(vault, "_seal", disk_full)
    with pytest.raises(OSError):
        credentials.save("refresh_token", "new")
    assert credentials.get("refresh_token") == "old"  # the plugin never gets to use "new"


def test_a_rotated_xero_refresh_token_survives_a_crash_between_refresh_and_use(
    database: Database,
) -> None:
    """Xero refresh tokens are single use: only the one saved before use can refresh again."""
    clock = FakeClock()
    emulated = xero.emulated_target(seed=3, clock=clock, chaos=Chaos.off())
    vault = Vault(ring(new_key()))
    scope = "flow/shop/xero"
    with database.engine.begin() as conn:
        vault.store(conn, scope, emulated.credentials, now=NOW)
    http = httpx.Client(transport=httpx.MockTransport(emulated.handle))
    first = XeroAuth(vault.credentials(database.engine, scope, now=lambda: NOW), http, clock)
    first.access_token()  # refreshes; the process "crashes" before using the token
    del first
    clock.advance(31 * 60)  # past Xero's grace period for the spent token
    with database.engine.begin() as conn:
        stored = vault.load(conn, scope)["refresh_token"].reveal()
    assert stored != emulated.credentials["refresh_token"]
    again = XeroAuth(vault.credentials(database.engine, scope, now=lambda: NOW), http, clock)
    assert again.access_token()  # the saved successor is accepted
    with pytest.raises(AuthError):  # whereas the spent one is refused
        XeroAuth(Credentials(dict(emulated.credentials)), http, clock).refresh()


def test_rotating_a_key_file_reencrypts_everything_and_retires_the_old_key(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "vault.key"
    old = load_keys({}, key_path=path)
    vault = Vault(old)
    with database.engine.begin() as conn:
        vault.store(conn, SCOPE, {"refresh_token": "r1", "client_secret": "s1"}, now=NOW)
        vault.store(conn, "flow/shop/xero", {"refresh_token": "x1"}, now=NOW)
    before = raw_tokens(database)
    done = rotate_key(database.engine, old, now=NOW)
    assert (done.rotated, done.retired) == (3, 1)
    after = raw_tokens(database)
    assert all(after[k] != before[k] for k in before)
    current = load_keys({}, key_path=path)
    assert current.keys != old.keys and len(current.keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with database.engine.begin() as conn:
        assert Vault(current).load(conn, SCOPE)["refresh_token"].reveal() == "r1"
        with pytest.raises(VaultError):
            Vault(old).load(conn, SCOPE)


def test_a_rotation_that_fails_half_way_leaves_every_value_readable(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "vault.key"
    old = load_keys({}, key_path=path)
    with database.engine.begin() as conn:
        Vault(old).store(conn, SCOPE, {"a": "1", "b": "2", "c": "3"}, now=NOW)
    sealed: list[str] = []
    real_seal = Vault._seal

    def seal_twice_then_fail(self: Vault, scope: str, name: str, value: str) -> bytes:
        sealed.append(name)
        if len(sealed) > 2:
            raise RuntimeError("power cut")
        return real_seal(self, scope, name, value)

    monkeypatch.setattr(Vault, "_seal", seal_twice_then_fail)
    with pytest.raises(RuntimeError):
        rotate_key(database.engine, old, now=NOW)
    monkeypatch.setattr(Vault, "_seal", real_seal)
    survivor = load_keys({}, key_path=path)  # new key in front, old key still there
    assert len(survivor.keys) == 2 and survivor.keys[1] == old.keys[0]
    with database.engine.begin() as conn:
        assert {k: v.reveal() for k, v in Vault(survivor).load(conn, SCOPE).items()} == {
            "a": "1",
            "b": "2",
            "c": "3",
        }
    assert rotate_key(database.engine, survivor, now=NOW).retired == 2


def test_rotating_an_environment_key_moves_values_to_its_first_key(database: Database) -> None:
    old, new = new_key(), new_key()
    with database.engine.begin() as conn:
        Vault(ring(old)).store(conn, SCOPE, {"refresh_token": "r1"}, now=NOW)
    both = load_keys({KEY_VARIABLE: f"{new.decode()},{old.decode()}"})
    assert rotate_key(database.engine, both, now=NOW).rotated == 1
    with database.engine.begin() as conn:
        assert Vault(ring(new)).load(conn, SCOPE)["refresh_token"].reveal() == "r1"


def test_redaction_masks_known_secrets_in_text_and_log_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert redact("token Atzr|abc123 refused", ["Atzr|abc123", ""]) == "token *** refused"
    logger = logging.getLogger("ml_connector.test_vault")
    logger.addFilter(RedactingFilter(lambda: ["Atzr|abc123"]))
    with caplog.at_level(logging.DEBUG, logger="ml_connector.test_vault"):
        logger.debug("remote said %s", "bad token Atzr|abc123")
        try:
            raise ValueError("echoed Atzr|abc123")
        except ValueError:
            logger.exception("failed")
    assert "Atzr|abc123" not in caplog.text
    assert "bad token ***" in caplog.text and "echoed ***" in caplog.text
