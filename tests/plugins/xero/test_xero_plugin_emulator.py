"""The plugin against the Xero emulator, which was written separately from the same contract.

A misreading of the contract on either side shows up here as a failing push, a missed look-up or
a duplicate counted from the emulator's own state.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest
from xero_entries import PER_ORDER, SUMMARY, small_seller, small_seller_per_order

import ml_connector.plugins.xero as xero
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, FakeClock, Fault
from ml_connector.core.targets import Document, EmulatedTarget, Lookup, Outcome
from ml_connector.core.transport import request_record
from ml_connector.plugins.xero.client import XeroClient

pytest.importorskip("ml_connector.plugins.xero.emulator")


def connected(
    chaos: Chaos | None = None, clock: FakeClock | None = None
) -> tuple[EmulatedTarget, XeroClient]:
    clock = clock or FakeClock()
    target = xero.emulated_target(seed=3, clock=clock, chaos=chaos or Chaos.off())
    credentials = Credentials(target.credentials)
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return target.handle(request)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    target.info["sent"] = sent
    return target, xero.connect(credentials=credentials, http=http, clock=clock)


def rendered(target: EmulatedTarget, mode: str) -> list[Document]:
    entries, context = (
        (small_seller(), SUMMARY) if mode == "summary" else (small_seller_per_order(), PER_ORDER)
    )
    result = xero.render(entries=entries, mapping=target.mapping, context=context)
    assert result.problems == ()
    return list(result.documents)


def push_until_done(session: XeroClient, documents: Sequence[Document]) -> dict[str, str]:
    """What the engine does: push ready documents, look up the unknown ones, re-send the absent."""
    done: dict[str, str] = {}
    pending = list(documents)
    for _round in range(20):
        ready = [d for d in pending if all(dep in done for dep in d.depends_on)]
        if not ready:
            break
        for outcome in xero.push(session=session, documents=ready):
            if outcome.outcome in (Outcome.CREATED, Outcome.EXISTS):
                done[outcome.key] = outcome.target_id or ""
            elif outcome.outcome is Outcome.UNKNOWN:
                document = next(d for d in ready if d.key == outcome.key)
                found = xero.look_up(session=session, document=document)
                assert found.status is not Lookup.UNKNOWABLE
                if found.status is Lookup.FOUND:
                    done[outcome.key] = found.target_id or ""
            else:
                assert outcome.outcome is Outcome.RETRY, outcome
        pending = [d for d in pending if d.key not in done]
    assert pending == [], [d.key for d in pending]
    return done


@pytest.mark.parametrize("mode", ["summary", "per-order"])
def test_a_full_push_creates_every_document_once(mode: str) -> None:
    target, session = connected()
    documents = rendered(target, mode)
    done = push_until_done(session, documents)
    assert len(done) == len(documents)
    assert target.count_documents(documents) == {d.key: 1 for d in documents}
    assert session.calls > 0
    for request in target.info["sent"]:
        record = request_record(request)
        assert (
            xero.validate_request(
                method=record["method"],
                url=record["url"],
                headers=record["headers"],
                body=record["body"],
            )
            == []
        ), record["url"]


def test_a_re_push_finds_everything_and_duplicates_nothing() -> None:
    clock = FakeClock()
    target, session = connected(clock=clock)
    documents = rendered(target, "per-order")
    first = push_until_done(session, documents)
    for document in documents:
        found = xero.look_up(session=session, document=document)
        assert (found.status, found.target_id) == (Lookup.FOUND, first[document.key])
    invoices = [d for d in documents if d.kind == "invoice"]
    replayed = xero.push(session=session, documents=invoices)  # same Idempotency-Key, minutes later
    assert [o.target_id for o in replayed] == [first[d.key] for d in invoices]
    clock.advance(3600)  # long past Xero's idempotency window: the invoice number guards alone
    again = xero.push(session=session, documents=invoices)
    assert [(o.outcome, o.target_id) for o in again] == [
        (Outcome.EXISTS, first[d.key]) for d in invoices
    ]
    assert target.count_documents(documents) == {d.key: 1 for d in documents}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lost_responses_then_look_ups_leave_each_document_exactly_once(seed: int) -> None:
    chaos = Chaos(seed=seed, per_mille={Fault.LOSE_RESPONSE: 400})
    target, session = connected(chaos)
    documents = rendered(target, "per-order")
    push_until_done(session, documents)
    assert chaos.injected.get(Fault.LOSE_RESPONSE, 0) > 0
    assert target.count_documents(documents) == {d.key: 1 for d in documents}


def test_the_default_chaos_mix_still_leaves_each_document_exactly_once() -> None:
    chaos = Chaos.default(seed=11)
    target, session = connected(chaos)
    documents = rendered(target, "per-order") + rendered(target, "summary")
    push_until_done(session, documents)
    assert target.count_documents(documents) == {d.key: 1 for d in documents}


def test_undo_voids_in_the_emulator_and_a_second_undo_is_exists() -> None:
    target, session = connected()
    documents = rendered(target, "per-order")
    done = push_until_done(session, documents)
    for document in reversed(documents):
        first = xero.undo(session=session, document=document, target_id=done[document.key])
        assert first.outcome is Outcome.CREATED, (document.kind, first.message)
        second = xero.undo(session=session, document=document, target_id=done[document.key])
        assert second.outcome is Outcome.EXISTS, (document.kind, second.message)
    assert target.count_documents(documents) == {d.key: 0 for d in documents}


def test_without_a_stored_tenant_the_first_connection_is_used() -> None:
    clock = FakeClock()
    target = xero.emulated_target(seed=5, clock=clock, chaos=Chaos.off())
    values = {k: v for k, v in target.credentials.items() if k != "tenant_id"}
    http = httpx.Client(transport=httpx.MockTransport(target.handle))
    session = xero.connect(credentials=Credentials(values), http=http, clock=clock)
    assert session.tenant_id == target.credentials["tenant_id"]
