"""The Wave target: hook implementations (see ``core/hookspecs.py`` for each contract).

Registered through the ``ml_connector`` entry-point group as ``wave``. The pieces:
:mod:`.auth` (OAuth2 bearer tokens refreshed before expiry), :mod:`.client` (GraphQL over httpx:
errors inside HTTP 200, ``didSucceed``/``inputErrors``, retries, paging), :mod:`.operations` (every
query and mutation we send), :mod:`.render` (entries -> documents, pure), :mod:`.mapping` (a
mapping suggested from the chart of accounts), :mod:`.contract` (requests checked against the
schema), :mod:`.emulated` (the emulator prepared as a user would, and its census).

Dedup, per document kind, as Wave allows it and no further:

- customers and products: looked up by name before they are created (``business.customers`` /
  ``business.products``, read in full because they have no name filter): ``LOOKUP``;
- invoices: ``invoiceNumber`` (``AMZ-<order id>``) is found again with
  ``business.invoices(invoiceNumber:)`` (a *contains* filter; we match exactly): ``LOOKUP``. A
  second create refused as a duplicate number is answered ``exists``;
- money transactions: ``externalId`` is documented only as "the ID of the transaction in an
  external system", not as a dedup key, and Wave has no query that lists money transactions. A
  transaction whose answer was lost cannot be checked: ``NONE``. :func:`look_up` answers
  ``unknowable`` with what to search for in Wave, and the engine holds the document in doubt
  for the user (``ml-connector replay --confirm`` / ``--resend``) instead of re-sending it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, Clock
from ml_connector.core.errors import (
    AuthError,
    ConfigError,
    RateLimitedError,
    RemoteError,
    TargetError,
    TransportError,
)
from ml_connector.core.hookspecs import hookimpl
from ml_connector.core.oauth import OAuthClient
from ml_connector.core.targets import (
    Dedup,
    Document,
    EmulatedTarget,
    Lookup,
    LookupResult,
    Outcome,
    PushOutcome,
    RateLimits,
    RenderContext,
    Rendered,
    TargetInfo,
    TargetMapping,
)
from ml_connector.ledger.entries import JournalEntry
from ml_connector.plugins.wave import contract, operations
from ml_connector.plugins.wave.auth import TOKEN_URL, WaveAuth
from ml_connector.plugins.wave.client import API_URL, MutationResult, WaveClient, WaveGraphQLError
from ml_connector.plugins.wave.render import (
    CUSTOMER,
    INVOICE,
    KINDS,
    MONEY_TRANSACTION,
    PRODUCT,
    render_entries,
)

NAME = "wave"
# One document per push call. Each Wave mutation is its own request anyway (the batch
# ``moneyTransactionsCreate`` is unconfirmed), and the engine marks a whole batch "sending" before
# the call: with one document, a kill leaves only the one in flight in doubt, not its neighbours.
BATCH_SIZE = 1
_CONNECTION = {CUSTOMER: "customers", PRODUCT: "products"}
_CREATE = {
    CUSTOMER: (operations.CUSTOMER_CREATE, "customerCreate"),
    PRODUCT: (operations.PRODUCT_CREATE, "productCreate"),
    INVOICE: (operations.INVOICE_CREATE, "invoiceCreate"),
    MONEY_TRANSACTION: (operations.MONEY_TRANSACTION_CREATE, "moneyTransactionCreate"),
}


@hookimpl
def target_info() -> TargetInfo:
    return TargetInfo(
        name=NAME,
        title="Wave",
        wire="GraphQL",
        batch_size=BATCH_SIZE,
        dedup={
            CUSTOMER: Dedup.LOOKUP,
            PRODUCT: Dedup.LOOKUP,
            INVOICE: Dedup.LOOKUP,
            MONEY_TRANSACTION: Dedup.NONE,
        },
        rate_limits=RateLimits(),  # Wave publishes none
        documents=KINDS,
        money_decimals=2,
    )


@hookimpl
def connect(credentials: Credentials, http: httpx.Client, clock: Clock) -> WaveClient:
    """A client for the connected business, its access token fetched now.

    Reads ``client_id``, ``client_secret``, ``refresh_token``, optionally ``business_id`` (else
    the business the user authorised, which Wave's token response names), and
    ``api_url``/``token_url`` when pointed at an emulator.
    """
    auth = WaveAuth(credentials, http, clock)
    auth.access_token()  # a revoked connection fails here, before any document is marked sent
    business_id = credentials.get("business_id") or auth.business_id
    if not business_id:
        raise ConfigError(
            "Wave: no business_id is stored and the token response names none; "
            "run 'ml-connector auth wave' and pick the business"
        )
    return WaveClient(
        http, auth, clock, business_id=business_id, api_url=credentials.get("api_url") or API_URL
    )


@hookimpl
def render(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    return render_entries(entries, mapping, context)


# Wave's OAuth guide: https://api.waveapps.com/oauth2/authorize/ (FACTS.md). Scopes are
# resource:operation (Wave's "OAuth Scopes" page); write does not imply read, hence "*".
AUTHORIZE_URL = "https://api.waveapps.com/oauth2/authorize/"
OAUTH_SCOPES = (
    "account:*",
    "business:read",
    "customer:*",
    "invoice:*",
    "product:*",
    "sales_tax:read",
    "transaction:*",
    "user:read",
)


@hookimpl
def oauth_client() -> OAuthClient:
    """Wave's OAuth 2: client id and secret in the token request's form; no PKCE documented."""
    return OAuthClient(
        authorize_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        scopes=OAUTH_SCOPES,
        pkce=False,
        client_auth="body",
    )


# -- push -----------------------------------------------------------------------------------------


class _NotResolved(Exception):
    """A customer or product an invoice names is not in Wave (archived or deleted since)."""


def _resolve(client: WaveClient, kind: str, reference: Mapping[str, Any]) -> str:
    if reference.get("id"):
        return str(reference["id"])
    name = str(reference["name"])
    found = client.names(_CONNECTION[kind]).get(name)
    if found is None:
        found = client.names(_CONNECTION[kind], fresh=True).get(name)
    if found is None:
        raise _NotResolved(f"Wave has no live {kind} named {name!r} (archived or deleted?)")
    return found


def wave_input(client: WaveClient, document: Document) -> dict[str, Any]:
    """The mutation ``input`` for ``document``: its payload with ``businessId`` and Wave ids."""
    payload = dict(document.payload)
    if document.kind != INVOICE:
        return {"businessId": client.business_id, **payload}
    customer = payload.pop("customer")
    items = []
    for item in payload.pop("items"):
        line = dict(item)
        product = line.pop("product")
        items.append({"productId": _resolve(client, PRODUCT, product), **line})
    return {
        "businessId": client.business_id,
        "customerId": _resolve(client, CUSTOMER, customer),
        **payload,
        "items": items,
    }


def _refused(document: Document, result: MutationResult) -> PushOutcome:
    return PushOutcome(document.key, Outcome.FAILED, message=f"Wave refused it: {result.message}")


def push_document(client: WaveClient, document: Document) -> PushOutcome:
    """Send one document; never report success for a mutation Wave did not confirm."""
    key, kind = document.key, document.kind
    if kind not in _CREATE:
        return PushOutcome(key, Outcome.FAILED, message=f"Wave has no document kind {kind!r}")
    # Reads first: a failure here is known not to have written anything.
    try:
        if kind in _CONNECTION:
            existing = client.names(_CONNECTION[kind]).get(str(document.payload["name"]))
            if existing is not None:
                return PushOutcome(key, Outcome.EXISTS, target_id=existing)
        given = wave_input(client, document)
    except _NotResolved as missing:
        return PushOutcome(key, Outcome.FAILED, message=str(missing))
    except AuthError:
        raise
    except (RemoteError, httpx.HTTPError) as exc:
        return PushOutcome(key, Outcome.RETRY, message=f"not sent, a read failed first: {exc}")
    mutation, field = _CREATE[kind]
    try:
        result = client.mutate(mutation, field, given)
    except AuthError:
        raise
    except TransportError as exc:
        return PushOutcome(key, Outcome.UNKNOWN, message=exc.message)
    except RateLimitedError as exc:
        return PushOutcome(key, Outcome.RETRY, message=str(exc))
    except WaveGraphQLError as exc:
        if exc.applied is False:
            return PushOutcome(key, Outcome.FAILED, message=f"Wave refused it: {exc.message}")
        return PushOutcome(key, Outcome.UNKNOWN, message=str(exc))
    except TargetError as exc:
        # Server errors outlasted the retries: whether Wave applied the mutation is not known.
        return PushOutcome(key, Outcome.UNKNOWN, message=str(exc))
    if not result.succeeded:
        if kind == INVOICE and _number_refused(result):
            return _existing_invoice(client, document, result)
        return _refused(document, result)
    target_id = (result.node or {}).get("id")
    if not target_id:
        return PushOutcome(key, Outcome.UNKNOWN, message="Wave reported success but returned no id")
    if kind in _CONNECTION:
        client.remember(_CONNECTION[kind], str(document.payload["name"]), str(target_id))
    return PushOutcome(key, Outcome.CREATED, target_id=str(target_id))


def _number_refused(result: MutationResult) -> bool:
    """Wave refused the invoice over its number (input error on ``invoiceNumber``).

    Wave documents no code for a duplicate number (its input errors carry ``UNKNOWN``), so the
    refusal is recognised by the field it names; the look-up that follows decides.
    """
    return any(".invoiceNumber" in message for message in result.messages)


def _existing_invoice(
    client: WaveClient, document: Document, result: MutationResult
) -> PushOutcome:
    try:
        found = find_invoice(client, str(document.payload["invoiceNumber"]))
    except (RemoteError, httpx.HTTPError) as exc:
        return PushOutcome(
            document.key, Outcome.UNKNOWN, message=f"number taken, look-up failed: {exc}"
        )
    if found is None:
        return _refused(document, result)
    return PushOutcome(document.key, Outcome.EXISTS, target_id=str(found["id"]))


@hookimpl
def push(session: WaveClient, documents: Sequence[Document]) -> Sequence[PushOutcome]:
    ordered = sorted(documents, key=lambda d: KINDS.index(d.kind) if d.kind in KINDS else 99)
    return [push_document(session, document) for document in ordered]


# -- look up --------------------------------------------------------------------------------------


def find_invoice(client: WaveClient, number: str) -> Mapping[str, Any] | None:
    """The invoice numbered exactly ``number`` (Wave's filter matches numbers *containing* it)."""
    for node in client.pages(operations.INVOICES_BY_NUMBER, "invoices", {"invoiceNumber": number}):
        if node.get("invoiceNumber") == number:
            return node
    return None


def in_doubt_hint(document: Document) -> str:
    """What to look for in Wave for a money transaction whose answer was lost."""
    payload = document.payload
    anchor = payload.get("anchor") or {}
    amount = anchor.get("amount", Decimal(0))
    currency = next(iter(document.totals), "")
    return (
        "Wave has no query that lists money transactions, so this cannot be checked "
        "automatically. In Wave, open Accounting > Transactions and look for a "
        f"{str(anchor.get('direction', '')).lower()} of {amount} {currency} dated "
        f"{payload.get('date')} described {payload.get('description')!r} "
        f"(external id {payload.get('externalId')}, notes '{payload.get('notes')}')."
    )


@hookimpl
def look_up(session: WaveClient, document: Document) -> LookupResult:
    if document.kind == MONEY_TRANSACTION:
        return LookupResult(Lookup.UNKNOWABLE, message=in_doubt_hint(document))
    if document.kind == INVOICE:
        found = find_invoice(session, str(document.payload["invoiceNumber"]))
        if found is None:
            return LookupResult(Lookup.ABSENT)
        return LookupResult(Lookup.FOUND, target_id=str(found["id"]))
    if document.kind in _CONNECTION:
        name = str(document.payload["name"])
        target_id = session.names(_CONNECTION[document.kind], fresh=True).get(name)
        if target_id is None:
            return LookupResult(Lookup.ABSENT)
        return LookupResult(Lookup.FOUND, target_id=target_id)
    return LookupResult(Lookup.UNKNOWABLE, message=f"Wave has no document kind {document.kind!r}")


# -- undo -----------------------------------------------------------------------------------------


def undo_document(client: WaveClient, document: Document, target_id: str) -> PushOutcome:
    """Delete an invoice (``invoiceDelete``); say plainly what Wave's API cannot undo.

    Money transactions: the public schema has no mutation that deletes, voids or reverses one,
    so the answer is ``failed`` with what to delete by hand. Customers and products are shared
    by other invoices and stay; a re-push finds them by name.
    """
    key = document.key
    if document.kind in _CONNECTION:
        return PushOutcome(
            key,
            Outcome.EXISTS,
            target_id=target_id,
            message=f"{document.kind}s are shared by other invoices; left in Wave",
        )
    if document.kind == MONEY_TRANSACTION:
        return PushOutcome(
            key,
            Outcome.FAILED,
            target_id=target_id,
            message="unsupported: Wave's public API has no mutation that deletes or reverses a "
            f"money transaction. Delete it by hand in Wave (Accounting > Transactions): "
            f"{in_doubt_hint(document).split('look for ', 1)[-1]}",
        )
    if document.kind != INVOICE:
        return PushOutcome(
            key, Outcome.FAILED, message=f"Wave has no document kind {document.kind!r}"
        )
    try:
        data = client.execute(
            operations.INVOICE, {"businessId": client.business_id, "invoiceId": target_id}
        )
    except WaveGraphQLError as exc:
        if "NOT_FOUND" in exc.codes:
            return PushOutcome(key, Outcome.EXISTS, target_id=target_id)
        raise
    if not (data.get("business") or {}).get("invoice"):
        return PushOutcome(key, Outcome.EXISTS, target_id=target_id)
    try:
        result = client.mutate(operations.INVOICE_DELETE, "invoiceDelete", {"invoiceId": target_id})
    except WaveGraphQLError as exc:
        if "NOT_FOUND" in exc.codes:
            return PushOutcome(key, Outcome.EXISTS, target_id=target_id)
        return PushOutcome(key, Outcome.FAILED, target_id=target_id, message=exc.message)
    if not result.succeeded:
        return PushOutcome(
            key, Outcome.FAILED, target_id=target_id, message=f"Wave refused: {result.message}"
        )
    return PushOutcome(key, Outcome.CREATED, target_id=target_id)


@hookimpl
def undo(session: WaveClient, document: Document, target_id: str) -> PushOutcome:
    return undo_document(session, document, target_id)


# -- contract and emulator ------------------------------------------------------------------------


@hookimpl
def validate_request(method: str, url: str, headers: dict[str, str], body: Any) -> list[str]:
    return contract.validate_request(method, url, headers, body)


# Named apart from the hook: importing the ``emulator`` subpackage sets ``wave.emulator`` to the
# module, which would hide a function of that name from pluggy.
@hookimpl(specname="emulator")
def emulated_target(
    seed: int, clock: Clock, chaos: Chaos, external_id_dedup: bool = False
) -> EmulatedTarget:
    """A fresh emulated business, prepared as the docs ask, with a mapping suggested from it."""
    from ml_connector.plugins.wave.emulated import census, prepare_business
    from ml_connector.plugins.wave.emulator import GRAPHQL_PATH, TOKEN_PATH, WaveEmulator
    from ml_connector.plugins.wave.emulator.app import AUTHORIZE_PATH
    from ml_connector.plugins.wave.mapping import suggest_mapping

    emulated = WaveEmulator(
        seed=seed, clock=clock, chaos=Chaos.off(), external_id_dedup=external_id_dedup
    )
    prepare_business(emulated)
    values = {
        "client_id": emulated.oauth.client_id,
        "client_secret": emulated.oauth.client_secret,
        "refresh_token": emulated.issue_tokens().refresh_token,
    }
    credentials = Credentials(values, on_save=values.__setitem__)
    with httpx.Client(transport=httpx.MockTransport(emulated.handle)) as http:
        mapping = suggest_mapping(connect(credentials=credentials, http=http, clock=clock))
    # The mapping is read without faults; the run that follows meets the chaos asked for.
    emulated.chaos = chaos

    def count_documents(documents: Sequence[Document]) -> dict[str, int]:
        return census(emulated, documents)

    return EmulatedTarget(
        handle=emulated.handle,
        credentials=values,
        mapping=mapping,
        count_documents=count_documents,
        info={
            "url": GRAPHQL_PATH,
            "token_url": TOKEN_PATH,
            "authorize_url": AUTHORIZE_PATH,
            "api_url": GRAPHQL_PATH,
            "business_id": emulated.business_id,
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
            "refresh_token": values["refresh_token"],
        },
        state=emulated,
    )


__all__ = [
    "NAME",
    "connect",
    "emulated_target",
    "look_up",
    "push",
    "render",
    "target_info",
    "undo",
    "validate_request",
]
