"""Credentials as a plugin sees them: named values, read and saved through the engine.

A plugin reads ``credentials.get("refresh_token")`` and, after a refresh, calls
``credentials.save("refresh_token", new)`` *before* using the new token. Where the values live is
the engine's business: in memory for the demo, encrypted in the vault for real flows. Values
never appear in ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Credentials:
    def __init__(
        self,
        values: Mapping[str, str],
        *,
        on_save: Callable[[str, str], None] | None = None,
    ) -> None:
        self._values = dict(values)
        self._on_save = on_save

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name, default)

    def require(self, name: str) -> str:
        from ml_connector.core.errors import ConfigError

        value = self._values.get(name)
        if not value:
            raise ConfigError(f"credential {name!r} is missing; connect the account first")
        return value

    def save(self, name: str, value: str) -> None:
        """Persist a new value (a rotated token) before the caller uses it."""
        if self._on_save is not None:
            self._on_save(name, value)
        self._values[name] = value

    def names(self) -> list[str]:
        return sorted(self._values)

    def secrets(self) -> list[str]:
        """Every value, for the redaction filter that keeps them out of logs and dumps."""
        return [v for v in self._values.values() if v]

    def __repr__(self) -> str:
        return f"Credentials(names={self.names()})"
