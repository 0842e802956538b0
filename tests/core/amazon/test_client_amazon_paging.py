"""Paging and windows: tokens passed as each model says, 180-day chunks, two-year clamp."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest
from spapi_contract import build_client, error_response, json_response, parse_instant

from ml_connector.core.amazon.errors import PagingTokenExpired
from ml_connector.core.emulation.clock import FakeClock
from ml_connector.core.errors import InputError, RemoteError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
US = "ATVPDKIKX0DER"
JP = "A1VC38T7YXB528"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


class Recorder:
    """A handler answering from a function of the request, keeping every request it saw."""

    def __init__(self, answer) -> None:  # type: ignore[no-untyped-def]
        self.answer = answer
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answer(request)

    def queries(self) -> list[dict[str, str]]:
        return [query_of(r) for r in self.seen]


def order(order_id: str) -> dict[str, object]:
    return {"orderId": order_id, "createdTime": "2026-02-01T00:00:00Z"}


def test_search_orders_pages_with_pagination_token_and_same_arguments() -> None:
    pages = {
        None: {"orders": [order("111-0000001-0000001")], "pagination": {"nextToken": "t2"}},
        "t2": {"orders": [], "pagination": {"nextToken": "t3"}},
        "t3": {"orders": [order("111-0000001-0000002"), order("111-0000001-0000003")]},
    }
    amazon = Recorder(lambda r: json_response(200, pages[query_of(r).get("paginationToken")]))
    client, wire, _ = build_client(amazon, FakeClock(NOW))
    ids = [
        o["orderId"]
        for o in client.search_orders(
            [US], last_updated_after=utc(2026, 2, 1), included_data=["PROCEEDS"]
        )
    ]
    assert ids == ["111-0000001-0000001", "111-0000001-0000002", "111-0000001-0000003"]
    first, second, third = amazon.queries()
    assert "paginationToken" not in first
    assert second == {**first, "paginationToken": "t2"}
    assert third == {**first, "paginationToken": "t3"}
    assert first["lastUpdatedAfter"] == "2026-02-01T00:00:00Z"
    assert first["marketplaceIds"] == US
    assert wire.sp_api_calls() == ["searchOrders"] * 3


def test_search_orders_pulls_a_late_before_bound_back_two_minutes() -> None:
    amazon = Recorder(lambda r: json_response(200, {"orders": []}))
    client, _, _ = build_client(amazon, FakeClock(NOW))
    list(client.search_orders([US], last_updated_after=utc(2026, 2, 1), last_updated_before=NOW))
    before = parse_instant(amazon.queries()[0]["lastUpdatedBefore"])
    assert before is not None and before <= NOW - dt.timedelta(minutes=2)


def test_search_orders_needs_exactly_one_after_bound() -> None:
    client, wire, _ = build_client(Recorder(lambda r: json_response(200, {})), FakeClock(NOW))
    with pytest.raises(InputError, match="exactly one"):
        list(client.search_orders([US]))
    with pytest.raises(InputError, match="exactly one"):
        list(
            client.search_orders(
                [US], created_after=utc(2026, 1, 1), last_updated_after=utc(2026, 1, 1)
            )
        )
    with pytest.raises(InputError, match="naive|zone"):
        list(client.search_orders([US], created_after=dt.datetime(2026, 1, 1)))
    assert wire.calls == []


def test_two_year_clamp_outside_jp_au_sg_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    amazon = Recorder(lambda r: json_response(200, {"orders": []}))
    client, _, _ = build_client(amazon, FakeClock(NOW))
    with caplog.at_level(logging.WARNING, logger="ml_connector.amazon"):
        list(client.search_orders([US], last_updated_after=utc(2020, 1, 1)))
        list(client.search_orders([US], created_after=utc(2019, 6, 1)))
    floor = utc(2024, 3, 1, 12, 0)  # two calendar years before NOW
    for q in amazon.queries():
        start = parse_instant(q.get("lastUpdatedAfter") or q["createdAfter"])
        assert start is not None and start > floor
    skips = [r for r in caplog.records if "two years" in r.getMessage()]
    assert len(skips) == 1


def test_window_entirely_beyond_two_years_asks_nothing() -> None:
    amazon = Recorder(lambda r: json_response(200, {"orders": []}))
    client, wire, _ = build_client(amazon, FakeClock(NOW))
    found = list(
        client.search_orders([US], created_after=utc(2020, 1, 1), created_before=utc(2021, 1, 1))
    )
    assert found == [] and wire.calls == []


def test_jp_keeps_its_long_history() -> None:
    amazon = Recorder(lambda r: json_response(200, {"orders": []}))
    client, _, _ = build_client(amazon, FakeClock(NOW))
    list(client.search_orders([JP], created_after=utc(2017, 1, 1)))
    assert amazon.queries()[0]["createdAfter"] == "2017-01-01T00:00:00Z"


def test_get_reports_passes_next_token_alone() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        token = query_of(request).get("nextToken")
        if token is None:
            return json_response(200, {"reports": [{"reportId": "1"}], "nextToken": "n2"})
        return json_response(200, {"reports": [{"reportId": "2"}]})

    amazon = Recorder(answer)
    client, wire, _ = build_client(amazon, FakeClock(NOW))
    found = client.get_reports(
        ["GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"],
        processing_statuses=["DONE"],
        created_since=utc(2026, 1, 1),
        page_size=100,
    )
    assert [r["reportId"] for r in found] == ["1", "2"]
    first, second = amazon.queries()
    assert first["reportTypes"] == "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
    assert second == {"nextToken": "n2"}
    assert wire.sp_api_calls() == ["getReports", "getReports"]


def group(group_id: str) -> dict[str, object]:
    return {
        "FinancialEventGroupId": group_id,
        "OriginalTotal": {"CurrencyCode": "USD", "CurrencyAmount": Decimal("1.10")},
    }


def test_finance_pages_repeat_arguments_and_tolerate_empty_pages() -> None:
    pages = {
        None: {"payload": {"FinancialEventGroupList": [group("g1")], "NextToken": "a"}},
        "a": {"payload": {"FinancialEventGroupList": [], "NextToken": "b"}},
        "b": {"payload": {"NextToken": "c"}},
        "c": {"payload": {"FinancialEventGroupList": [group("g2")]}},
    }
    amazon = Recorder(lambda r: json_response(200, pages[query_of(r).get("NextToken")]))
    client, _, _ = build_client(amazon, FakeClock(NOW))
    found = list(client.list_financial_event_groups(utc(2026, 1, 1), utc(2026, 2, 1)))
    assert [g["FinancialEventGroupId"] for g in found] == ["g1", "g2"]
    queries = amazon.queries()
    base = queries[0]
    assert [q.pop("NextToken", None) for q in queries] == [None, "a", "b", "c"]
    assert all(q == base for q in queries)


def test_financial_events_split_into_180_day_chunks() -> None:
    amazon = Recorder(
        lambda r: json_response(200, {"payload": {"FinancialEvents": {"ShipmentEventList": []}}})
    )
    client, _, _ = build_client(amazon, FakeClock(NOW))
    start, end = utc(2025, 1, 1), utc(2026, 1, 1)  # 365 days: three chunks
    assert list(client.list_financial_events(start, end)) == []  # empty pages yield nothing
    windows = [
        (parse_instant(q["PostedAfter"]), parse_instant(q["PostedBefore"]))
        for q in amazon.queries()
    ]
    assert windows[0][0] == start and windows[-1][1] == end
    for (_a, b), (next_a, _) in zip(windows, windows[1:], strict=False):
        assert b == next_a  # contiguous, no gap, no overlap
    assert all(b - a <= dt.timedelta(days=180) for a, b in windows)
    assert len(windows) == 3


def test_financial_events_without_end_stop_two_minutes_before_now() -> None:
    amazon = Recorder(lambda r: json_response(200, {"payload": {}}))
    client, _, _ = build_client(amazon, FakeClock(NOW))
    list(client.list_financial_events(NOW - dt.timedelta(days=10)))
    (q,) = amazon.queries()
    before = parse_instant(q["PostedBefore"])
    assert before is not None and before <= NOW - dt.timedelta(minutes=2)


def test_events_by_group_without_window_sends_no_dates() -> None:
    events = {"ShipmentEventList": [{"AmazonOrderId": "111-0000001-0000001"}]}
    amazon = Recorder(lambda r: json_response(200, {"payload": {"FinancialEvents": events}}))
    client, wire, _ = build_client(amazon, FakeClock(NOW))
    assert list(client.list_financial_events_by_group("G-1")) == [events]
    assert amazon.queries() == [{}]
    assert amazon.seen[0].url.path == "/finances/v0/financialEventGroups/G-1/financialEvents"
    with pytest.raises(InputError, match="posted_after"):
        list(client.list_financial_events_by_group("G-1", posted_before=utc(2026, 1, 1)))
    assert wire.sp_api_calls() == ["listFinancialEventsByGroupId"]


def test_refused_next_token_raises_paging_token_expired() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "NextToken" in query_of(request):
            return error_response(400, "InvalidInput", "Invalid NextToken")
        return json_response(
            200, {"payload": {"FinancialEventGroupList": [group("g1")], "NextToken": "old"}}
        )

    client, _, _ = build_client(Recorder(answer), FakeClock(NOW))
    groups = client.list_financial_event_groups(utc(2026, 1, 1), utc(2026, 2, 1))
    assert next(groups)["FinancialEventGroupId"] == "g1"
    with pytest.raises(PagingTokenExpired) as caught:
        next(groups)
    assert isinstance(caught.value, RemoteError)
    assert (caught.value.status, caught.value.code) == (400, "InvalidInput")
    assert caught.value.operation == "listFinancialEventGroups"


def test_400_on_a_first_page_is_a_plain_remote_error() -> None:
    client, _, _ = build_client(
        Recorder(lambda r: error_response(400, "InvalidInput", "Date range is invalid.")),
        FakeClock(NOW),
    )
    with pytest.raises(RemoteError) as caught:
        list(client.list_financial_event_groups(utc(2026, 1, 1)))
    assert not isinstance(caught.value, PagingTokenExpired)


def test_expired_pagination_token_on_orders() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "paginationToken" in query_of(request):
            return error_response(400, "InvalidInput", "Invalid pagination token")
        return json_response(200, {"orders": [], "pagination": {"nextToken": "stale"}})

    client, _, _ = build_client(Recorder(answer), FakeClock(NOW))
    with pytest.raises(PagingTokenExpired):
        list(client.search_orders([US], last_updated_after=utc(2026, 2, 1)))
