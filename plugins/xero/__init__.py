"""The Xero target: hook implementations (see ``core/hookspecs.py`` for each contract).

Registered through the ``ml_connector`` entry-point group as ``xero``. The pieces:
:mod:`.auth` (OAuth2 with rotating refresh tokens), :mod:`.client` (HTTP, retries, paging,
batch writes), :mod:`.render` (entries -> documents, pure), :mod:`.mapping` (a mapping suggested
from the organisation's chart), :mod:`.contract` (requests checked against Xero's OpenAPI file).
This module turns Xero's per-object answers into the engine's outcomes.

Dedup, per document kind: an ``ACCREC`` invoice number is unique in Xero, so a second copy is
refused ("Invoice # must be unique.") and answered ``exists``. Manual journals, payments, bank
transfers and bank transactions have no unique field: the renderer embeds our document key in
``Narration``/``Reference`` and :func:`look_up` searches by it. The ``Idempotency-Key`` header
is sent on every write too, but Xero remembers it only minutes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, Clock
from ml_connector.core.errors import RateLimitedError, TargetError, TransportError
from ml_connector.core.hookspecs import hookimpl
from ml_connector.core.oauth import OAuthClient
from ml_connector.core.prices import ItemPrice
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
from ml_connector.plugins.xero import contract
from ml_connector.plugins.xero.auth import (
    AUTHORIZE_URL,
    CONNECTIONS_URL,
    DEFAULT_SCOPES,
    TOKEN_URL,
    XeroAuth,
)
from ml_connector.plugins.xero.client import (
    API_URL,
    MAX_OBJECTS_PER_CALL,
    WriteReply,
    XeroClient,
    validation_messages,
)
from ml_connector.plugins.xero.mapping import suggest_mapping
from ml_connector.plugins.xero.prices import item_prices as read_item_prices
from ml_connector.plugins.xero.render import (
    BANK_TRANSACTION,
    BANK_TRANSFER,
    COLLECTION,
    ID_FIELD,
    INVOICE,
    KINDS,
    MANUAL_JOURNAL,
    PAYMENT,
    REFERENCE_FIELD,
    embedded_key,
    idempotency_key,
    render_entries,
)

NAME = "xero"
DUPLICATE_INVOICE = "must be unique"
GONE = frozenset({"VOIDED", "DELETED"})
# Endpoints whose PUT takes summarizeErrors=false and answers per object; PUT /BankTransfers
# does not declare the parameter, so a bad transfer refuses its whole batch (HTTP 400).
PER_OBJECT_ANSWERS = frozenset({INVOICE, MANUAL_JOURNAL, PAYMENT, BANK_TRANSACTION})


@hookimpl
def target_info() -> TargetInfo:
    return TargetInfo(
        name=NAME,
        title="Xero",
        wire="REST JSON",
        batch_size=MAX_OBJECTS_PER_CALL,
        dedup={
            INVOICE: Dedup.NATURAL_KEY,
            MANUAL_JOURNAL: Dedup.LOOKUP,
            PAYMENT: Dedup.LOOKUP,
            BANK_TRANSFER: Dedup.LOOKUP,
            BANK_TRANSACTION: Dedup.LOOKUP,
        },
        rate_limits=RateLimits(per_minute=60, per_day=5000, concurrent=5),
        documents=KINDS,
        idempotency_key_max=contract.IDEMPOTENCY_KEY_MAX,
        money_decimals=2,
    )


@hookimpl
def connect(credentials: Credentials, http: httpx.Client, clock: Clock) -> XeroClient:
    """A client for the connected organisation, its access token fetched (and rotated) now.

    Reads ``client_id``, ``client_secret``, ``refresh_token`` and optionally ``tenant_id`` (else
    the first connection), and ``api_url``/``token_url``/``connections_url`` when pointed at an
    emulator.
    """
    auth = XeroAuth(credentials, http, clock)
    client = XeroClient(
        http,
        auth,
        clock,
        api_url=credentials.get("api_url") or API_URL,
        tenant_id=credentials.get("tenant_id") or None,
        connections_url=credentials.get("connections_url") or CONNECTIONS_URL,
    )
    auth.access_token()  # a revoked connection fails here, before any document is marked sent
    return client


@hookimpl
def render(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    return render_entries(entries, mapping, context)


@hookimpl
def oauth_client() -> OAuthClient:
    """Xero's identity service: PKCE (S256) on top of the client secret, sent by HTTP Basic.

    ``offline_access`` is among the scopes: without it Xero issues no refresh token.
    """
    return OAuthClient(
        authorize_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        scopes=DEFAULT_SCOPES,
        pkce=True,
        client_auth="basic",
    )


# -- push ---------------------------------------------------------------------------------------


def batch_key(documents: Sequence[Document]) -> str:
    """The ``Idempotency-Key`` of one write: the document's own, or a digest of the batch's."""
    if len(documents) == 1:
        return documents[0].idempotency_key
    digest = hashlib.sha256("\n".join(d.idempotency_key for d in documents).encode())
    return f"{NAME}:batch:{digest.hexdigest()}"


def _reference(kind: str, obj: Mapping[str, Any]) -> str | None:
    value = obj.get(REFERENCE_FIELD[kind])
    if not isinstance(value, str):
        return None
    return embedded_key(value) if kind == MANUAL_JOURNAL else value


def _document_reference(document: Document) -> str:
    value = str(document.payload[REFERENCE_FIELD[document.kind]])
    return (embedded_key(value) or value) if document.kind == MANUAL_JOURNAL else value


def _match(
    documents: Sequence[Document], kind: str, objects: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any] | None]:
    """Each document's object in Xero's answer: by our reference, else by position."""
    by_reference: dict[str, Mapping[str, Any]] = {}
    for answered in objects:
        reference = _reference(kind, answered)
        if reference is not None:
            by_reference.setdefault(reference, answered)
    matched: list[Mapping[str, Any] | None] = []
    for position, document in enumerate(documents):
        obj = by_reference.get(_document_reference(document))
        if obj is None and len(objects) == len(documents):
            candidate = objects[position]
            if _reference(kind, candidate) in (None, ""):
                obj = candidate
        matched.append(obj)
    return matched


def _errors(obj: Mapping[str, Any]) -> list[str]:
    messages = validation_messages(obj)
    if (obj.get("HasErrors") or obj.get("StatusAttributeString") == "ERROR") and not messages:
        messages = ["Xero marked the object as in error without a message"]
    return messages


def _journal_damage(sent: Mapping[str, Any], obj: Mapping[str, Any]) -> str | None:
    """Why a journal Xero accepted is not the journal we sent (a dropped line unbalances it)."""
    warnings = validation_messages(obj, "Warnings")
    lines = obj.get("JournalLines")
    if isinstance(lines, list) and len(lines) != len(sent.get("JournalLines") or []):
        warnings.append(
            f"Xero kept {len(lines)} of the {len(sent.get('JournalLines') or [])} journal lines"
        )
    if obj.get("Status") not in (None, "POSTED"):
        warnings.append(f"the journal is {obj.get('Status')}, not POSTED")
    return "; ".join(warnings) or None


def _object_outcome(client: XeroClient, document: Document, obj: Mapping[str, Any]) -> PushOutcome:
    kind = document.kind
    errors = _errors(obj)
    if errors:
        if kind == INVOICE and any(DUPLICATE_INVOICE in e.lower() for e in errors):
            return _existing_invoice(client, document)
        return PushOutcome(document.key, Outcome.FAILED, message="; ".join(errors))
    target_id = obj.get(ID_FIELD[kind])
    if not target_id:
        return PushOutcome(
            document.key, Outcome.UNKNOWN, message="Xero's answer carries no id for this object"
        )
    if kind == MANUAL_JOURNAL and (damage := _journal_damage(document.payload, obj)):
        voided = _void_journal(client, document, str(target_id))
        return PushOutcome(
            document.key,
            Outcome.FAILED,
            message=f"Xero altered the journal ({damage}); it would not balance as booked, so "
            f"it was {'voided' if voided else 'left for you to void'} (ManualJournalID "
            f"{target_id}). Fix the account mapping, then replay",
        )
    return PushOutcome(
        document.key,
        Outcome.CREATED,
        target_id=str(target_id),
        warnings=tuple(validation_messages(obj, "Warnings")),
    )


def _existing_invoice(client: XeroClient, document: Document) -> PushOutcome:
    found = _find_invoice(client, document, include_gone=True)
    if found is None:
        return PushOutcome(
            document.key,
            Outcome.UNKNOWN,
            message="Xero says the invoice number is taken but no invoice with it was found",
        )
    if found.get("Status") in GONE:
        return PushOutcome(
            document.key,
            Outcome.FAILED,
            target_id=str(found.get("InvoiceID")),
            message=f"invoice {document.payload['InvoiceNumber']} exists in Xero but is "
            f"{found.get('Status')}; Xero will not reuse its number",
        )
    return PushOutcome(document.key, Outcome.EXISTS, target_id=str(found.get("InvoiceID")))


def _rejected_outcomes(documents: Sequence[Document], reply: WriteReply) -> list[PushOutcome]:
    """Xero refused the whole request: the objects in error failed, the others were not applied."""
    if reply.status != 400:
        return [
            PushOutcome(d.key, Outcome.FAILED, message=f"HTTP {reply.status}: {reply.message}")
            for d in documents
        ]
    outcomes = []
    for document, obj in zip(
        documents, _match(documents, documents[0].kind, reply.objects), strict=True
    ):
        errors = _errors(obj) if obj is not None else []
        if errors or len(documents) == 1:
            outcomes.append(
                PushOutcome(
                    document.key, Outcome.FAILED, message="; ".join(errors) or reply.message
                )
            )
        else:
            outcomes.append(
                PushOutcome(
                    document.key,
                    Outcome.RETRY,
                    message="not applied: Xero refused the batch over another document",
                )
            )
    return outcomes


def push_batch(client: XeroClient, documents: Sequence[Document]) -> list[PushOutcome]:
    """One write per kind and size-bounded chunk; one outcome per document."""
    outcomes: list[PushOutcome] = []
    for kind in KINDS:
        of_kind = [d for d in documents if d.kind == kind]
        payloads = [d.payload for d in of_kind]
        for start, end in client.chunks(payloads):
            chunk = of_kind[start:end]
            outcomes.extend(_push_chunk(client, kind, chunk))
    unknown_kinds = {d.kind for d in documents} - set(KINDS)
    outcomes.extend(
        PushOutcome(d.key, Outcome.FAILED, message=f"Xero has no document kind {d.kind!r}")
        for d in documents
        if d.kind in unknown_kinds
    )
    return outcomes


def _push_chunk(client: XeroClient, kind: str, chunk: Sequence[Document]) -> list[PushOutcome]:
    try:
        reply = client.write(
            "PUT",
            COLLECTION[kind],
            [d.payload for d in chunk],
            idempotency_key=batch_key(chunk),
            summarize_errors=False if kind in PER_OBJECT_ANSWERS else None,
        )
    except TransportError as exc:
        return [PushOutcome(d.key, Outcome.UNKNOWN, message=exc.message) for d in chunk]
    except RateLimitedError as exc:
        return [PushOutcome(d.key, Outcome.RETRY, message=str(exc)) for d in chunk]
    except TargetError as exc:
        # Server errors outlasted the retries; whether Xero applied the write is not known.
        return [PushOutcome(d.key, Outcome.UNKNOWN, message=str(exc)) for d in chunk]
    if reply.rejected:
        return _rejected_outcomes(chunk, reply)
    outcomes = []
    for document, obj in zip(chunk, _match(chunk, kind, reply.objects), strict=True):
        if obj is None:
            outcomes.append(
                PushOutcome(
                    document.key,
                    Outcome.UNKNOWN,
                    message="Xero's answer does not mention this document",
                )
            )
        else:
            outcomes.append(_object_outcome(client, document, obj))
    return outcomes


@hookimpl
def push(session: XeroClient, documents: Sequence[Document]) -> Sequence[PushOutcome]:
    return push_batch(session, documents)


# -- look up ------------------------------------------------------------------------------------


def _find_invoice(
    client: XeroClient, document: Document, *, include_gone: bool = False
) -> Mapping[str, Any] | None:
    number = str(document.payload["InvoiceNumber"])
    invoices = client.get_all("Invoices", params={"InvoiceNumbers": number})
    for invoice in invoices:
        ours = invoice.get("InvoiceNumber") == number and invoice.get("Type", "ACCREC") == "ACCREC"
        if ours and (include_gone or invoice.get("Status") not in GONE):
            return invoice
    return None


def find_by_reference(client: XeroClient, document: Document) -> Mapping[str, Any] | None:
    """The live object carrying ``document``'s key in its Narration or Reference, or None.

    The ``where`` filter narrows the search on Xero's side; every candidate is checked here as
    well, so a server that ignores the filter still gives the right answer (more slowly).
    """
    kind, key = document.kind, _document_reference(document)
    if kind == INVOICE:
        return _find_invoice(client, document)
    where = f'Narration.Contains("{key}")' if kind == MANUAL_JOURNAL else f'Reference=="{key}"'
    candidates = client.get_all(
        COLLECTION[kind], params={"where": where}, paged=kind != BANK_TRANSFER
    )
    for obj in candidates:
        if _reference(kind, obj) == key and obj.get("Status") not in GONE:
            return obj
    return None


@hookimpl
def look_up(session: XeroClient, document: Document) -> LookupResult:
    found = find_by_reference(session, document)
    if found is None:
        return LookupResult(Lookup.ABSENT)
    return LookupResult(Lookup.FOUND, target_id=str(found.get(ID_FIELD[document.kind])))


# -- undo ---------------------------------------------------------------------------------------


def _undo_key(document: Document, step: str) -> str:
    return idempotency_key(f"{document.key}:undo:{step}")


def _write_one(
    client: XeroClient, path: str, collection: str, obj: Mapping[str, Any], key: str
) -> str | None:
    """POST one update; None when Xero took it, else Xero's own words."""
    status, body = client.request("POST", path, body={collection: [dict(obj)]}, idempotency_key=key)
    if status != 200:
        return _words(body, status)
    items = body.get(collection) if isinstance(body, dict) else None
    errors = _errors(items[0]) if items else []
    return "; ".join(errors) or None


def _words(body: Any, status: int) -> str:
    if isinstance(body, dict):
        messages = [
            m
            for element in body.get("Elements") or []
            if isinstance(element, dict)
            for m in validation_messages(element)
        ]
        return "; ".join(messages) or str(body.get("Message") or body.get("Detail") or "")
    return f"HTTP {status}"


def _void_journal(client: XeroClient, document: Document, journal_id: str) -> bool:
    problem = _write_one(
        client,
        f"ManualJournals/{journal_id}",
        "ManualJournals",
        {
            "ManualJournalID": journal_id,
            "Narration": document.payload["Narration"],
            "Status": "VOIDED",
        },
        _undo_key(document, "void"),
    )
    return problem is None


def _delete_payment(client: XeroClient, document: Document, payment_id: str) -> str | None:
    status, body = client.request(
        "POST",
        f"Payments/{payment_id}",
        body={"Status": "DELETED"},
        idempotency_key=_undo_key(document, f"payment:{payment_id}"),
    )
    return None if status == 200 else _words(body, status)


def undo_document(client: XeroClient, document: Document, target_id: str) -> PushOutcome:
    """Void or delete ``target_id`` as Xero expects for its kind; twice is harmless."""
    kind = document.kind
    current = client.get_one(COLLECTION[kind], target_id)
    if current is None:
        return PushOutcome(
            document.key, Outcome.FAILED, message=f"Xero has no {kind} with id {target_id}"
        )
    if current.get("Status") in GONE:
        return PushOutcome(document.key, Outcome.EXISTS, target_id=target_id)
    problem: str | None
    if kind == INVOICE:
        for payment in current.get("Payments") or []:
            if payment.get("Status") not in GONE and payment.get("PaymentID"):
                problem = _delete_payment(client, document, str(payment["PaymentID"]))
                if problem:
                    return PushOutcome(document.key, Outcome.FAILED, message=problem)
        status = "DELETED" if current.get("Status") in ("DRAFT", "SUBMITTED") else "VOIDED"
        problem = _write_one(
            client,
            f"Invoices/{target_id}",
            "Invoices",
            {"InvoiceID": target_id, "Status": status},
            _undo_key(document, "void"),
        )
    elif kind == MANUAL_JOURNAL:
        problem = None if _void_journal(client, document, target_id) else "Xero refused the void"
    elif kind == PAYMENT:
        problem = _delete_payment(client, document, target_id)
    elif kind == BANK_TRANSFER:
        http_status, body = client.request(
            "POST",
            f"BankTransfers/{target_id}",
            body={"Status": "DELETED"},
            idempotency_key=_undo_key(document, "delete"),
        )
        problem = None if http_status == 200 else _words(body, http_status)
    elif kind == BANK_TRANSACTION:
        problem = _write_one(
            client,
            f"BankTransactions/{target_id}",
            "BankTransactions",
            {
                "BankTransactionID": target_id,
                "Type": current.get("Type"),
                "BankAccount": current.get("BankAccount"),
                "LineItems": current.get("LineItems"),
                "Status": "DELETED",
            },
            _undo_key(document, "delete"),
        )
    else:
        problem = f"Xero has no document kind {kind!r}"
    if problem:
        return PushOutcome(document.key, Outcome.FAILED, target_id=target_id, message=problem)
    return PushOutcome(document.key, Outcome.CREATED, target_id=target_id)


@hookimpl
def undo(session: XeroClient, document: Document, target_id: str) -> PushOutcome:
    return undo_document(session, document, target_id)


# -- prices back to Amazon ---------------------------------------------------------------------


@hookimpl
def item_prices(session: XeroClient, since: dt.datetime | None) -> Sequence[ItemPrice]:
    return read_item_prices(session, since)


# -- contract and emulator ------------------------------------------------------------------------


@hookimpl
def validate_request(method: str, url: str, headers: dict[str, str], body: Any) -> list[str]:
    return contract.validate_request(method, url, headers, body)


# Our document kind -> the emulator's object kind (Xero's singular schema names).
_EMULATOR_KINDS = {
    INVOICE: "Invoice",
    MANUAL_JOURNAL: "ManualJournal",
    PAYMENT: "Payment",
    BANK_TRANSFER: "BankTransfer",
    BANK_TRANSACTION: "BankTransaction",
}


def _live_references(state: Any, kind: str) -> Counter[str]:
    """How many live (not voided or deleted) objects of ``kind`` carry each of our references."""
    field = REFERENCE_FIELD[kind]

    def reference(obj: Any) -> str | None:
        return _reference(kind, {field: obj.get(field)})

    counts = state.count_by(
        _EMULATOR_KINDS[kind], reference, where=lambda obj: obj.get("Status") not in GONE
    )
    return Counter({k: v for k, v in counts.items() if k is not None})


# Named apart from the hook: importing the ``emulator`` subpackage sets ``xero.emulator`` to the
# module, which would hide a function of that name from pluggy.
@hookimpl(specname="emulator")
def emulated_target(seed: int, clock: Clock, chaos: Chaos) -> EmulatedTarget:
    """A fresh emulated organisation, connected, with a mapping suggested from its own chart."""
    from ml_connector.plugins.xero.emulator import XeroEmulator
    from ml_connector.plugins.xero.emulator.app import API_PREFIX
    from ml_connector.plugins.xero.emulator.seed import BOOKKEEPER_MAPPING

    emulated = XeroEmulator(clock=clock, chaos=chaos, seed=seed)
    values = {
        "client_id": emulated.client.client_id,
        "client_secret": emulated.client.client_secret,
        "refresh_token": emulated.issue_tokens()["refresh_token"],
        "tenant_id": emulated.tenant_id,
    }
    credentials = Credentials(values, on_save=values.__setitem__)
    with httpx.Client(transport=httpx.MockTransport(emulated.handle)) as http:
        suggested = suggest_mapping(connect(credentials=credentials, http=http, clock=clock))
    mapping = dataclasses.replace(
        suggested, accounts={**BOOKKEEPER_MAPPING, **dict(suggested.accounts)}
    )

    def count_documents(documents: Sequence[Document]) -> dict[str, int]:
        counts = {kind: _live_references(emulated.state, kind) for kind in _EMULATOR_KINDS}
        return {d.key: counts[d.kind].get(_document_reference(d), 0) for d in documents}

    return EmulatedTarget(
        handle=emulated.handle,
        credentials=values,
        mapping=mapping,
        count_documents=count_documents,
        # Paths starting with "/" are on the emulator's own port ('ml-connector emulate' says
        # which); 'ml-connector auth xero' uses authorize_url and token_url.
        info={
            "url": API_URL,
            "tenant_id": values["tenant_id"],
            "api_url": API_PREFIX,
            "token_url": "/connect/token",
            "authorize_url": "/identity/connect/authorize",
            "connections_url": "/connections",
            "client_id": values["client_id"],
            "client_secret": values["client_secret"],
        },
        state=emulated,
    )
