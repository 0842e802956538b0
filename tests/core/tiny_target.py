"""A complete target plugin in one file: proof that a new target needs no engine change.

"Tally" is an imaginary ledger service with a small REST API: ``POST /journals`` creates a
journal (no dedup on write), ``GET /journals?ref=KEY`` finds one by our reference. The plugin
implements every hook; its emulator lives here too. ``docs/plugins.md`` walks through it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, Clock, Fault
from ml_connector.core.emulation.chaos import timeout
from ml_connector.core.hookspecs import hookimpl
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
    RenderProblem,
    TargetInfo,
    TargetMapping,
)
from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.marketplaces import MARKETPLACES
from ml_connector.ledger.posting.conventions import (
    DEFAULT_PAYOUT_ACCOUNT,
    RECEIVABLE_ACCOUNT,
    RESERVE_ACCOUNT,
    clearing_account,
)
from ml_connector.ledger.rules import default_rules

BASE = "https://tally.example/api"


class TallyEmulator:
    """Stateful, with no dedup on write, a look-up by reference, and injected faults."""

    def __init__(self, chaos: Chaos, token: str) -> None:
        self.chaos = chaos
        self.token = token
        self.journals: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.calls = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "unauthorized"})
        fault = self.chaos.draw(request)
        if fault in (Fault.TIMEOUT,):
            raise timeout(request)
        if fault in (Fault.THROTTLE, Fault.SERVER_ERROR, Fault.EXPIRE_TOKEN):
            return httpx.Response(503, json={"error": "try again"})
        if request.method == "GET" and request.url.path == "/api/journals":
            ref = request.url.params.get("ref")
            found = [j for j in self.journals if j["ref"] == ref]
            return httpx.Response(200, text=jsoncodec.dumps({"journals": found}))
        if request.method == "POST" and request.url.path == "/api/journals":
            body = jsoncodec.loads(request.content)
            if sum((Decimal(line["amount"]) for line in body["lines"]), Decimal(0)) != 0:
                return httpx.Response(422, json={"error": "journal does not balance"})
            journal = {"id": f"T{next(self._ids)}", **body}
            self.journals.append(journal)
            if fault is Fault.LOSE_RESPONSE:
                raise timeout(request)
            return httpx.Response(201, text=jsoncodec.dumps(journal))
        return httpx.Response(404, json={"error": "not found"})


class TallySession:
    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.headers = {"authorization": f"Bearer {token}"}


@hookimpl
def target_info() -> TargetInfo:
    return TargetInfo(
        name="tally",
        title="Tally",
        wire="REST JSON",
        batch_size=1,
        dedup={"journal": Dedup.LOOKUP},
        rate_limits=RateLimits(),
        documents=("journal",),
    )


@hookimpl
def connect(credentials: Credentials, http: httpx.Client, clock: Clock) -> TallySession:
    return TallySession(http, credentials.require("token"))


@hookimpl
def render(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    documents, problems = [], []
    for entry in entries:
        missing = sorted({p.account for p in entry.postings if p.account not in mapping.accounts})
        if missing:
            problems.extend(
                RenderProblem(
                    entry.id, "account", account, f"no Tally account mapped for {account}"
                )
                for account in missing
            )
            continue
        key = f"tally:{context.flow}:{entry.id}:journal"
        debits: dict[str, Decimal] = {}
        for posting in entry.postings:
            if posting.amount > 0:
                debits[posting.currency] = debits.get(posting.currency, Decimal(0)) + posting.amount
        documents.append(
            Document(
                key=key,
                kind="journal",
                source_ref=entry.source_ref,
                entry_ids=(entry.id,),
                idempotency_key=key,
                natural_key=key,
                payload={
                    "ref": key,
                    "date": entry.date.isoformat(),
                    "memo": entry.description,
                    "lines": [
                        {
                            "account": mapping.accounts[p.account],
                            "amount": str(p.amount),
                            "currency": p.currency,
                        }
                        for p in entry.postings
                    ],
                },
                totals=debits,
                description=entry.description,
            )
        )
    return Rendered(tuple(documents), tuple(problems))


@hookimpl
def push(session: TallySession, documents: Sequence[Document]) -> list[PushOutcome]:
    outcomes = []
    for document in documents:
        try:
            response = session.http.post(
                f"{BASE}/journals",
                content=jsoncodec.dumps(dict(document.payload)),
                headers=session.headers,
            )
        except httpx.TimeoutException:
            outcomes.append(PushOutcome(document.key, Outcome.UNKNOWN, message="no response"))
            continue
        if response.status_code == 201:
            outcomes.append(
                PushOutcome(document.key, Outcome.CREATED, target_id=response.json()["id"])
            )
        elif response.status_code >= 500:
            outcomes.append(PushOutcome(document.key, Outcome.RETRY, message=response.text))
        else:
            outcomes.append(
                PushOutcome(document.key, Outcome.FAILED, message=response.json()["error"])
            )
    return outcomes


@hookimpl
def look_up(session: TallySession, document: Document) -> LookupResult:
    response = session.http.get(
        f"{BASE}/journals", params={"ref": document.key}, headers=session.headers
    )
    if response.status_code != 200:
        return LookupResult(
            Lookup.ABSENT if response.status_code == 404 else Lookup.UNKNOWABLE,
            message=response.text,
        )
    found = jsoncodec.loads(response.content)["journals"]
    return (
        LookupResult(Lookup.FOUND, target_id=found[0]["id"])
        if found
        else LookupResult(Lookup.ABSENT)
    )


@hookimpl
def emulator(seed: int, clock: Clock, chaos: Chaos) -> EmulatedTarget:
    token = f"tally-token-{seed}"
    emu = TallyEmulator(chaos, token)

    def count_documents(documents: Sequence[Document]) -> dict[str, int]:
        counts = Counter(j["ref"] for j in emu.journals)
        return {d.key: counts.get(d.key, 0) for d in documents}

    return EmulatedTarget(
        handle=emu.handle,
        credentials={"token": token},
        mapping=TargetMapping(accounts=canonical_accounts()),
        count_documents=count_documents,
        info={"url": BASE, "token": token},
        state=emu,
    )


def canonical_accounts() -> dict[str, str]:
    """Tally accepts any account name, so every canonical account maps to itself."""
    names = {rule.account for rule in default_rules()}
    names |= {clearing_account(m.code) for m in MARKETPLACES}
    names |= {RESERVE_ACCOUNT, RECEIVABLE_ACCOUNT, DEFAULT_PAYOUT_ACCOUNT}
    return {name: name for name in sorted(names)}
