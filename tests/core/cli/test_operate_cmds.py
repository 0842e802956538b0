"""``alerts``, ``replay`` and ``audit``: after a sync asked for a person, the person acts."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ml_connector.core import outbox
from ml_connector.core.amazon.emulator import generate_seller
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import book_settlement_document
from ml_connector.core.cli import app
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.plugins import get_target
from ml_connector.core.sync import sync_target
from ml_connector.ledger.rules import default_rules
from ml_connector.testing import plugin_manager

FLOW = "shop"
START = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)


@pytest.fixture
def books(tmp_path: Path) -> tuple[str, Database, str]:
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    database = open_database(url)
    seller = generate_seller(seed=9, orders=20, marketplaces=("US",))
    header, lines = seller.settlements[0]
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    book_settlement_document(
        database.ledger,
        flow=FLOW,
        document=text.getvalue().encode(),
        source="first.txt",
        rules=default_rules(),
        now=START,
    )
    return url, database, header.settlement_id


def push(database: Database, handle) -> None:  # type: ignore[no-untyped-def]
    tally = get_target(plugin_manager(), "tally")
    emulated = tally.emulator(seed=1, clock=FakeClock(START), chaos=Chaos.off())
    with httpx.Client(transport=httpx.MockTransport(handle(emulated))) as http:
        sync_target(
            database.ledger,
            flow=FLOW,
            target=tally,
            mapping=emulated.mapping,
            credentials=Credentials(emulated.credentials),
            http=http,
            clock=FakeClock(START),
            mode="summary",
        )


def refusing(emulated):  # type: ignore[no-untyped-def]
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json={"error": "the period is locked"})
        return emulated.handle(request)

    return handle


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_refused_document_is_an_alert_and_replay_queues_it(books) -> None:  # type: ignore[no-untyped-def]
    url, database, _sid = books
    push(database, refusing)
    code, output = run("alerts", "--db", url, "--json")
    assert code == 0
    (alert, *_rest) = [a for a in json.loads(output) if a["kind"] == "push_failed"]
    assert "the period is locked" in alert["message"] and "ml-connector replay" in alert["message"]

    code, output = run("replay", "--db", url, "--flow", FLOW, "--id", alert["key"])
    assert code == 0 and "1 document(s) queued" in output
    with database.engine.connect() as conn:
        assert outbox.statuses_of(conn, [alert["key"]]) == {alert["key"]: outbox.PENDING}


def test_an_in_doubt_document_is_settled_by_the_users_word(books) -> None:  # type: ignore[no-untyped-def]
    url, database, _sid = books
    push(database, refusing)
    with database.engine.begin() as conn:
        key = outbox.entries(conn, flow=FLOW, target="tally")[0].document.key
        outbox.set_status(conn, key, outbox.IN_DOUBT, now=START)
    code, output = run("replay", "--db", url, "--id", key, "--confirm", "T-77")
    assert code == 0
    with database.engine.connect() as conn:
        (row,) = [
            e for e in outbox.entries(conn, flow=FLOW, target="tally") if e.document.key == key
        ]
    assert row.status == outbox.DONE and row.target_id == "T-77"
    # A document no longer in doubt cannot be re-sent by a typo.
    code, output = run("replay", "--db", url, "--id", key, "--resend")
    assert code == 1 and "not in doubt" in output


def test_replay_refuses_confirm_and_resend_together(books) -> None:  # type: ignore[no-untyped-def]
    url, _database, _sid = books
    code, output = run("replay", "--db", url, "--id", "k", "--confirm", "X", "--resend")
    assert code == 1 and "exclude each other" in output


def test_audit_follows_a_settlement_from_its_file_to_the_target(books) -> None:  # type: ignore[no-untyped-def]
    url, database, sid = books
    push(database, lambda emulated: emulated.handle)
    code, output = run("audit", sid, "--db", url, "--json")
    assert code == 0
    trail = json.loads(output)
    assert trail["raw"][0]["kind"] == "settlement_report" and trail["raw"][0]["content_hash"]
    assert trail["entries"] and all(d["status"] == "done" for d in trail["documents"])
    assert all(d["target_id"] for d in trail["documents"])
    code, output = run("audit", sid, "--db", url)
    assert code == 0 and sid in output
