"""Reports 2021-06-30: listing rules, lifecycle, retention and presigned documents."""

from __future__ import annotations

import datetime as dt
import gzip
import io

import httpx
import pytest
from emulator_session import START, Session, body, error_codes

from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.emulator.wire import iso
from ml_connector.core.amazon.settlement_file import open_settlement_file
from ml_connector.core.emulation import FakeClock

REPORTS = "/reports/2021-06-30/reports"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
US = "ATVPDKIKX0DER"


def create(session: Session, report_type: str = ORDERS_REPORT, **spec: object) -> httpx.Response:
    payload = {"reportType": report_type, "marketplaceIds": [US], **spec}
    return session.send_json("POST", REPORTS, payload)


def status_of(session: Session, report_id: str) -> dict:
    response = session.get(f"{REPORTS}/{report_id}")
    assert response.status_code == 200
    return body(response)


def test_settlement_reports_exist_one_per_closed_settlement(
    session: Session, emulator: AmazonEmulator
) -> None:
    found, token = [], None
    params: dict[str, str] = {"reportTypes": SETTLEMENT, "pageSize": "4"}
    while True:
        response = session.get(REPORTS, params={"nextToken": token} if token else params)
        assert response.status_code == 200
        page = body(response)
        found.extend(page["reports"])
        token = page.get("nextToken")
        if not token:
            break
    assert len(found) == len(emulator.seller.settlements)
    assert all(r["processingStatus"] == "DONE" and r["reportDocumentId"] for r in found)
    ends = {iso(h.end) for h, _ in emulator.seller.settlements}
    assert {r["dataEndTime"] for r in found} == ends
    default_page = body(session.get(REPORTS, params={"reportTypes": SETTLEMENT}))
    assert len(default_page["reports"]) == 10


@pytest.mark.parametrize(
    "params",
    [
        {"nextToken": "anything", "pageSize": "5"},
        {"nextToken": "anything", "reportTypes": SETTLEMENT},
    ],
)
def test_next_token_must_be_the_only_parameter(session: Session, params: dict[str, str]) -> None:
    response = session.get(REPORTS, params=params)
    assert response.status_code == 400
    assert "only parameter" in body(response)["errors"][0]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"reportTypes": ",".join(f"GET_TYPE_{n}" for n in range(11))},
        {"reportTypes": SETTLEMENT, "pageSize": "0"},
        {"reportTypes": SETTLEMENT, "pageSize": "101"},
        {"reportTypes": SETTLEMENT, "processingStatuses": "FINISHED"},
        {"reportTypes": SETTLEMENT, "createdSince": iso(START - dt.timedelta(days=92))},
    ],
)
def test_get_reports_parameter_rules(session: Session, params: dict[str, str]) -> None:
    assert session.get(REPORTS, params=params).status_code == 400


def test_settlement_reports_cannot_be_requested(session: Session) -> None:
    response = create(session, SETTLEMENT)
    assert response.status_code == 400
    assert "cannot be requested" in body(response)["errors"][0]["message"]


def test_a_requested_report_moves_through_its_lifecycle(
    session: Session, clock: FakeClock, emulator: AmazonEmulator
) -> None:
    response = create(session, dataStartTime="2026-09-01T00:00:00Z")
    assert response.status_code == 202
    report_id = body(response)["reportId"]
    assert status_of(session, report_id)["processingStatus"] == "IN_QUEUE"
    clock.advance(30)
    started = status_of(session, report_id)
    assert started["processingStatus"] == "IN_PROGRESS"
    assert "reportDocumentId" not in started
    clock.advance(60)
    done = status_of(session, report_id)
    assert done["processingStatus"] == "DONE"
    document = body(session.get(f"/reports/2021-06-30/documents/{done['reportDocumentId']}"))
    assert document["compressionAlgorithm"] == "GZIP"
    content = gzip.decompress(session.http.get(document["url"]).content).decode()
    rows = content.splitlines()
    assert rows[0].startswith("amazon-order-id\t")
    expected = {
        o.order_id
        for o in emulator.seller.orders
        if o.marketplace.marketplace_id == US
        and o.created >= dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    }
    assert {row.split("\t")[0] for row in rows[1:]} == expected
    listed = body(
        session.get(REPORTS, params={"reportTypes": ORDERS_REPORT, "processingStatuses": "DONE"})
    )
    assert [r["reportId"] for r in listed["reports"]] == [report_id]


def test_a_report_without_data_is_cancelled(session: Session, clock: FakeClock) -> None:
    report_id = body(create(session, dataStartTime="2026-09-30T23:59:00Z"))["reportId"]
    clock.advance(120)
    finished = status_of(session, report_id)
    assert finished["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in finished


def test_a_seeded_fault_makes_the_report_fatal(clock: FakeClock) -> None:
    session = Session(
        AmazonEmulator(seed=1, orders=40, clock=clock, rate_multiplier=10_000, fatal_reports=1000),
        clock,
        tick=0.01,
    )
    report_id = body(create(session, dataStartTime="2026-08-01T00:00:00Z"))["reportId"]
    clock.advance(120)
    assert status_of(session, report_id)["processingStatus"] == "FATAL"


def test_only_queued_reports_can_be_cancelled(session: Session, clock: FakeClock) -> None:
    queued = body(create(session))["reportId"]
    cancelled = session.delete(f"{REPORTS}/{queued}")
    assert cancelled.status_code == 200
    assert status_of(session, queued)["processingStatus"] == "CANCELLED"
    running = body(create(session))["reportId"]
    clock.advance(45)
    refused = session.delete(f"{REPORTS}/{running}")
    assert refused.status_code == 400
    assert session.delete(f"{REPORTS}/999").status_code == 404


@pytest.mark.parametrize(
    "spec",
    [
        {"reportType": ORDERS_REPORT},
        {"reportType": ORDERS_REPORT, "marketplaceIds": []},
        {"reportType": ORDERS_REPORT, "marketplaceIds": ["NOPE"]},
        {"reportType": "not a type", "marketplaceIds": [US]},
        {"reportType": ORDERS_REPORT, "marketplaceIds": [US], "dataStartTime": "2030-01-01"},
        {"reportType": ORDERS_REPORT, "marketplaceIds": [US], "reportOptions": {"x": 1}},
    ],
)
def test_create_report_validates_its_body(session: Session, spec: dict) -> None:
    response = session.send_json("POST", REPORTS, spec)
    assert response.status_code == 400
    assert error_codes(response) == ["InvalidInput"]


def test_create_report_needs_a_json_body(session: Session) -> None:
    response = session.post(
        REPORTS, content=b"reportType=x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415


def test_reports_are_retained_for_90_days(
    session: Session, clock: FakeClock, emulator: AmazonEmulator
) -> None:
    oldest = min(emulator.seller.groups, key=lambda g: g.end)
    assert status_of(session, oldest.report_id)["processingStatus"] == "DONE"
    clock.advance((oldest.end + dt.timedelta(days=91) - START).total_seconds())
    session.login()
    assert session.get(f"{REPORTS}/{oldest.report_id}").status_code == 404
    listed = body(session.get(REPORTS, params={"reportTypes": SETTLEMENT, "pageSize": "100"}))
    assert oldest.report_id not in {r["reportId"] for r in listed["reports"]}


def test_the_document_url_expires_after_five_minutes(
    session: Session, clock: FakeClock, emulator: AmazonEmulator
) -> None:
    report_id = body(create(session, dataStartTime="2026-09-01T00:00:00Z"))["reportId"]
    clock.advance(100)
    document_id = status_of(session, report_id)["reportDocumentId"]
    url = body(session.get(f"/reports/2021-06-30/documents/{document_id}"))["url"]
    assert url.startswith("https://sellingpartnerapi-na.amazon.com/_documents/")
    assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url
    clock.advance(299)  # the signature time is whole seconds; stay just inside the window
    assert session.http.get(url).status_code == 200
    clock.advance(2)
    expired = session.http.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert session.http.get(tampered).status_code == 403


def test_content_encoding_header_lets_clients_inflate_transparently(
    session: Session, clock: FakeClock
) -> None:
    report_id = body(create(session, dataStartTime="2026-09-01T00:00:00Z"))["reportId"]
    clock.advance(100)
    document_id = status_of(session, report_id)["reportDocumentId"]
    document = body(
        session.get(
            f"/reports/2021-06-30/documents/{document_id}",
            params={"enableContentEncodingUrlHeader": "true"},
        )
    )
    download = session.http.get(document["url"])
    assert download.headers["content-encoding"] == "gzip"
    assert download.text.startswith("amazon-order-id\t")


def test_an_unknown_document_is_a_404(session: Session) -> None:
    assert session.get("/reports/2021-06-30/documents/amzn1.spdoc.none").status_code == 404


def test_the_settlement_document_is_the_v2_flat_file(
    session: Session, emulator: AmazonEmulator
) -> None:
    header, lines = emulator.seller.settlements[0]
    group = next(g for g in emulator.seller.groups if g.settlement_id == header.settlement_id)
    document = body(session.get(f"/reports/2021-06-30/documents/{group.document_id}"))
    assert "compressionAlgorithm" not in document
    text = session.http.get(document["url"]).text
    rows = text.splitlines()
    assert rows[0].split("\t")[:3] == [
        "settlement-id",
        "settlement-start-date",
        "settlement-end-date",
    ]
    assert len(rows) == 2 + len(lines)
    assert all(row.split("\t")[0] == header.settlement_id for row in rows[1:])


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY"])
def test_the_served_settlement_reads_back_as_the_truth(
    session: Session, emulator: AmazonEmulator, currency: str
) -> None:
    group = next(g for g in emulator.seller.groups if g.closed and g.currency == currency)
    truth_header, truth_lines = next(
        (h, lines)
        for h, lines in emulator.seller.settlements
        if h.settlement_id == group.settlement_id
    )
    url = body(session.get(f"/reports/2021-06-30/documents/{group.document_id}"))["url"]
    with open_settlement_file(io.BytesIO(session.http.get(url).content)) as report:
        header = report.header
        lines = list(report)
    assert header is not None
    assert (header.settlement_id, header.total_amount, header.currency) == (
        truth_header.settlement_id,
        truth_header.total_amount,
        truth_header.currency,
    )
    assert [(x.combination, x.amount, x.order_id) for x in lines] == [
        (x.combination, x.amount, x.order_id) for x in truth_lines
    ]
