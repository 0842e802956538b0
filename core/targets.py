"""What the engine and a target plugin exchange: plain, immutable data.

A target plugin turns journal entries into :class:`Document` records (pure rendering), pushes
them and reports one :class:`PushOutcome` per document. The engine stores documents in the
outbox before any call is made, so every field here is plain data that survives a restart.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any


class Dedup(enum.StrEnum):
    """How a target can tell that a write already happened (per document kind)."""

    IDEMPOTENCY_KEY = "idempotency_key"  # the service replays the first response for a repeated key
    IDEMPOTENCY_KEY_SHORT = "idempotency_key_short"  # the same, but remembered only minutes
    NATURAL_KEY = "natural_key"  # a unique field (invoice number) refuses a second copy
    LOOKUP = "lookup"  # no dedup on write, but the object can be found afterwards
    NONE = "none"  # no dedup and no way to look the object up: a lost response leaves doubt


@dataclass(frozen=True)
class RateLimits:
    """The target's published limits; ``None`` where the vendor publishes none."""

    per_second: int | None = None
    per_minute: int | None = None
    per_day: int | None = None
    concurrent: int | None = None


@dataclass(frozen=True)
class TargetInfo:
    """A target's description: what ``ml-connector targets`` prints and the engine plans with."""

    name: str
    title: str
    wire: str  # "REST JSON", "GraphQL", "XML over HTTP POST"
    batch_size: int  # the most documents one push call may carry
    dedup: Mapping[str, Dedup]  # document kind -> how a repeat is detected
    rate_limits: RateLimits = RateLimits()
    documents: tuple[str, ...] = ()  # document kinds the target renders
    modes: tuple[str, ...] = ("summary", "per-order")
    idempotency_key_max: int = 128
    money_decimals: int = 2  # most decimals the target keeps on an amount

    def __post_init__(self) -> None:
        object.__setattr__(self, "dedup", MappingProxyType(dict(self.dedup)))


@dataclass(frozen=True)
class Document:
    """One object to create in the target, rendered from one or more journal entries.

    ``key`` is deterministic (flow, target, entry, kind), so re-rendering yields the same key and
    the outbox ignores it. ``payload`` is the target's own object as plain JSON-able data (money as
    ``Decimal``). ``totals`` is the debit side, per currency, of the ledger postings the document
    carries: the conformance suite checks that a set of entries' documents together carry
    exactly the entries' debits, so rendering neither creates nor loses a minor unit. ``depends_on`` names documents that
    must be confirmed first (a payment after its invoice); ``natural_key`` is the field a
    look-up-before-create searches by.
    """

    key: str
    kind: str
    source_ref: str
    entry_ids: tuple[str, ...]
    idempotency_key: str
    payload: Mapping[str, Any]
    totals: Mapping[str, Decimal] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    natural_key: str | None = None
    description: str = ""


@dataclass(frozen=True)
class RenderProblem:
    """Why an entry could not be rendered: an unmapped reference, never a guess.

    ``reference`` is what is missing (``account``, ``item``, ``contact``, ``tax``, ``tracking``)
    and ``value`` the canonical name that has no mapping (``Expenses:Amazon:StorageFees``).
    """

    entry_id: str
    reference: str
    value: str
    message: str


@dataclass(frozen=True)
class Rendered:
    documents: tuple[Document, ...] = ()
    problems: tuple[RenderProblem, ...] = ()


class Outcome(enum.StrEnum):
    """How one document's push ended, as the plugin saw it."""

    CREATED = "created"  # the target made the object now
    EXISTS = "exists"  # the target already had it (its dedup or a look-up found it)
    FAILED = "failed"  # the target refused it; the text says why; replay after a fix
    RETRY = "retry"  # a transient failure known NOT to have been applied: send again later
    UNKNOWN = "unknown"  # the request may have been applied (response lost): the engine looks it up


@dataclass(frozen=True)
class PushOutcome:
    key: str
    outcome: Outcome
    target_id: str | None = None
    message: str = ""
    warnings: tuple[str, ...] = ()


class Lookup(enum.StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNKNOWABLE = "unknowable"


@dataclass(frozen=True)
class LookupResult:
    status: Lookup
    target_id: str | None = None
    message: str = ""


@dataclass(frozen=True)
class TargetMapping:
    """A flow's mapping from canonical names to the target's own references.

    ``accounts``: canonical account path -> target account code or id. ``items``: SKU -> item
    code. ``contacts``: marketplace code -> customer/contact. ``taxes``: posting category ->
    tax type. ``tracking``: marketplace code -> tracking option. ``options`` holds target-specific
    settings (e.g. ``track_marketplace``).
    """

    accounts: Mapping[str, str] = field(default_factory=dict)
    items: Mapping[str, str] = field(default_factory=dict)
    contacts: Mapping[str, str] = field(default_factory=dict)
    taxes: Mapping[str, str] = field(default_factory=dict)
    tracking: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderContext:
    """Facts about the run that rendering may depend on (all deterministic).

    ``flow`` and ``target`` go into document keys so two flows never share one; ``mode`` is the
    flow's posting mode; ``home_currency`` the target organisation's base currency.
    """

    flow: str
    target: str
    mode: str = "summary"
    home_currency: str = "USD"


@dataclass
class EmulatedTarget:
    """A running emulator of a target plus what it takes to use it.

    ``handle`` serves requests (wrap in ``httpx.MockTransport`` or serve on a port);
    ``credentials`` are the connected account's values for :func:`hookspecs.connect`;
    ``mapping`` fits the emulator's seeded chart of accounts; ``count_documents`` counts, from
    the emulator's own state, how many objects each of our document keys produced (the demo's
    duplicate and missing figures come from it, never from our outbox); ``info`` is the JSON
    printed first by ``ml-connector emulate NAME``: credentials and endpoints, where every value
    that starts with ``/`` is a path the command prefixes with the served base URL (so
    ``{"url": "/api.xro/2.0"}`` prints as ``{"url": "http://127.0.0.1:PORT/api.xro/2.0"}``).
    """

    handle: Any
    credentials: dict[str, str]
    mapping: TargetMapping
    count_documents: Any
    info: dict[str, Any] = field(default_factory=dict)
    state: Any = None
