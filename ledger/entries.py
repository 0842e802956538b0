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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_text
from types import MappingProxyType
from typing import Any

from ml_connector.ledger.accounts import validate_account_path
from ml_connector.ledger.errors import InputError, UnbalancedEntryError
from ml_connector.ledger.money import exact_or_none, format_amount, minor_units, require_exact

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


def entry_ids(*leading: str) -> Callable[[str], str]:
    """``entry_id(*leading, last)`` as a function of ``last``, for ids made by the thousand
    (a settlement's orders): the leading parts are checked and hashed once."""
    entry_id(*leading)  # the same checks of the leading parts
    start = hashlib.sha256(("\x1f".join(leading) + "\x1f").encode())

    def make(last: str) -> str:
        if not isinstance(last, str) or not last:
            raise InputError(
                "entry id parts must be non-empty strings", field="id", value=(*leading, last)
            )
        digest = start.copy()
        digest.update(last.encode())
        return ID_PREFIX + digest.hexdigest()[:32]

    return make


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
        # The common case (known currency, exact amount) builds no error text.
        exact = exact_or_none(self.amount, self.currency)
        if exact is None:
            minor_units(self.currency)
            exact = require_exact(self.amount, self.currency, field=f"amount on {self.account}")
        object.__setattr__(self, "amount", exact)

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


# Frozen records filled field by field, once their checks are done (see exact_posting).
_new = object.__new__
_set = object.__setattr__


def exact_posting(
    account: str, amount: Decimal, currency: str, marketplace: str | None, memo: str | None
) -> Posting:
    """``Posting(account, amount, currency, marketplace, memo)`` for the booking's hot path.

    The same checks as the constructor (a valid account, a known currency, an amount on its
    minor unit, stored quantized), inlined: bookings make a posting per order and account.
    """
    if account not in _VALID_ACCOUNTS:
        _VALID_ACCOUNTS.add(validate_account_path(account))
    exact = exact_or_none(amount, currency)
    if exact is None:
        return Posting(account, amount, currency, marketplace, memo)  # raises the clear error
    posting = _new(Posting)
    _set(posting, "account", account)
    _set(posting, "amount", exact)
    _set(posting, "currency", currency)
    _set(posting, "marketplace", marketplace)
    _set(posting, "memo", memo)
    return posting


def frozen_meta(meta: Mapping[str, str]) -> Mapping[str, str]:
    """Entry metadata as :class:`JournalEntry` keeps it: checked, sorted by key, read-only.

    Callers that make many entries from one base (:func:`balanced_entry`) freeze it once.
    """
    return _frozen_meta(meta)


def canonical_meta(meta: Mapping[str, str]) -> str:
    """The metadata's canonical JSON text: ``json.dumps(dict(meta), sort_keys=True,
    separators=(",", ":"))`` byte for byte, for string keys and values (an entry's)."""
    return "{" + ",".join(f"{_json_text(k)}:{_json_text(v)}" for k, v in sorted(meta.items())) + "}"


def balanced_entry(
    *,
    id: str,  # noqa: A002 - the field's name
    date: dt.date,
    description: str,
    source_ref: str,
    postings: tuple[Posting, ...],
    kind: str,
    meta: Mapping[str, str],
) -> JournalEntry:
    """A :class:`JournalEntry` made where many are made at once (a settlement's orders).

    ``postings`` must be a tuple of :class:`Posting` records and ``meta`` the result of
    :func:`frozen_meta` (both are then stored as they are, not copied); the id, date, source
    and the balance are checked here as the constructor checks them.
    """
    if type(date) is not dt.date or not isinstance(id, str) or not id.startswith(ID_PREFIX):
        return JournalEntry(id, date, description, source_ref, postings, kind, None, meta)
    if not source_ref or len(postings) < 2 or type(meta) is not MappingProxyType:
        return JournalEntry(id, date, description, source_ref, postings, kind, None, meta)
    currency = postings[0].currency
    total = Decimal(0)
    for posting in postings:
        if type(posting) is not Posting or posting.currency != currency:
            # Several currencies (or not postings): the constructor checks them one by one.
            return JournalEntry(id, date, description, source_ref, postings, kind, None, meta)
        total += posting.amount
    if total:
        # The constructor words the error.
        return JournalEntry(id, date, description, source_ref, postings, kind, None, meta)
    entry = _new(JournalEntry)
    _set(entry, "id", id)
    _set(entry, "date", date)
    _set(entry, "description", description)
    _set(entry, "source_ref", source_ref)
    _set(entry, "postings", postings)
    _set(entry, "kind", kind)
    _set(entry, "reverses", None)
    _set(entry, "meta", meta)
    return entry


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
        return hash_and_meta(self)[0]


def hash_and_meta(entry: JournalEntry) -> tuple[str, str]:
    """``(entry.content_hash, canonical_meta(entry.meta))``, the metadata's text made once:
    the store writes it beside the hash."""
    digest = hashlib.sha256()
    meta = canonical_meta(entry.meta)
    digest.update(
        f'{{"date":"{entry.date.isoformat()}","description":{_json_text(entry.description)},'
        f'"id":{_json_text(entry.id)},"kind":{_json_text(entry.kind)},"meta":{meta},'
        '"postings":['.encode()
    )
    postings = entry.postings
    for start in range(0, len(postings), _HASH_BATCH):
        text = ",".join(map(_posting_json, postings[start : start + _HASH_BATCH]))
        digest.update(("," + text if start else text).encode())
    reverses = "null" if entry.reverses is None else _json_text(entry.reverses)
    digest.update(f'],"reverses":{reverses},"source_ref":{_json_text(entry.source_ref)}}}'.encode())
    return digest.hexdigest(), meta


def _optional_json_text(value: str | None) -> str:
    return "null" if value is None else _json_text(value)


def _posting_json(posting: Posting) -> str:
    """A posting's part of :attr:`JournalEntry.content_hash`'s canonical JSON (keys sorted).

    ``str(amount)`` is :func:`format_amount`: a posting's amount is quantized on construction.
    The text around the amount is made once per (account, currency, marketplace, memo): a
    settlement's postings repeat a few dozen of them.
    """
    key = (posting.account, posting.currency, posting.marketplace, posting.memo)
    around = _POSTING_JSON_AROUND.get(key)
    if around is None:
        if len(_POSTING_JSON_AROUND) >= _POSTING_JSON_KEPT:
            _POSTING_JSON_AROUND.clear()  # memos that name orders: keep the memory bounded
        around = _POSTING_JSON_AROUND[key] = (
            f'{{"account":{_json_text(posting.account)},"amount":"',
            f'","currency":{_json_text(posting.currency)},'
            f'"marketplace":{_optional_json_text(posting.marketplace)},'
            f'"memo":{_optional_json_text(posting.memo)}}}',
        )
    return f"{around[0]}{posting.amount}{around[1]}"


# (account, currency, marketplace, memo) -> the posting JSON's text before and after its amount.
_POSTING_JSON_AROUND: dict[tuple[str, str, str | None, str | None], tuple[str, str]] = {}
_POSTING_JSON_KEPT = 4096


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
