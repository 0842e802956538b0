"""The contract between the engine and an accounting target: every hook a target implements.

A target plugin is an object (usually a module) whose functions are marked with
:data:`hookimpl` and named after the specifications below. It registers through the
``ml_connector`` entry-point group under its target name; the built-in targets register the same
way. The engine calls each hook on one target at a time (pluggy's subset caller), so an
implementation never has to ask "is this call for me?".

Every specification's docstring is the contract. ``docs/plugins.md`` walks through each hook with
an example, and a test fails if a hook here is missing from that page.
"""

# A specification is a signature and a docstring: pluggy never calls its body, so the bodies
# are empty on purpose and mypy's "missing return" is off for this module alone.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import httpx

    from ml_connector.core.credentials import Credentials
    from ml_connector.core.emulation import Chaos, Clock
    from ml_connector.core.oauth import OAuthClient
    from ml_connector.core.prices import ItemPrice
    from ml_connector.core.targets import (
        Document,
        EmulatedTarget,
        LookupResult,
        PushOutcome,
        RenderContext,
        Rendered,
        TargetInfo,
        TargetMapping,
    )
    from ml_connector.ledger.entries import JournalEntry

PROJECT = "ml_connector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def target_info() -> TargetInfo:
    """Describe the target: name, wire format, batch size, dedup per document kind, rate limits.

    Called at start-up and by ``ml-connector targets``. Must be cheap and must not touch the
    network. ``batch_size`` is the most documents one :func:`push` call may receive; the engine
    never sends more.
    """


@hookspec(firstresult=True)
def connect(credentials: Credentials, http: httpx.Client, clock: Clock) -> Any:
    """Return an authenticated session object for the target, reused for a whole run.

    ``credentials`` holds what the user connected (client id, refresh token, tenant...). Token
    refresh is the plugin's job; persisting a refreshed token is the engine's: call
    ``credentials.save(name, value)`` *before* using a rotated refresh token, so a crash between
    refresh and use never loses the only valid one. ``http`` is the client to send every request
    through (the engine puts retries' logging, recording and the emulator transport on it).
    Refresh before expiry, not after a 401. Never log or raise a secret.
    """


@hookspec(firstresult=True)
def render(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    """Turn journal entries into the target's documents. Pure: no I/O, no clock, no randomness.

    The same entries, mapping and context give the same documents byte for byte (keys,
    idempotency keys, payloads), which is what makes re-runs harmless and ``--dry-run`` honest.
    Each document's ``totals`` states, per currency, the debit side of the postings it carries;
    the documents rendered from a set of entries together carry exactly the entries' debits (an
    entry split over several documents, say payments plus a journal, is split, never doubled).
    Where the target keeps fewer decimals, round with :func:`ml_connector.ledger.money.allocate`
    so no minor unit is created or lost. A canonical account, item, contact or tax with no mapping stops *that* document:
    return a :class:`~ml_connector.core.targets.RenderProblem` for it instead of guessing.
    """


@hookspec(firstresult=True)
def push(session: Any, documents: Sequence[Document]) -> Sequence[PushOutcome]:
    """Send one batch (at most ``batch_size`` documents) and report one outcome per document.

    Send each document with its ``idempotency_key`` where the target honours one. Report
    ``created``/``exists`` with the target's id, ``failed`` with the target's own error text
    when the target refused the document (it waits for ``replay``), ``retry`` for a transient
    failure known not to have been applied, and ``unknown`` when the request may have been
    applied but no answer came back: never guess, the engine then calls :func:`look_up` and,
    where the target offers no way to check, holds the document in doubt for the user.
    Honour the target's rate limits and ``Retry-After`` with jittered backoff; raise only for
    errors that concern the whole session (auth revoked).
    """


@hookspec(firstresult=True)
def look_up(session: Any, document: Document) -> LookupResult:
    """Find out whether ``document`` already exists in the target (after a crash or lost response).

    Called before re-sending a document whose last attempt has no confirmed result. Search by
    the document's natural key or by the reference the renderer embedded; answer ``found`` with
    the target id, ``absent``, or ``unknowable`` when the target offers no query for this kind
    (the engine then holds the document in doubt and alerts the user instead of re-sending).
    """


@hookspec(firstresult=True)
def undo(session: Any, document: Document, target_id: str) -> PushOutcome:
    """Undo a posted document the way the target expects: void, delete or credit note.

    Used by ``ml-connector rollback``. Must be safe to call twice (an already voided object
    answers ``exists``). Report ``failed`` with the target's text when the target refuses.
    """


@hookspec(firstresult=True)
def emulator(seed: int, clock: Clock, chaos: Chaos) -> EmulatedTarget:
    """Return a fresh, stateful emulator of the target with the credentials and mapping to use it.

    The emulator speaks the real wire format and enforces the real service's rules (auth expiry,
    rate limits, pagination, dedup where the service has it and none where it has not). Used by
    the demo, the tests, the conformance suite and ``ml-connector emulate NAME``.
    """


@hookspec(firstresult=True)
def validate_request(method: str, url: str, headers: dict[str, str], body: Any) -> list[str]:
    """Check one request against the vendor's contract; return the violations (empty when valid).

    ``body`` is the parsed JSON body, the GraphQL ``{"query", "variables"}``, or XML as text.
    Used to validate what ``--dry-run`` and ``--record`` wrote against the vendor's schema.
    """


@hookspec(firstresult=True)
def item_prices(session: Any, since: dt.datetime | None) -> Sequence[ItemPrice]:
    """The sales prices of the target's items created or changed after ``since`` (all when None).

    Optional: a target without it has no prices, and ``ml-connector prices push`` says so. One
    :class:`~ml_connector.core.prices.ItemPrice` per item that has a sales price: its code (what
    the flow's ``items`` mapping maps SKUs to), the amount as ``Decimal`` exactly as the target
    keeps it (never rounded here: a price Amazon cannot take is reported, not altered), its
    currency, and when the target last changed it. Read with the target's own delta filter where
    it has one; returning an item that did not change is harmless (the engine sends only prices
    that differ from the last one sent), missing one that did is not.
    """


@hookspec(firstresult=True)
def oauth_client() -> OAuthClient:
    """Optional: the target's OAuth 2 authorization-code endpoints, for ``ml-connector auth``.

    Return an :class:`~ml_connector.core.oauth.OAuthClient` (authorize URL, token URL, scopes,
    whether the target accepts PKCE, how the client secret is sent). The engine runs the flow
    with a loopback redirect, checks ``state``, exchanges the code once and stores the refresh
    token in the flow's vault scope; ``connect`` later reads it like any other credential.
    Pure: no network, no secrets. Targets connected by API key or password leave it out.
    """
