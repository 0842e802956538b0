"""Journal entries: immutable, balanced per currency, identified deterministically.

A :class:`JournalEntry` cannot be constructed unless its postings sum to zero in every currency
and every amount sits exactly on its currency's minor unit. Entries are never edited: the only
correction is :func:`reverse`, which makes the mirror entry linked to the original, followed by a
new entry. Ids are derived from where the entry came from (:func:`entry_id`), so booking the same
source twice yields the same id and the store can tell a harmless re-run from a conflict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_text
from types import MappingProxyType
from typing import Any

from ml_connector.ledger.accounts import validate_account_path
from ml_connector.ledger.errors import InputError, UnbalancedEntryError
from ml_connector.ledger.money import format_amount, minor_units, require_exact

ID_PREFIX = "je_"

# Account paths that passed validate_account_path: a ledger uses a few dozen accounts over
# millions of postings, so each path is parsed once. Only valid paths enter, and the set is
# bounded by the accounts a process books to.
_VALID_ACCOUNTS: set[str] = set()
# Postings hashed per update of the content hash: big enough to amortise the update call,
# small enough that a settlement entry of 100,000 postings is never one big string.
_HASH_BATCH = 512


def entry_id(*parts: str) -> str:
    """A deterministic entry id from the parts that identify its source.

    ``entry_id("settlement", "1234", "payout")`` is the same on every run and every machine.
    """
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise InputError("entry id parts must be non-empty strings", field="id", value=parts)
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return ID_PREFIX + digest[:32]


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of an entry: a signed amount (debit positive, credit negative) on an account."""

    account: str
    amount: Decimal
    currency: str
    marketplace: str | None = None
    memo: str | None = None

    def __post_init__(self) -> None:
        if self.account not in _VALID_ACCOUNTS:
            _VALID_ACCOUNTS.add(validate_account_path(self.account))
        minor_units(self.currency)
        object.__setattr__(
            self,
            "amount",
            require_exact(self.amount, self.currency, field=f"amount on {self.account}"),
        )

    def negated(self) -> Posting:
        return Posting(self.account, -self.amount, self.currency, self.marketplace, self.memo)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "amount": format_amount(self.amount, self.currency),
            "currency": self.currency,
            "marketplace": self.marketplace,
            "memo": self.memo,
        }


def _frozen_meta(meta: Mapping[str, str] | None) -> Mapping[str, str]:
    items = dict(meta or {})
    for key, value in items.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InputError(
                "entry metadata keys and values must be strings", field="meta", value=(key, value)
            )
    return MappingProxyType(dict(sorted(items.items())))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced, immutable journal entry.

    ``source_ref`` says where the entry came from (``amazon:settlement:1234``) and is what the
    audit trail and ``entries by source`` look up. ``kind`` tells renderers what the entry stands
    for (``settlement``, ``order``, ``payout``...). ``reverses`` is set only on a reversal.
    """

    id: str
    date: dt.date
    description: str
    source_ref: str
    postings: tuple[Posting, ...]
    kind: str = "general"
    reverses: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.startswith(ID_PREFIX):
            raise InputError(f"entry id must start with {ID_PREFIX!r}", field="id", value=self.id)
        if not isinstance(self.date, dt.date) or isinstance(self.date, dt.datetime):
            raise InputError(
                "entry date must be a date", source=self.id, field="date", value=self.date
            )
        if not self.source_ref:
            raise InputError("entry needs a source reference", source=self.id, field="source_ref")
        postings = tuple(self.postings)
        if len(postings) < 2:
            raise UnbalancedEntryError(
                f"entry {self.id} needs at least two postings, has {len(postings)}"
            )
        if not all(isinstance(p, Posting) for p in postings):
            raise InputError("postings must be Posting records", source=self.id, field="postings")
        object.__setattr__(self, "postings", postings)
        object.__setattr__(self, "meta", _frozen_meta(self.meta))
        imbalance = {
            cur: total for cur, total in totals_by_currency(postings).items() if total != 0
        }
        if imbalance:
            detail = ", ".join(
                f"{cur} {format_amount(t, cur)}" for cur, t in sorted(imbalance.items())
            )
            raise UnbalancedEntryError(
                f"entry {self.id} ({self.description!r}) does not balance: off by {detail}"
            )

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(p.currency for p in self.postings)

    def to_dict(self) -> dict[str, Any]:
        """Plain data with money as decimal strings; stable key order for hashing and JSON."""
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "description": self.description,
            "source_ref": self.source_ref,
            "kind": self.kind,
            "reverses": self.reverses,
            "meta": dict(self.meta),
            "postings": [p.to_dict() for p in self.postings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Inverse of :meth:`to_dict`; amounts are parsed from their decimal strings."""
        postings = tuple(
            Posting(
                account=p["account"],
                amount=Decimal(p["amount"]),
                currency=p["currency"],
                marketplace=p.get("marketplace"),
                memo=p.get("memo"),
            )
            for p in data["postings"]
        )
        return cls(
            id=data["id"],
            date=dt.date.fromisoformat(data["date"]),
            description=data["description"],
            source_ref=data["source_ref"],
            postings=postings,
            kind=data.get("kind", "general"),
            reverses=data.get("reverses"),
            meta=data.get("meta") or {},
        )

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal content, equal hash.

        The canonical form is ``json.dumps(self.to_dict(), sort_keys=True,
        separators=(",", ":"))``, byte for byte (stored hashes depend on it), but it is written
        into the hash piece by piece: an entry with a posting per order of a large settlement
        is never held as one dict or one string.
        """
        digest = hashlib.sha256()
        meta = ",".join(f"{_json_text(k)}:{_json_text(v)}" for k, v in sorted(self.meta.items()))
        digest.update(
            f'{{"date":"{self.date.isoformat()}","description":{_json_text(self.description)},'
            f'"id":{_json_text(self.id)},"kind":{_json_text(self.kind)},"meta":{{{meta}}},'
            '"postings":['.encode()
        )
        postings = self.postings
        for start in range(0, len(postings), _HASH_BATCH):
            text = ",".join(map(_posting_json, postings[start : start + _HASH_BATCH]))
            digest.update(("," + text if start else text).encode())
        reverses = "null" if self.reverses is None else _json_text(self.reverses)
        digest.update(
            f'],"reverses":{reverses},"source_ref":{_json_text(self.source_ref)}}}'.encode()
        )
        return digest.hexdigest()


def _optional_json_text(value: str | None) -> str:
    return "null" if value is None else _json_text(value)


def _posting_json(posting: Posting) -> str:
    """A posting's part of :attr:`JournalEntry.content_hash`'s canonical JSON (keys sorted).

    ``str(amount)`` is :func:`format_amount`: a posting's amount is quantized on construction.
    """
    return (
        f'{{"account":{_json_text(posting.account)},"amount":"{posting.amount}",'
        f'"currency":{_json_text(posting.currency)},'
        f'"marketplace":{_optional_json_text(posting.marketplace)},'
        f'"memo":{_optional_json_text(posting.memo)}}}'
    )


def totals_by_currency(postings: Iterable[Posting]) -> dict[str, Decimal]:
    """Sum of posting amounts per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        totals[posting.currency] += posting.amount
    return dict(totals)


def reverse(entry: JournalEntry, *, date: dt.date | None = None, reason: str = "") -> JournalEntry:
    """The mirror of ``entry``: every posting negated, linked by ``reverses``.

    The reversal's id is derived from the original's, so reversing twice yields the same entry
    (and the store treats the second write as a no-op).
    """
    description = f"Reversal of {entry.id}: {entry.description}"
    if reason:
        description += f" ({reason})"
    return JournalEntry(
        id=entry_id("reversal", entry.id),
        date=date or entry.date,
        description=description,
        source_ref=entry.source_ref,
        postings=tuple(p.negated() for p in entry.postings),
        kind=entry.kind,
        reverses=entry.id,
        meta=entry.meta,
    )
