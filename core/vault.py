"""The credential vault: every credential value encrypted at rest, and a key that can rotate.

Values are Fernet tokens (AES-128-CBC + HMAC-SHA256, from ``cryptography``) in the
``vault_secret`` table; the plaintext never reaches the database. Each token encrypts the value
*together with* its scope and name, so a token copied onto another row does not decrypt as that
row's value.

The key comes from, in order:

1. ``ML_CONNECTOR_KEY``: one or more Fernet keys separated by commas, newest first (every
   machine running workers against one PostgreSQL database needs the same value);
2. the key file ``ML_CONNECTOR_KEY_FILE`` names, or ``vault.key`` in the user data directory,
   created with mode 0600 on first use. One key per line, newest first.

The first key encrypts; all of them decrypt (:class:`cryptography.fernet.MultiFernet`), which is
what makes rotation safe: :func:`rotate_key` puts a new key in front, re-encrypts every value in
one transaction, and only then retires the old keys.

Token stores: :meth:`Vault.credentials` gives a plugin a :class:`Credentials` whose ``save``
commits the encrypted value in its own transaction *before it returns*. A plugin that receives a
rotated refresh token calls ``credentials.save("refresh_token", new)`` before using it; if the
save fails the exception propagates and the new token is never used, so the database always
holds the one refresh token that is still valid.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from platformdirs import user_data_path
from sqlalchemy import Connection, Engine, delete, select, update

from ml_connector.core.credentials import Credentials
from ml_connector.core.errors import ConfigError
from ml_connector.core.schema import VaultSecret
from ml_connector.core.secrets import MASK, Secret

KEY_VARIABLE = "ML_CONNECTOR_KEY"
KEY_FILE_VARIABLE = "ML_CONNECTOR_KEY_FILE"
KEY_FILE_NAME = "vault.key"
APP_NAME = "ml-connector"

_VAULT = VaultSecret.__table__  # type: ignore[attr-defined]


class VaultError(ConfigError):
    """The vault key is missing, malformed, or does not open a stored value. Never holds one."""


# -- keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRing:
    """Fernet keys, newest first, and where they came from (``env`` or a file path).

    ``repr`` shows the source and how many keys, never a key.
    """

    keys: tuple[bytes, ...]
    source: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultError(f"the vault key from {self.source} is empty")
        for position, key in enumerate(self.keys, start=1):
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise VaultError(
                    f"vault key #{position} from {self.source} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with 'ml-connector vault new-key')"
                ) from None

    def __repr__(self) -> str:
        return f"KeyRing(source={self.source!r}, keys={len(self.keys)})"

    @property
    def fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in self.keys])

    @property
    def primary(self) -> bytes:
        return self.keys[0]


def new_key() -> bytes:
    return Fernet.generate_key()


def _parse_keys(text: str, source: str) -> KeyRing:
    parts = [p.strip() for p in re.split(r"[,\s]+", text) if p.strip()]
    return KeyRing(tuple(p.encode("ascii", "replace") for p in parts), source)


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    configured = environ.get(KEY_FILE_VARIABLE, "").strip()
    if configured:
        return Path(configured).expanduser()
    return user_data_path(APP_NAME, appauthor=False, ensure_exists=True) / KEY_FILE_NAME


def _write_key_file(path: Path, keys: Sequence[bytes], *, exclusive: bool) -> None:
    """Write ``keys`` to ``path`` atomically, mode 0600 from the first byte.

    The file is written beside its destination under a temporary name, then linked into place
    (``exclusive``: fails if another process created the key first) or renamed over it, so no
    reader ever sees a half-written key file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".vault-key-", dir=path.parent)  # mode 0600
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, b"".join(key + b"\n" for key in keys))
        os.fsync(fd)
        os.close(fd)
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _read_key_file(path: Path) -> KeyRing:
    if os.name == "posix":
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VaultError(
                f"the vault key file {path} can be read by other users (mode {oct(mode & 0o777)}); "
                f"run 'chmod 600 {path}'"
            )
    return _parse_keys(path.read_text(encoding="ascii"), str(path))


def load_keys(
    environ: Mapping[str, str] | None = None, *, key_path: Path | None = None, create: bool = True
) -> KeyRing:
    """The vault's keys: ``ML_CONNECTOR_KEY`` if set, else the key file (created if ``create``)."""
    environ = os.environ if environ is None else environ
    from_env = environ.get(KEY_VARIABLE, "").strip()
    if from_env:
        return _parse_keys(from_env, KEY_VARIABLE)
    path = key_path or default_key_path(environ)
    if not path.exists():
        if not create:
            raise VaultError(f"no vault key: set {KEY_VARIABLE} or create {path}")
        # Another process may create it between our check and our link: then theirs is used.
        with contextlib.suppress(FileExistsError):
            _write_key_file(path, [new_key()], exclusive=True)
    return _read_key_file(path)


# -- redaction ---------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by the mask (longest first)."""
    for value in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks known secret values in every record it passes.

    A second line of defence: our code never logs a secret, but a remote service may echo one
    back inside an error body that somebody logs.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = list(self._secrets())
        if secrets:
            message = record.getMessage()
            cleaned = redact(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redact(text, secrets)
                record.exc_info = None
        return True


@contextlib.contextmanager
def redacted_logs(secrets: Callable[[], Iterable[str]]) -> Iterator[None]:
    """Mask ``secrets`` in everything the root logger's handlers write, for the ``with`` block."""
    redaction = RedactingFilter(secrets)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(redaction)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(redaction)


# -- the vault ---------------------------------------------------------------------------------


class Vault:
    """Encrypted credential values, grouped by scope (``flow/<flow>/<service>``).

    Methods taking a ``conn`` run inside the caller's transaction, so a flow and its secrets are
    written together; :meth:`credentials` commits each save on its own.
    """

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self._fernet = keys.fernet

    def __repr__(self) -> str:
        return f"Vault({self.keys!r})"

    def _seal(self, scope: str, name: str, value: str) -> bytes:
        payload = json.dumps({"scope": scope, "name": name, "value": value}, sort_keys=True)
        return self._fernet.encrypt(payload.encode("utf-8"))

    def _open(self, scope: str, name: str, token: bytes) -> str:
        try:
            payload = json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken:
            raise VaultError(
                f"the vault key ({self.keys.source}) does not decrypt credential {name!r} of "
                f"{scope}: the key was changed or lost; restore it, or connect the account again"
            ) from None
        if payload.get("scope") != scope or payload.get("name") != name:
            raise VaultError(
                f"credential {name!r} of {scope} holds a value sealed for another credential; "
                "the row was copied or tampered with"
            )
        return str(payload["value"])

    def store(
        self, conn: Connection, scope: str, values: Mapping[str, str | Secret], *, now: dt.datetime
    ) -> None:
        """Insert or replace each named value of ``scope`` (other names stay)."""
        for name, value in values.items():
            if not name:
                raise VaultError(f"a credential of {scope} has an empty name")
            plain = value.reveal() if isinstance(value, Secret) else value
            if not isinstance(plain, str):
                raise VaultError(f"credential {name!r} of {scope} must be text")
            token = self._seal(scope, name, plain)
            changed = conn.execute(
                update(_VAULT)
                .where(_VAULT.c.scope == scope, _VAULT.c.name == name)
                .values(token=token, updated_at=now)
            ).rowcount
            if not changed:
                conn.execute(
                    _VAULT.insert().values(scope=scope, name=name, token=token, updated_at=now)
                )

    def load(self, conn: Connection, scope: str) -> dict[str, Secret]:
        rows = conn.execute(
            select(_VAULT.c.name, _VAULT.c.token)
            .where(_VAULT.c.scope == scope)
            .order_by(_VAULT.c.name)
        )
        return {row.name: Secret(self._open(scope, row.name, row.token)) for row in rows}

    @staticmethod
    def names(conn: Connection, scope: str) -> list[str]:
        """The names stored under ``scope``; needs no key and decrypts nothing."""
        rows = conn.execute(
            select(_VAULT.c.name).where(_VAULT.c.scope == scope).order_by(_VAULT.c.name)
        )
        return [row.name for row in rows]

    @staticmethod
    def delete(conn: Connection, scope_prefix: str) -> int:
        """Delete every value whose scope is ``scope_prefix`` or lies under it."""
        return (
            conn.execute(
                delete(_VAULT).where(
                    (_VAULT.c.scope == scope_prefix)
                    | _VAULT.c.scope.startswith(scope_prefix.rstrip("/") + "/", autoescape=True)
                )
            ).rowcount
            or 0
        )

    def credentials(
        self, engine: Engine, scope: str, *, now: Callable[[], dt.datetime]
    ) -> Credentials:
        """The values of ``scope`` as plugin :class:`Credentials`, saved through to the vault.

        ``credentials.save(name, value)`` encrypts and commits the value in its own transaction
        before it returns (and before the in-memory copy changes), so a token a plugin saved is
        durable before the plugin uses it. ``now`` stamps the row (the run's clock).
        """
        with engine.begin() as conn:
            values = {name: secret.reveal() for name, secret in self.load(conn, scope).items()}

        def persist(name: str, value: str) -> None:
            with engine.begin() as conn:
                self.store(conn, scope, {name: value}, now=now())

        return Credentials(values, on_save=persist)

    def rotate(self, conn: Connection, new_keys: KeyRing, *, now: dt.datetime) -> int:
        """Re-encrypt every stored value under ``new_keys.primary``; returns how many.

        ``new_keys`` must still decrypt what is stored (old keys after the new one). Run in one
        transaction: either every value moves to the new key or none does.
        """
        rotated = 0
        target = Vault(new_keys)
        rows = conn.execute(select(_VAULT.c.scope, _VAULT.c.name, _VAULT.c.token)).all()
        for row in rows:
            value = target._open(row.scope, row.name, row.token)
            conn.execute(
                update(_VAULT)
                .where(_VAULT.c.scope == row.scope, _VAULT.c.name == row.name)
                .values(token=target._seal(row.scope, row.name, value), updated_at=now)
            )
            rotated += 1
        self.keys = new_keys
        self._fernet = new_keys.fernet
        return rotated


@dataclass(frozen=True)
class Rotation:
    rotated: int
    source: str
    retired: int  # old keys removed from the key file (0 when the key comes from the environment)


def rotate_key(engine: Engine, keys: KeyRing, *, now: dt.datetime) -> Rotation:
    """Rotate the vault key and re-encrypt every secret; crash-safe at every step.

    From a key file: a new key is written in front of the old ones (both decrypt), every value
    is re-encrypted under it in one transaction, and then the file is rewritten with the new key
    alone. A crash before the commit leaves the old values and a file that still opens them; a
    crash after it leaves a file with one key too many, which the next rotation retires.

    From ``ML_CONNECTOR_KEY`` the program cannot change the variable: put the new key first
    (``NEW,OLD``), run this to re-encrypt under ``NEW``, then drop ``OLD`` from the variable.
    """
    if keys.source == KEY_VARIABLE:
        with engine.begin() as conn:
            rotated = Vault(keys).rotate(conn, keys, now=now)
        return Rotation(rotated=rotated, source=keys.source, retired=0)
    path = Path(keys.source)
    fresh = new_key()
    _write_key_file(path, [fresh, *keys.keys], exclusive=False)
    widened = KeyRing((fresh, *keys.keys), keys.source)
    with engine.begin() as conn:
        rotated = Vault(widened).rotate(conn, widened, now=now)
    _write_key_file(path, [fresh], exclusive=False)
    return Rotation(rotated=rotated, source=keys.source, retired=len(keys.keys))


def open_vault(environ: Mapping[str, str] | None = None, *, key_path: Path | None = None) -> Vault:
    """A vault with the configured key (:func:`load_keys`), creating the key file if needed."""
    return Vault(load_keys(environ, key_path=key_path))
