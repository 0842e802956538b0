"""The Wave hooks: what the target declares, push outcomes, look-ups and undo, one by one."""

from __future__ import annotations

from decimal import Decimal

from wave_plugin_support import booked, connected, context

import ml_connector.plugins.wave as wave
from ml_connector.core.emulation import Chaos, FakeClock, Fault
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.targets import Dedup, Lookup, Outcome
from ml_connector.plugins.wave.render import INVOICE, MONEY_TRANSACTION, render_entries


def test_the_target_is_installed_and_declares_its_honest_dedup() -> None:
    target = get_target(make_manager(), "wave")
    info = target.info
    assert (info.name, info.wire) == ("wave", "GraphQL")
    assert info.dedup[MONEY_TRANSACTION] is Dedup.NONE
    assert info.dedup[INVOICE] is Dedup.LOOKUP
    assert set(info.documents) <= set(info.dedup)
    emulated = target.emulator(seed=2, clock=FakeClock(), chaos=Chaos.off())
    assert type(emulated.state).__name__ == "WaveEmulator", "the wave hook, not another target's"


def _documents(mapping, mode: str = "per-order"):  # type: ignore[no-untyped-def]
    wanted = "order" if mode == "per-order" else "settlement"
    entries = next(s for s in booked(3, mode, 30) if any(e.kind == wanted for e in s))
    return list(render_entries(entries, mapping, context(mode)).documents)


def test_a_money_transaction_cannot_be_looked_up_and_the_hint_says_what_to_search() -> None:
    target, client, _sent = connected()
    document = next(d for d in _documents(target.mapping) if d.kind == MONEY_TRANSACTION)
    result = wave.look_up(session=client, document=document)
    assert result.status is Lookup.UNKNOWABLE
    for fact in (
        document.payload["externalId"],
        document.payload["date"],
        document.payload["description"],
        str(document.payload["anchor"]["amount"]),
    ):
        assert fact in result.message


def test_a_refused_money_transaction_is_failed_with_waves_words_never_created() -> None:
    target, client, _sent = connected()
    document = next(d for d in _documents(target.mapping) if d.kind == MONEY_TRANSACTION)
    broken = dict(document.payload)
    broken["anchor"] = {**broken["anchor"], "amount": broken["anchor"]["amount"] + Decimal("0.01")}
    bad = type(document)(**{**document.__dict__, "payload": broken})
    (outcome,) = wave.push(session=client, documents=[bad])
    assert outcome.outcome is Outcome.FAILED
    assert "LINE_ITEMS_DO_NOT_BALANCE" in outcome.message
    assert target.count_documents([bad]) == {bad.key: 0}


def test_a_lost_answer_to_a_money_transaction_is_unknown_not_retried() -> None:
    target, client, _sent = connected()
    document = next(d for d in _documents(target.mapping, "summary") if d.kind == MONEY_TRANSACTION)
    target.state.chaos = Chaos(seed=1, per_mille={Fault.LOSE_RESPONSE: 1000})
    (outcome,) = wave.push(session=client, documents=[document])
    assert outcome.outcome is Outcome.UNKNOWN
    assert target.count_documents([document]) == {document.key: 1}


def test_catalog_documents_are_found_by_name_before_any_create() -> None:
    target, client, _sent = connected()
    documents = _documents(target.mapping)
    catalog = [d for d in documents if d.kind in ("customer", "product")]
    first = wave.push(session=client, documents=catalog)
    assert {o.outcome for o in first} == {Outcome.CREATED}
    client.indexes.clear()  # a new session: names are read from Wave again
    second = wave.push(session=client, documents=catalog)
    assert [(o.outcome, o.target_id) for o in second] == [
        (Outcome.EXISTS, o.target_id) for o in first
    ]
    assert set(target.count_documents(catalog).values()) == {1}


def test_an_invoice_sent_twice_is_exists_and_undo_deletes_it_once() -> None:
    target, client, _sent = connected()
    documents = _documents(target.mapping)
    catalog = [d for d in documents if d.kind in ("customer", "product")]
    wave.push(session=client, documents=catalog)
    invoice = next(d for d in documents if d.kind == INVOICE)
    (created,) = wave.push(session=client, documents=[invoice])
    (again,) = wave.push(session=client, documents=[invoice])
    assert created.outcome is Outcome.CREATED
    assert (again.outcome, again.target_id) == (Outcome.EXISTS, created.target_id)
    assert wave.look_up(session=client, document=invoice).target_id == created.target_id
    assert target.count_documents([invoice]) == {invoice.key: 1}
    undone = wave.undo(session=client, document=invoice, target_id=created.target_id)
    assert undone.outcome is Outcome.CREATED
    twice = wave.undo(session=client, document=invoice, target_id=created.target_id)
    assert twice.outcome is Outcome.EXISTS
    assert target.count_documents([invoice]) == {invoice.key: 0}
    assert wave.look_up(session=client, document=invoice).status is Lookup.ABSENT


def test_undo_of_a_money_transaction_is_refused_plainly() -> None:
    target, client, _sent = connected()
    document = next(d for d in _documents(target.mapping) if d.kind == MONEY_TRANSACTION)
    outcome = wave.undo(session=client, document=document, target_id="T")
    assert outcome.outcome is Outcome.FAILED
    assert "no mutation that deletes" in outcome.message
    assert document.payload["externalId"] in outcome.message
