"""Manual journals in the Xero emulator: no dedup, balance, removed accounts, paging, look-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from test_xero_emulator_support import XeroEnv, body, journal


@pytest.fixture
def env() -> XeroEnv:
    return XeroEnv.create()


def test_the_same_journal_sent_twice_makes_two(env: XeroEnv) -> None:
    for _ in range(2):
        assert (
            env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]}).status_code == 200
        )
    assert env.emulator.count_by("ManualJournal", "Narration") == {"Settlement 12345": 2}


def test_unbalanced_journal_is_refused_in_xeros_words(env: XeroEnv) -> None:
    lopsided = journal()
    lopsided["JournalLines"][1]["LineAmount"] = Decimal("-10.00")
    answer = env.send("PUT", "/ManualJournals", {"ManualJournals": [lopsided]})
    assert answer.status_code == 400
    assert body(answer)["Elements"][0]["ValidationErrors"] == [
        {"Message": "The total debits (100.00) must equal total credits (-10.00)"}
    ]
    assert env.emulator.state.objects("ManualJournal") == []


def test_archived_account_line_is_dropped_and_unbalances_the_journal(env: XeroEnv) -> None:
    three = journal()
    three["JournalLines"] = [
        {"LineAmount": Decimal("100.00"), "AccountCode": "091"},
        {"LineAmount": Decimal("-10.00"), "AccountCode": "200"},
        {"LineAmount": Decimal("-90.00"), "AccountCode": "476"},
    ]
    answer = env.send(
        "PUT", "/ManualJournals", {"ManualJournals": [three]}, params={"summarizeErrors": "false"}
    )
    assert answer.status_code == 200
    [result] = body(answer)["ManualJournals"]
    assert result["HasErrors"] is True and result["StatusAttributeString"] == "ERROR"
    assert result["Warnings"] == [
        {
            "Message": "Account code '476' has been removed as it does not match a recognised account."
        }
    ]
    assert result["ValidationErrors"] == [
        {"Message": "The total debits (100.00) must equal total credits (-10.00)"}
    ]
    assert env.emulator.state.objects("ManualJournal") == []


def test_lines_and_narration_are_required(env: XeroEnv) -> None:
    no_narration = journal()
    del no_narration["Narration"]
    answer = env.send("PUT", "/ManualJournals", {"ManualJournals": [no_narration]})
    assert answer.status_code == 400
    assert body(answer)["Elements"][0]["ValidationErrors"] == [
        {"Message": "'Narration' is a required property"}
    ]
    empty = journal(JournalLines=[])
    answer = env.send("PUT", "/ManualJournals", {"ManualJournals": [empty]})
    assert answer.status_code == 400


def test_paging_returns_100_with_lines_until_a_partial_page(env: XeroEnv) -> None:
    batch = [journal(f"Settlement {n}") for n in range(250)]
    assert env.send("PUT", "/ManualJournals", {"ManualJournals": batch}).status_code == 200
    seen, page = [], 1
    while True:
        answer = body(env.send("GET", "/ManualJournals", params={"page": page}))
        chunk = answer["ManualJournals"]
        assert all(len(j["JournalLines"]) == 2 for j in chunk)
        seen.extend(j["Narration"] for j in chunk)
        if len(chunk) < 100:
            break
        page += 1
    assert page == 3 and answer["pagination"]["itemCount"] == 250
    assert seen == [f"Settlement {n}" for n in range(250)]
    unpaged = body(env.send("GET", "/ManualJournals"))["ManualJournals"]
    assert len(unpaged) == 250 and "JournalLines" not in unpaged[0]
    sized = body(env.send("GET", "/ManualJournals", params={"page": 2, "pageSize": 200}))
    assert len(sized["ManualJournals"]) == 50


def test_where_finds_a_journal_by_narration_and_date(env: XeroEnv) -> None:
    batch = [journal("Settlement A"), journal("Settlement B", Date="2026-11-01")]
    env.send("PUT", "/ManualJournals", {"ManualJournals": batch})
    found = body(env.send("GET", "/ManualJournals", params={"where": 'Narration=="Settlement B"'}))[
        "ManualJournals"
    ]
    assert [j["Narration"] for j in found] == ["Settlement B"]
    by_date = body(
        env.send(
            "GET",
            "/ManualJournals",
            params={"where": 'Narration.StartsWith("Settlement") AND Date>=DateTime(2026,10,06)'},
        )
    )["ManualJournals"]
    assert [j["Narration"] for j in by_date] == ["Settlement B"]
    bad = env.send("GET", "/ManualJournals", params={"where": "Narration=="})
    assert bad.status_code == 400 and body(bad)["Type"] == "QueryParseException"


def test_if_modified_since_returns_only_later_changes(env: XeroEnv) -> None:
    env.send("PUT", "/ManualJournals", {"ManualJournals": [journal("old")]})
    cutoff = dt.datetime.fromtimestamp(env.clock.now(), tz=dt.UTC)
    env.clock.advance(120)
    env.send("PUT", "/ManualJournals", {"ManualJournals": [journal("new")]})
    since = body(
        env.send("GET", "/ManualJournals", headers={"If-Modified-Since": cutoff.isoformat()})
    )["ManualJournals"]
    assert [j["Narration"] for j in since] == ["new"]


def test_posted_journal_can_be_voided_but_not_unposted(env: XeroEnv) -> None:
    [made] = body(env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]}))[
        "ManualJournals"
    ]
    path = f"/ManualJournals/{made['ManualJournalID']}"
    back = env.send("POST", path, {"ManualJournals": [{"Narration": "x", "Status": "DRAFT"}]})
    assert back.status_code == 400
    voided = env.send("POST", path, {"ManualJournals": [{"Narration": "x", "Status": "VOIDED"}]})
    assert body(voided)["ManualJournals"][0]["Status"] == "VOIDED"


def test_journal_dated_in_a_locked_period_is_refused(env: XeroEnv) -> None:
    env.emulator.set_lock_dates(period=dt.date(2026, 10, 31))
    answer = env.send("PUT", "/ManualJournals", {"ManualJournals": [journal()]})
    assert body(answer)["Elements"][0]["ValidationErrors"] == [
        {
            "Message": "The document date cannot be before the period lock date, currently set at 31-Oct-2026"
        }
    ]


def test_tracking_must_name_a_known_option(env: XeroEnv) -> None:
    tracked = journal()
    tracked["JournalLines"][1]["Tracking"] = [{"Name": "Marketplace", "Option": "DE"}]
    made = body(env.send("PUT", "/ManualJournals", {"ManualJournals": [tracked]}))
    line = made["ManualJournals"][0]["JournalLines"][1]
    assert line["Tracking"][0]["Option"] == "DE"
    tracked["JournalLines"][1]["Tracking"] = [{"Name": "Marketplace", "Option": "FR"}]
    assert env.send("PUT", "/ManualJournals", {"ManualJournals": [tracked]}).status_code == 400
