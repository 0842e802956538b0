"""Finances v0: event groups, events, their window rules, paging and exact amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from emulator_session import START, Session, body, described, error_codes, event_amounts

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.emulator.wire import iso
from ml_connector.core.emulation import FakeClock

GROUPS = "/finances/v0/financialEventGroups"
EVENTS = "/finances/v0/financialEvents"
SINCE = "2026-06-01T00:00:00Z"


def events_path(group_id: str) -> str:
    return f"{GROUPS}/{group_id}/financialEvents"


def all_groups(session: Session, params: dict[str, str]) -> list[dict]:
    groups: list[dict] = []
    response = session.get(GROUPS, params=params)
    while True:
        assert response.status_code == 200, response.text
        payload = body(response)["payload"]
        groups.extend(payload["FinancialEventGroupList"])
        if not payload.get("NextToken"):
            return groups
        response = session.get(GROUPS, params={"NextToken": payload["NextToken"]})


def all_events(session: Session, path: str, params: dict[str, str]) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    response = session.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        payload = body(response)["payload"]
        for list_name, listed in payload["FinancialEvents"].items():
            events.extend((list_name, event) for event in listed)
        if not payload.get("NextToken"):
            return events
        response = session.get(path, params={**params, "NextToken": payload["NextToken"]})


def test_groups_page_by_ten_and_cover_every_period(
    session: Session, emulator: AmazonEmulator
) -> None:
    first = body(session.get(GROUPS, params={"FinancialEventGroupStartedAfter": SINCE}))
    assert len(first["payload"]["FinancialEventGroupList"]) == 10
    groups = all_groups(
        session, {"FinancialEventGroupStartedAfter": SINCE, "MaxResultsPerPage": "4"}
    )
    assert [g["FinancialEventGroupId"] for g in groups] == [
        g.group_id for g in sorted(emulator.seller.groups, key=lambda g: (g.start, g.group_id))
    ]
    statuses = {g["ProcessingStatus"] for g in groups}
    assert statuses == {"Open", "Closed"}
    for group in groups:
        assert ("FundTransferDate" in group) == (group["ProcessingStatus"] == "Closed")


def test_a_closed_group_adds_up_to_its_settlement(
    session: Session, emulator: AmazonEmulator
) -> None:
    settlements = {h.settlement_id: (h, lines) for h, lines in emulator.seller.settlements}
    groups = all_groups(session, {"FinancialEventGroupStartedAfter": SINCE})
    checked = 0
    for rendered in groups:
        if rendered["ProcessingStatus"] != "Closed":
            continue
        truth = next(
            g for g in emulator.seller.groups if g.group_id == rendered["FinancialEventGroupId"]
        )
        header, lines = settlements[truth.settlement_id]
        assert rendered["OriginalTotal"]["CurrencyAmount"] == header.total_amount
        assert rendered["OriginalTotal"]["CurrencyCode"] == header.currency
        events = all_events(session, events_path(truth.group_id), {"MaxResultsPerPage": "9"})
        from_events = sum((amount for e in events for *_, amount in event_amounts(*e)), Decimal(0))
        reserve_lines = sum(
            (line.amount for line in lines if "Reserve" in line.amount_description), Decimal(0)
        )
        assert from_events + reserve_lines == header.total_amount
        released = rendered["BeginningBalance"]["CurrencyAmount"]
        assert released == described(lines, "Previous Reserve Amount Balance")
        checked += 1
    assert checked == len(emulator.seller.settlements)


def test_amounts_are_exact_json_numbers(session: Session, emulator: AmazonEmulator) -> None:
    group = next(g for g in emulator.seller.groups if g.closed and g.currency == "USD")
    response = session.get(events_path(group.group_id))
    fee = next(
        a.amount
        for t in group.transactions
        for item in t.items
        for a in item.amounts
        if a.description == "Commission" and a.amount < 0
    )
    # The wire carries the number as written from the Decimal: "-7.80", never "-7.8" or a string.
    assert f'"CurrencyAmount":{fee}' in response.text
    jpy = next(g for g in emulator.seller.groups if g.currency == "JPY" and g.transactions)
    events = all_events(session, events_path(jpy.group_id), {})
    amounts = [amount for e in events for *_, amount in event_amounts(*e)]
    # Yen have no minor unit: whole numbers on the wire.
    assert amounts and all(isinstance(amount, int) for amount in amounts)


@pytest.mark.parametrize(
    "params",
    [
        {"FinancialEventGroupStartedAfter": iso(START - dt.timedelta(seconds=60))},
        {
            "FinancialEventGroupStartedAfter": SINCE,
            "FinancialEventGroupStartedBefore": iso(START - dt.timedelta(seconds=90)),
        },
        {"FinancialEventGroupStartedAfter": SINCE, "FinancialEventGroupStartedBefore": SINCE},
        {"FinancialEventGroupStartedAfter": SINCE, "MaxResultsPerPage": "101"},
    ],
)
def test_group_window_violations_are_a_400(session: Session, params: dict[str, str]) -> None:
    response = session.get(GROUPS, params=params)
    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_groups_more_than_180_days_apart_return_nothing(session: Session) -> None:
    params = {
        "FinancialEventGroupStartedAfter": "2026-03-01T00:00:00Z",
        "FinancialEventGroupStartedBefore": "2026-09-30T00:00:00Z",
    }
    response = session.get(GROUPS, params=params)
    assert response.status_code == 200
    assert body(response)["payload"]["FinancialEventGroupList"] == []
    params["FinancialEventGroupStartedAfter"] = "2026-04-03T00:00:00Z"  # exactly 180 days
    assert body(session.get(GROUPS, params=params))["payload"]["FinancialEventGroupList"]


@pytest.mark.parametrize(
    "params",
    [
        {"PostedBefore": "2026-09-01T00:00:00Z"},
        {"PostedAfter": iso(START - dt.timedelta(seconds=30))},
        {"PostedAfter": SINCE, "PostedBefore": iso(START - dt.timedelta(seconds=100))},
        {"PostedAfter": "2026-09-02T00:00:00Z", "PostedBefore": "2026-09-01T00:00:00Z"},
    ],
)
def test_posted_window_violations_are_a_400(session: Session, params: dict[str, str]) -> None:
    response = session.get(EVENTS, params=params)
    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_events_by_date_cover_every_transaction_in_the_window(
    session: Session, emulator: AmazonEmulator
) -> None:
    after = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    before = dt.datetime(2026, 9, 15, tzinfo=dt.UTC)
    events = all_events(session, EVENTS, {"PostedAfter": iso(after), "PostedBefore": iso(before)})
    expected = [
        t
        for t in emulator.seller.transactions()
        if after <= t.posted < before and "reserve" not in t.kind.value
    ]
    assert len(events) == len(expected)
    total = sum((amount for e in events for *_, amount in event_amounts(*e)), Decimal(0))
    assert total == sum((t.total for t in expected), Decimal(0)) != 0
    far_apart = {"PostedAfter": "2026-01-01T00:00:00Z", "PostedBefore": iso(before)}
    assert all_events(session, EVENTS, far_apart) == []


def test_events_by_order_match_the_order(session: Session, emulator: AmazonEmulator) -> None:
    order = next(o for o in emulator.seller.orders if o.status == "SHIPPED")
    events = all_events(session, f"/finances/v0/orders/{order.order_id}/financialEvents", {})
    assert events and all(e["AmazonOrderId"] == order.order_id for _, e in events)
    bad = session.get("/finances/v0/orders/000-0000000-0000000/financialEvents")
    assert bad.status_code == 400


def test_an_unknown_group_is_a_400(session: Session) -> None:
    response = session.get(events_path("no-such-group"))
    assert response.status_code == 400
    assert body(response)["errors"][0]["message"] == "Bad event group ID provided."


def test_next_token_expires_and_must_keep_the_arguments(
    session: Session, emulator: AmazonEmulator, clock: FakeClock
) -> None:
    params = {"FinancialEventGroupStartedAfter": SINCE, "MaxResultsPerPage": "2"}
    token = body(session.get(GROUPS, params=params))["payload"]["NextToken"]
    # The same arguments with the token are fine, and so is the token alone.
    assert session.get(GROUPS, params={**params, "NextToken": token}).status_code == 200
    assert session.get(GROUPS, params={"NextToken": token}).status_code == 200
    changed = {**params, "MaxResultsPerPage": "3", "NextToken": token}
    assert session.get(GROUPS, params=changed).status_code == 400
    clock.advance(601)
    session.login()
    expired = session.get(GROUPS, params={**params, "NextToken": token})
    assert expired.status_code == 400
    assert error_codes(expired) == ["InvalidInput"]
    assert "NextToken" in body(expired)["errors"][0]["message"]
    assert "expired" in body(expired)["errors"][0]["message"]


def test_group_data_older_than_two_years_is_empty(
    session: Session, emulator: AmazonEmulator, clock: FakeClock
) -> None:
    group = emulator.seller.groups[0]
    clock.advance(dt.timedelta(days=800).total_seconds())
    session.login()
    response = session.get(events_path(group.group_id))
    assert response.status_code == 200
    assert not any(body(response)["payload"]["FinancialEvents"].values())
