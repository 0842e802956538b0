"""The one error hierarchy of ml-connector.

Every error the product raises on purpose derives from :class:`ConnectorError`, so a caller (the
CLI, a worker) can catch the family in one place and still tell the kinds apart. The ledger is the
lowest layer, so the base lives here; the engine and the plugins add their own subclasses
(target errors, auth errors) beside their code.

Errors carry the facts a person needs to fix the cause (the record, the field, the value), never
a secret.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of every error ml-connector raises deliberately."""


class InputError(ConnectorError, ValueError):
    """Input that cannot be accepted: names where it came from and what was wrong.

    ``source`` is a file name or a record description, ``line`` and ``column`` locate the value
    where that makes sense, ``field`` names the field and ``value`` repeats the offending text.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: str | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        self.value = value
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        suffix = f" (value {self.value!r})" if self.value is not None else ""
        return f"{prefix}: {self.reason}{suffix}" if prefix else f"{self.reason}{suffix}"


class MoneyError(InputError):
    """An amount or currency that is not valid money (float, NaN, too many decimals, unknown code)."""


class LedgerError(ConnectorError):
    """A violation of the ledger's invariants."""


class UnbalancedEntryError(LedgerError):
    """A journal entry whose postings do not sum to zero in every currency."""


class ConflictingEntryError(LedgerError):
    """An entry id that already exists in the ledger with different content."""


class ImmutableLedgerError(LedgerError):
    """An attempt to change or delete a posted entry; corrections are reversals."""
