"""Canonical accounts: colon paths whose first segment gives the account type.

``Assets:Amazon:Clearing:US`` is an asset, ``Income:Amazon:Sales`` income, and so on, as in
plain-text accounting. The path is the account's identity; targets map it to their own codes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ml_connector.ledger.errors import InputError


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


ROOTS: dict[str, AccountType] = {
    "Assets": AccountType.ASSET,
    "Liabilities": AccountType.LIABILITY,
    "Equity": AccountType.EQUITY,
    "Income": AccountType.INCOME,
    "Expenses": AccountType.EXPENSE,
}

# A segment starts with a capital letter or digit and holds letters, digits and - _ . only, so
# paths survive every target's account-name rules and read well in a terminal.
_SEGMENT = re.compile(r"^[A-Z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True, slots=True)
class Account:
    """A canonical account: its full path and the type its root implies."""

    path: str

    def __post_init__(self) -> None:
        validate_account_path(self.path)

    @property
    def type(self) -> AccountType:
        return ROOTS[self.path.split(":", 1)[0]]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.split(":"))

    @property
    def parent(self) -> Account | None:
        """The account one level up; None for a top-level account such as ``Assets:Amazon``
        (its root alone, ``Assets``, is a type, not an account)."""
        head, sep, _ = self.path.rpartition(":")
        return Account(head) if sep and ":" in head else None

    def child(self, segment: str) -> Account:
        return Account(f"{self.path}:{segment}")

    def __str__(self) -> str:
        return self.path


def validate_account_path(path: object) -> str:
    """Return ``path`` if it is a valid canonical account path; raise :class:`InputError` if not."""
    if not isinstance(path, str) or not path:
        raise InputError("account path must be non-empty text", field="account", value=path)
    segments = path.split(":")
    if segments[0] not in ROOTS:
        raise InputError(
            f"account must start with one of {', '.join(ROOTS)}", field="account", value=path
        )
    if len(segments) < 2:
        raise InputError(
            "account needs at least one segment below its root", field="account", value=path
        )
    for segment in segments[1:]:
        if not _SEGMENT.match(segment):
            raise InputError(f"bad account segment {segment!r}", field="account", value=path)
    return path


def account_type(path: str) -> AccountType:
    """Type of the account at ``path`` (validated)."""
    return ROOTS[validate_account_path(path).split(":", 1)[0]]
