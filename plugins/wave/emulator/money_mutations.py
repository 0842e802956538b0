"""``moneyTransactionCreate`` and its batch form ``moneyTransactionsCreate``.

Deduplication: none, by default. Wave documents ``externalId`` only as "ID of the transaction in
an external system" and never as an idempotency key, and its public schema has no query that
lists money transactions, so a client cannot look one up before re-sending either: a repeated
create makes a second transaction, exactly what a careless retry would do to real books.

The emulator's ``external_id_dedup`` switch (off by default) plays the *hypothetical* other
reading: a create whose ``externalId`` was already used in the business returns the first
transaction instead of storing a new one. Nothing Wave publishes says it behaves like that; the
switch exists so the connector can be tested against both readings.

``moneyTransactionsCreate`` (post-2024, absent from the 2024 schema snapshot) is all-or-nothing,
as the 2026 client that confirms it describes it: if any transaction is refused, none is stored
and the input errors' paths name the offending element (``input.transactions.<n>...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ml_connector.plugins.wave.emulator import transactions
from ml_connector.plugins.wave.emulator.context import RequestContext
from ml_connector.plugins.wave.emulator.errors import InputErrors, InputProblem, invalid
from ml_connector.plugins.wave.emulator.mutation_support import INPUT_PATH, business_of
from ml_connector.plugins.wave.emulator.state import BusinessState, MoneyTransactionRecord


def money_transaction_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    earlier = _earlier(ctx, business, given["externalId"])
    if earlier is not None:
        return {"transaction": {"id": earlier.id}}
    draft = transactions.validate(business, given, INPUT_PATH)
    stored = _store(ctx, business, draft)
    return {"transaction": {"id": stored.id}}


def money_transactions_create(ctx: RequestContext, given: Mapping[str, Any]) -> dict[str, Any]:
    business = business_of(ctx, given["businessId"])
    if not given["transactions"]:
        raise InputErrors([invalid((*INPUT_PATH, "transactions"), "NO_TRANSACTIONS")])
    # Each entry is an already stored transaction (dedup) or a validated draft (no id yet).
    plan: list[MoneyTransactionRecord] = []
    problems: list[InputProblem] = []
    for index, item in enumerate(given["transactions"]):
        earlier = _earlier(ctx, business, item["externalId"])
        if earlier is not None:
            plan.append(earlier)
            continue
        try:
            plan.append(
                transactions.validate(business, item, (*INPUT_PATH, "transactions", str(index)))
            )
        except InputErrors as refused:
            problems.extend(refused.problems)
    if problems:
        raise InputErrors(problems)
    created = []
    for entry in plan:
        if not entry.id:
            # With dedup on, an externalId repeated inside the batch maps to its first element.
            entry = _earlier(ctx, business, entry.external_id) or _store(ctx, business, entry)
        created.append({"id": entry.id})
    return {"transactions": created}


def _earlier(
    ctx: RequestContext, business: BusinessState, external_id: str
) -> MoneyTransactionRecord | None:
    if not ctx.external_id_dedup:
        return None
    return next(
        (t for t in business.money_transactions.values() if t.external_id == external_id), None
    )


def _store(
    ctx: RequestContext, business: BusinessState, draft: MoneyTransactionRecord
) -> MoneyTransactionRecord:
    transaction_id, number = business.mint("Transaction")
    record = replace(draft, id=transaction_id, number=number, created_at=ctx.now())
    business.money_transactions[transaction_id] = record
    business.postings.extend(transactions.postings(business, record))
    return record
