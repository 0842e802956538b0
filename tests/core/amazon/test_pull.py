"""The pull stage against the in-process SP-API emulator, on a fake clock.

Settlements: booked once, re-runs change nothing, a crash anywhere resumes without doubles, a
refused paging token restarts the listing. Backfill: old settlements from financial events, and
a report arriving later for a backfilled period books nothing twice. Orders: stored raw, windows
with their watermark, two-year floor. Created reports: resumable through ReportRequest rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ml_connector.core import jsoncodec, rawstore
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.backfill import backfill
from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.errors import PagingTokenExpired
from ml_connector.core.amazon.event_lines import (
    EventsIncomplete,
    UnsupportedEvents,
    backfill_settlement_id,
    settlement_from_events,
)
from ml_connector.core.amazon.lwa import LwaCredentials
from ml_connector.core.amazon.pull import (
    COVERED,
    ORDERS_STREAM,
    SETTLEMENTS_STREAM,
    book_settlement_report,
    pull_orders,
    pull_report,
    pull_settlements,
)
from ml_connector.core.amazon.settlement_file import write_settlement_v2
from ml_connector.core.booking import BOOKED, booked_settlements
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation.clock import FakeClock, utcnow
from ml_connector.core.errors import InputError
from ml_connector.core.schema import RawRecord, ReportRequest
from ml_connector.core.secrets import Secret
from ml_connector.core.transport import CrashingTransport, SimulatedCrash
from ml_connector.ledger.marketplaces import by_code
from ml_connector.ledger.posting import book_settlement, compare_lines
from ml_connector.ledger.rules import RuleTable, default_rules
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

START = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
BASE_URL = "https://sellingpartnerapi-na.amazon.com"
LWA_URL = "https://api.amazon.com/auth/o2/token"
RULES = default_rules()
FLOW = "shop"
_RAW = RawRecord.__table__  # type: ignore[attr-defined]
_REQUESTS = ReportRequest.__table__  # type: ignore[attr-defined]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def make_emulator(clock: FakeClock, *, months: int = 2, orders: int = 30) -> AmazonEmulator:
    return AmazonEmulator(
        seed=3, orders=orders, months=months, marketplaces=("US", "JP"), clock=clock
    )


def make_client(
    emulator: AmazonEmulator,
    clock: FakeClock,
    wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] = lambda t: t,
) -> SpApiClient:
    app = emulator.credentials
    return SpApiClient(
        base_url=BASE_URL,
        credentials=LwaCredentials(
            app.client_id, Secret(app.client_secret), Secret(app.refresh_token)
        ),
        http=httpx.Client(transport=wrap(httpx.MockTransport(emulator.handle))),
        clock=clock,
        lwa_url=LWA_URL,
        seed=1,
    )


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


def raw_count(database: Database, kind: str | None = None) -> int:
    stmt = select(func.count()).select_from(_RAW)
    if kind is not None:
        stmt = stmt.where(_RAW.c.kind == kind)
    with database.engine.begin() as conn:
        return int(conn.execute(stmt).scalar_one())


def statuses(database: Database) -> dict[str, str]:
    with database.engine.begin() as conn:
        return {row.settlement_id: row.status for row in booked_settlements(conn, flow=FLOW)}


def watermark(database: Database, stream: str) -> str | None:
    with database.engine.begin() as conn:
        return rawstore.get_watermark(conn, flow=FLOW, stream=stream)


def entry_ids(database: Database) -> list[str]:
    with database.engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT id FROM ledger_entry ORDER BY id").all()
    return [row[0] for row in rows]


def visible_settlements(emulator: AmazonEmulator, now: dt.datetime) -> set[str]:
    """Settlement ids whose report getReports lists at ``now`` (created within 90 days)."""
    return {
        r.settlement.settlement_id
        for r in emulator.reports_api.reports
        if r.settlement is not None and now - dt.timedelta(days=90) <= r.created <= now
    }


def expected_status(emulator: AmazonEmulator, settlement_id: str) -> str:
    """What booking the seller's true settlement report with the default rules gives."""
    for header, lines in emulator.seller.settlements:
        if header.settlement_id == settlement_id:
            return book_settlement(header, lines, RULES).status
    raise KeyError(settlement_id)


class TokenBreaker(httpx.BaseTransport):
    """Lets the clock jump past the emulator's page-token lifetime before chosen paged calls,
    as a process stalled between two pages would; ``times`` bounds how often."""

    def __init__(
        self, inner: httpx.BaseTransport, clock: FakeClock, parameter: str, times: int
    ) -> None:
        self.inner, self.clock, self.parameter, self.times = inner, clock, parameter, times
        self.broken = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.parameter in request.url.params and self.broken < self.times:
            self.broken += 1
            self.clock.advance(601)  # paging tokens live 600 s in the emulator
        return self.inner.handle_request(request)


# -- settlements --------------------------------------------------------------------------------


def test_pull_books_every_listed_settlement_with_raw_copy_and_watermark(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    expected = visible_settlements(emulator, START)
    assert len(expected) >= 6

    result = pull_settlements(
        database, make_client(emulator, clock), flow=FLOW, rules=RULES, clock=clock
    )

    assert result.listed == len(expected)
    assert {r.settlement_id for r in result.results} == expected
    assert set(statuses(database)) == expected
    assert result.booked + result.waiting == len(expected) and result.booked >= 4
    assert raw_count(database, "settlement_report") == len(expected)
    assert database.ledger.count() >= 2 * result.booked  # settlement lines + payout, at least
    newest = max(
        (
            r
            for r in emulator.reports_api.reports
            if r.settlement is not None and r.settlement.settlement_id in expected
        ),
        key=lambda r: (r.created, r.report_id),
    )
    assert watermark(database, SETTLEMENTS_STREAM) == (
        f"{newest.created.strftime('%Y-%m-%dT%H:%M:%SZ')} {newest.report_id}"
    )
    # What was booked is what Amazon's file says: the payout entry carries each total.
    for header, _ in emulator.seller.settlements:
        if statuses(database).get(header.settlement_id) == BOOKED:
            payout = [
                e
                for e in database.ledger.entries_with_meta("settlement_id", header.settlement_id)
                if e.kind == "payout"
            ]
            assert len(payout) == 1
            assert (
                sum(p.amount for p in payout[0].postings if p.account.startswith("Assets:Bank"))
                == header.total_amount
            )


def test_a_flow_books_only_its_own_marketplaces_settlements(
    database: Database, clock: FakeClock
) -> None:
    """The seller sells in US and JP; a flow of the US marketplace books the USD settlements only."""
    emulator = make_emulator(clock)
    us = by_code("US").marketplace_id
    pulled = pull_settlements(
        database, make_client(emulator, clock), flow=FLOW, rules=RULES, clock=clock,
        marketplace_ids=[us],
    )  # fmt: skip
    currencies = {
        header.settlement_id: header.currency for header, _lines in emulator.seller.settlements
    }
    booked = set(statuses(database))
    assert pulled.listed == len(booked) > 0
    assert {currencies[sid] for sid in booked} == {"USD"}
    assert visible_settlements(emulator, START) - booked, "the JP settlements were left alone"


def test_second_pull_changes_nothing_and_downloads_nothing(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    client = make_client(emulator, clock)
    pull_settlements(database, client, flow=FLOW, rules=RULES, clock=clock)
    before = (
        database.ledger.count(),
        raw_count(database),
        statuses(database),
        watermark(database, SETTLEMENTS_STREAM),
    )
    downloads = emulator.requests_by_operation["getReportDocument"]

    again = pull_settlements(database, client, flow=FLOW, rules=RULES, clock=clock)

    after = (
        database.ledger.count(),
        raw_count(database),
        statuses(database),
        watermark(database, SETTLEMENTS_STREAM),
    )
    assert after == before
    assert emulator.requests_by_operation["getReportDocument"] == downloads
    assert again.booked == 0 and again.skipped_before_watermark == again.listed


@pytest.mark.parametrize("crash_at", [4, 7, 12, 17])
def test_crash_mid_pull_then_rerun_books_every_settlement_exactly_once(
    new_db_url: Callable[[], str], clock: FakeClock, crash_at: int
) -> None:
    reference = open_database(new_db_url())
    pull_settlements(
        reference,
        make_client(make_emulator(FakeClock(START)), FakeClock(START)),
        flow=FLOW,
        rules=RULES,
        clock=FakeClock(START),
    )

    database = open_database(new_db_url())
    emulator = make_emulator(clock)
    crashing = make_client(emulator, clock, lambda t: CrashingTransport(t, crash_at=crash_at))
    with pytest.raises(SimulatedCrash):
        pull_settlements(database, crashing, flow=FLOW, rules=RULES, clock=clock)
    # Nothing half-written: the watermark never runs ahead of the stored reports.
    mark = watermark(database, SETTLEMENTS_STREAM)
    assert raw_count(database, "settlement_report") == len(statuses(database))
    if mark is not None:
        covered = [
            r
            for r in emulator.reports_api.reports
            if r.settlement is not None
            and f"{r.created.strftime('%Y-%m-%dT%H:%M:%SZ')} {r.report_id}" <= mark
            and r.created >= START - dt.timedelta(days=90)
        ]
        assert {r.settlement.settlement_id for r in covered} <= set(statuses(database))  # type: ignore[union-attr]

    pull_settlements(database, make_client(emulator, clock), flow=FLOW, rules=RULES, clock=clock)

    assert entry_ids(database) == entry_ids(reference)
    assert statuses(database) == statuses(reference)
    assert raw_count(database, "settlement_report") == raw_count(reference, "settlement_report")


def test_refused_next_token_restarts_the_listing_from_the_watermark(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(clock)
    breaker: list[TokenBreaker] = []

    def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        breaker.append(TokenBreaker(inner, clock, "nextToken", times=1))
        return breaker[0]

    with caplog.at_level(logging.WARNING, logger="ml_connector.amazon.pull"):
        result = pull_settlements(
            database,
            make_client(emulator, clock, wrap),
            flow=FLOW,
            rules=RULES,
            clock=clock,
            page_size=3,
        )

    assert breaker[0].broken == 1 and result.restarts == 1
    assert any(
        "listing again from the last committed watermark" in r.getMessage() for r in caplog.records
    )
    assert set(statuses(database)) == visible_settlements(emulator, START)


def test_a_token_refused_again_and_again_fails_after_bounded_restarts(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    client = make_client(emulator, clock, lambda t: TokenBreaker(t, clock, "nextToken", times=100))
    with pytest.raises(PagingTokenExpired):
        pull_settlements(
            database, client, flow=FLOW, rules=RULES, clock=clock, page_size=3, max_restarts=2
        )
    assert statuses(database) == {}


def test_a_held_settlement_is_booked_from_the_raw_store_once_its_rule_exists(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    client = make_client(emulator, clock)
    without_storage = RuleTable(r for r in RULES if r.amount_description != "Storage Fee")
    first = pull_settlements(database, client, flow=FLOW, rules=without_storage, clock=clock)
    unmapped = {r.settlement_id for r in first.results if r.status == "unmapped"}
    assert unmapped
    downloads = emulator.requests_by_operation["getReportDocument"]

    second = pull_settlements(database, client, flow=FLOW, rules=RULES, clock=clock)

    assert {r.settlement_id for r in second.rebooked} == unmapped
    for rebooked in second.rebooked:  # booked, or held for what the missing rule had hidden
        assert rebooked.status == expected_status(emulator, rebooked.settlement_id)
    assert any(r.status == BOOKED for r in second.rebooked)
    assert emulator.requests_by_operation["getReportDocument"] == downloads


# -- backfill -----------------------------------------------------------------------------------


def test_events_of_every_closed_group_give_the_report_lines_to_the_cent(clock: FakeClock) -> None:
    emulator = make_emulator(clock, months=5)
    client = make_client(emulator, clock)
    truth = {(h.currency, h.start): (h, lines) for h, lines in emulator.seller.settlements}
    groups = [
        g
        for g in client.list_financial_event_groups(START - dt.timedelta(days=200))
        if g["ProcessingStatus"] == "Closed"
    ]
    assert len(groups) == len(truth)
    for group in groups:
        header, lines = settlement_from_events(
            group, client.list_financial_events_by_group(group["FinancialEventGroupId"])
        )
        report_header, report_lines = truth[(header.currency, header.start)]
        assert header.settlement_id == backfill_settlement_id(group["FinancialEventGroupId"])
        assert (header.end, header.deposit_date, header.total_amount) == (
            report_header.end,
            report_header.deposit_date,
            report_header.total_amount,
        )
        assert compare_lines(lines, report_lines) == []
        assert sum(line.amount for line in lines) == header.total_amount


def closed_group(**overrides: Any) -> dict[str, Any]:
    group = {
        "FinancialEventGroupId": "G1",
        "ProcessingStatus": "Closed",
        "OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": Decimal("10.00")},
        "BeginningBalance": {"CurrencyCode": "USD", "CurrencyAmount": Decimal("0.00")},
        "FinancialEventGroupStart": "2026-06-01T00:00:00Z",
        "FinancialEventGroupEnd": "2026-06-15T00:00:00Z",
        "FundTransferDate": "2026-06-16T00:00:00Z",
    }
    group.update(overrides)
    return group


def ads(amount: Any) -> dict[str, Any]:
    value = {"CurrencyCode": "USD", "CurrencyAmount": amount}
    return {"postedDate": "2026-06-02T00:00:00Z", "transactionValue": value}


def test_event_conversion_refuses_what_it_cannot_book_faithfully() -> None:
    with pytest.raises(UnsupportedEvents, match="G1.*ChargebackEventList"):
        settlement_from_events(closed_group(), [{"ChargebackEventList": [{"x": 1}]}])
    with pytest.raises(EventsIncomplete, match="events are missing"):
        settlement_from_events(
            closed_group(), [{"ProductAdsPaymentEventList": [ads(Decimal("-5.00"))]}]
        )
    with pytest.raises(InputError, match="not closed"):
        settlement_from_events(closed_group(ProcessingStatus="Open"), [])
    with pytest.raises(InputError, match=r"transactionValue\.CurrencyAmount"):
        settlement_from_events(closed_group(), [{"ProductAdsPaymentEventList": [ads("-5.001")]}])
    with pytest.raises(InputError, match=r"ProductAdsPaymentEventList\[0\]\.transactionValue"):
        settlement_from_events(
            closed_group(), [{"ProductAdsPaymentEventList": [ads(Decimal("-5.001"))]}]
        )


def test_event_conversion_derives_the_reserves_amazon_sends_no_event_for() -> None:
    group = closed_group(
        BeginningBalance={"CurrencyCode": "USD", "CurrencyAmount": Decimal("3.00")}
    )
    _, lines = settlement_from_events(
        group, [{"ProductAdsPaymentEventList": [ads(Decimal("20.00"))]}]
    )
    by_description = {line.amount_description: line.amount for line in lines}
    assert by_description == {
        "Previous Reserve Amount Balance": Decimal("3.00"),
        "TransactionTotalAmount": Decimal("20.00"),
        "Current Reserve Amount": Decimal("-13.00"),
    }


def test_backfill_books_old_settlements_and_a_late_report_books_nothing_twice(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock, months=5)
    client = make_client(emulator, clock)
    closed = emulator.seller.settlements
    visible = visible_settlements(emulator, START)
    assert len(closed) > len(visible)  # some settlements are beyond the 90 days of reports

    result = backfill(
        database, client, flow=FLOW, since=START - dt.timedelta(days=200), rules=RULES, clock=clock
    )

    # Each group books (or holds) exactly as its settlement report would.
    feg = {g.settlement_id: backfill_settlement_id(g.group_id) for g in emulator.seller.groups}
    for header, _ in closed:
        assert statuses(database)[feg[header.settlement_id]] == expected_status(
            emulator, header.settlement_id
        )
    assert result.booked + result.held == len(closed) and result.booked > len(closed) // 2
    assert result.open == 2 and result.covered_by_report == []
    entries = database.ledger.count()
    assert raw_count(database, "financial_events") == len(closed)

    # The reports of the last 90 days arrive: authoritative, compared, nothing booked twice.
    pulled = pull_settlements(database, client, flow=FLOW, rules=RULES, clock=clock)
    after = statuses(database)
    for sid in visible:
        if after[feg[sid]] == BOOKED:
            assert after[sid] == COVERED
            assert database.ledger.entries_with_meta("settlement_id", sid) == []
        else:  # the backfill held it: the report books (or holds) it as usual
            assert after[sid] == expected_status(emulator, sid)
    covered = [r for r in pulled.results if r.status == COVERED]
    assert covered and all(r.details["differences"] == [] for r in covered)
    assert database.ledger.count() == entries + sum(r.entries_written for r in pulled.results)
    with database.engine.begin() as conn:
        assert [a for a in list_alerts(conn, flow=FLOW) if a.kind == "reconciliation"] == []

    # An old settlement's report file arrives (downloaded from Seller Central): covered too,
    # and a copy that disagrees with the events is reported, not booked.
    old_header, old_lines = next(
        (h, lines)
        for h, lines in closed
        if h.settlement_id not in visible
        and statuses(database).get(backfill_settlement_id(group_of(emulator, h).group_id)) == BOOKED
    )
    same = book_settlement_report(
        database,
        flow=FLOW,
        document=v2_file(old_header, old_lines),
        source="file",
        rules=RULES,
        now=utcnow(clock),
    )
    assert same.status == COVERED and same.details["differences"] == []
    changed_line = old_lines[-1]
    wrong_lines = [
        *old_lines[:-1],
        dataclasses.replace(
            changed_line,
            amount=changed_line.amount - Decimal(1) * (1 if old_header.currency != "JPY" else 100),
        ),
    ]
    wrong_header = dataclasses.replace(
        old_header, total_amount=sum((line.amount for line in wrong_lines), Decimal(0))
    )
    differing = book_settlement_report(
        database,
        flow=FLOW,
        document=v2_file(wrong_header, wrong_lines),
        source="file v2",
        rules=RULES,
        now=utcnow(clock),
    )
    assert differing.status == COVERED and len(differing.details["differences"]) == 1
    assert database.ledger.count() == entries + sum(r.entries_written for r in pulled.results)
    with database.engine.begin() as conn:
        alerts = [a for a in list_alerts(conn, flow=FLOW) if a.kind == "reconciliation"]
    assert [a.key for a in alerts] == [old_header.settlement_id]
    assert alerts[0].details["differences"][0]["order_id"] == changed_line.order_id


def group_of(emulator: AmazonEmulator, header: SettlementHeader) -> Any:
    return next(g for g in emulator.seller.groups if g.settlement_id == header.settlement_id)


def v2_file(header: SettlementHeader, lines: list[SettlementLine]) -> bytes:
    text = io.StringIO()
    write_settlement_v2(header, lines, text)
    return text.getvalue().encode()


def test_backfill_skips_periods_whose_report_is_stored_and_reruns_change_nothing(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock, months=5)
    client = make_client(emulator, clock)
    pulled = pull_settlements(database, client, flow=FLOW, rules=RULES, clock=clock)

    first = backfill(
        database, client, flow=FLOW, since=START - dt.timedelta(days=200), rules=RULES, clock=clock
    )

    assert sorted(first.covered_by_report) == sorted(r.settlement_id for r in pulled.results)
    assert len(first.results) == len(emulator.seller.settlements) - pulled.listed
    # Every period is in the books exactly once: as its report or as its group.
    periods = [(h.currency, h.start) for h, _ in emulator.seller.settlements]
    assert len(statuses(database)) == len(periods)
    before = (database.ledger.count(), raw_count(database), statuses(database))

    again = backfill(
        database, client, flow=FLOW, since=START - dt.timedelta(days=200), rules=RULES, clock=clock
    )

    # Booked groups are skipped; held ones are tried again and held again, changing nothing.
    assert again.already_booked == first.booked
    assert [(r.settlement_id, r.status) for r in again.results] == [
        (r.settlement_id, r.status) for r in first.results if r.status != BOOKED
    ]
    assert (database.ledger.count(), raw_count(database), statuses(database)) == before


# -- orders -------------------------------------------------------------------------------------


def stored_orders(database: Database) -> dict[str, dict[str, Any]]:
    with database.engine.begin() as conn:
        return {
            r.amazon_id: jsoncodec.loads(r.body)
            for r in rawstore.latest_records(conn, flow=FLOW, kind="order")
        }


def test_pull_orders_stores_each_order_raw_and_moves_the_watermark(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(clock)
    client = make_client(emulator, clock)
    with caplog.at_level(logging.WARNING, logger="ml_connector.amazon.pull"):
        first = pull_orders(
            database,
            client,
            flow=FLOW,
            clock=clock,
            marketplace_ids=["ATVPDKIKX0DER"],
            since=START - dt.timedelta(days=3 * 365),
            page_size=5,
        )
    us_orders = {o.order_id for o in emulator.seller.orders if o.marketplace.code == "US"}
    assert set(stored_orders(database)) == us_orders
    assert first.stored == len(us_orders)
    skips = [r for r in caplog.records if "two years" in r.getMessage()]
    assert len(skips) == 1
    assert watermark(database, ORDERS_STREAM) == first.watermark
    one = next(iter(stored_orders(database).values()))
    assert isinstance(one["orderId"], str)

    again = pull_orders(database, client, flow=FLOW, clock=clock, marketplace_ids=["ATVPDKIKX0DER"])
    assert again.stored == 0 and again.windows == 1
    assert raw_count(database, "order") == len(us_orders)


def test_pull_orders_asks_the_sellers_marketplaces_and_restarts_a_refused_token(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock, orders=40)
    client = make_client(
        emulator, clock, lambda t: TokenBreaker(t, clock, "paginationToken", times=1)
    )
    result = pull_orders(
        database,
        client,
        flow=FLOW,
        clock=clock,
        since=START - dt.timedelta(days=90),
        window=dt.timedelta(days=120),
        page_size=4,
    )
    assert result.restarts == 1
    assert set(stored_orders(database)) == {o.order_id for o in emulator.seller.orders}
    assert raw_count(database, "order") == len(emulator.seller.orders)


def test_crash_mid_orders_then_rerun_stores_each_order_once(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    crashing = make_client(emulator, clock, lambda t: CrashingTransport(t, crash_at=6))
    since = START - dt.timedelta(days=90)
    with pytest.raises(SimulatedCrash):
        pull_orders(
            database,
            crashing,
            flow=FLOW,
            clock=clock,
            since=since,
            window=dt.timedelta(days=10),
            page_size=3,
        )
    mark = watermark(database, ORDERS_STREAM)
    assert mark is not None  # some windows were committed before the crash
    pull_orders(
        database, make_client(emulator, clock), flow=FLOW, clock=clock, since=since, page_size=3
    )
    assert set(stored_orders(database)) == {o.order_id for o in emulator.seller.orders}
    assert raw_count(database, "order") == len(emulator.seller.orders)


# -- created reports ----------------------------------------------------------------------------


def test_created_report_wait_resumes_across_runs_without_asking_twice(
    database: Database, clock: FakeClock
) -> None:
    emulator = make_emulator(clock)
    client = make_client(emulator, clock)
    args: dict[str, Any] = {
        "flow": FLOW,
        "report_type": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "marketplace_ids": ["ATVPDKIKX0DER"],
        "clock": clock,
        "data_start": START - dt.timedelta(days=30),
        "data_end": START - dt.timedelta(days=1),
    }

    waiting = pull_report(database, client, max_wait_seconds=10, poll_seconds=5, **args)
    assert waiting.status in ("IN_QUEUE", "IN_PROGRESS") and not waiting.stored
    with database.engine.begin() as conn:
        rows = conn.execute(select(_REQUESTS)).all()
    assert [(r.report_id, r.status) for r in rows] == [(waiting.report_id, waiting.status)]

    done = pull_report(database, client, max_wait_seconds=600, poll_seconds=30, **args)
    assert done.resumed and done.report_id == waiting.report_id
    assert done.status == "DONE" and done.stored and done.size > 0
    assert emulator.requests_by_operation["createReport"] == 1
    assert raw_count(database, "report:GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL") == 1

    fresh = pull_report(database, client, max_wait_seconds=600, **args)
    assert not fresh.resumed and fresh.report_id != waiting.report_id
    assert emulator.requests_by_operation["createReport"] == 2
