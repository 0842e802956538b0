"""Reports: bounded, resumable waiting on the clock; documents downloaded and gunzipped."""

from __future__ import annotations

import datetime as dt
import gzip

import httpx
import pytest
from spapi_contract import build_client, json_response

from ml_connector.core.amazon.client import SETTLEMENT_REPORT_TYPE
from ml_connector.core.amazon.errors import ReportNotRequestable, ReportWaitTimeout
from ml_connector.core.emulation.clock import FakeClock
from ml_connector.core.errors import InputError, RemoteError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DOC_URL = "https://tortuga-prod-na.s3-external-1.amazonaws.com/doc-1?X-Amz-Signature=abc"
CONTENT = b"settlement-id\ttotal-amount\n123\t95.00\n"


def report(status: str) -> dict[str, object]:
    body: dict[str, object] = {
        "reportId": "R1",
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "createdTime": "2026-03-01T11:00:00Z",
        "processingStatus": status,
    }
    if status == "DONE":
        body["reportDocumentId"] = "DOC-1"
    return body


def polling(statuses: list[str]):  # type: ignore[no-untyped-def]
    queue = list(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        return json_response(200, report(queue.pop(0) if len(queue) > 1 else queue[0]))

    return handle


def test_wait_for_report_polls_on_the_clock_until_done() -> None:
    clock = FakeClock(NOW)
    client, wire, _ = build_client(polling(["IN_QUEUE", "IN_PROGRESS", "DONE"]), clock)
    final = client.wait_for_report("R1", max_wait_seconds=600, poll_seconds=30)
    assert final["processingStatus"] == "DONE"
    assert wire.sp_api_calls() == ["getReport"] * 3
    assert clock.slept == [30, 30]


@pytest.mark.parametrize("terminal", ["FATAL", "CANCELLED"])
def test_wait_for_report_returns_other_final_states(terminal: str) -> None:
    client, _, _ = build_client(polling(["IN_PROGRESS", terminal]), FakeClock(NOW))
    assert client.wait_for_report("R1", max_wait_seconds=600)["processingStatus"] == terminal


def test_wait_for_report_times_out_resumably_and_resumes() -> None:
    clock = FakeClock(NOW)
    statuses = ["IN_PROGRESS"] * 4 + ["DONE"]
    client, wire, _ = build_client(polling(statuses), clock)
    with pytest.raises(ReportWaitTimeout) as caught:
        client.wait_for_report("R1", max_wait_seconds=70, poll_seconds=30)
    error = caught.value
    assert (error.report_id, error.status) == ("R1", "IN_PROGRESS")
    assert "resume" in str(error) and "R1" in str(error)
    assert sum(clock.slept) == 70  # never waits past the bound
    assert wire.sp_api_calls() == ["getReport"] * 4  # 0 s, 30 s, 60 s, 70 s
    # Later, the stored id is all the caller needs.
    assert client.wait_for_report("R1", max_wait_seconds=70)["processingStatus"] == "DONE"
    assert wire.sp_api_calls().count("createReport") == 0


def test_settlement_reports_cannot_be_created() -> None:
    client, wire, _ = build_client(polling(["DONE"]), FakeClock(NOW))
    with pytest.raises(ReportNotRequestable) as caught:
        client.create_report(SETTLEMENT_REPORT_TYPE, ["ATVPDKIKX0DER"])
    assert isinstance(caught.value, InputError)
    assert "get_reports" in str(caught.value)
    assert caught.value.value == SETTLEMENT_REPORT_TYPE
    assert wire.calls == []


def documents(*payloads: tuple[int, bytes], compression: str | None = "GZIP"):  # type: ignore[no-untyped-def]
    """getReportDocument metadata, then the presigned URL answering ``payloads`` in turn."""
    downloads = list(payloads)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host.endswith("amazonaws.com"):
            status, content = downloads.pop(0)
            return httpx.Response(status, content=content)
        body = {"reportDocumentId": "DOC-1", "url": DOC_URL}
        if compression:
            body["compressionAlgorithm"] = compression
        return json_response(200, body)

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def test_gzip_document_is_downloaded_without_token_and_decompressed() -> None:
    handler = documents((200, gzip.compress(CONTENT)))
    client, wire, _ = build_client(handler, FakeClock(NOW))
    assert client.download_report_document("DOC-1") == CONTENT
    assert wire.calls == ["lwa", "getReportDocument", "download"]
    download = handler.seen[-1]  # type: ignore[attr-defined]
    assert "x-amz-access-token" not in download.headers


def test_uncompressed_document_is_returned_as_is() -> None:
    client, _, _ = build_client(documents((200, CONTENT), compression=None), FakeClock(NOW))
    assert client.download_report_document("DOC-1") == CONTENT


def test_expired_presigned_url_is_fetched_again_once() -> None:
    handler = documents((403, b"<Error>Request has expired</Error>"), (200, gzip.compress(CONTENT)))
    client, wire, _ = build_client(handler, FakeClock(NOW))
    assert client.download_report_document("DOC-1") == CONTENT
    assert wire.calls == ["lwa", "getReportDocument", "download", "getReportDocument", "download"]


def test_corrupt_gzip_is_a_remote_error() -> None:
    client, _, _ = build_client(documents((200, b"\x1f\x8bnot really gzip")), FakeClock(NOW))
    with pytest.raises(RemoteError, match="not valid gzip"):
        client.download_report_document("DOC-1")


def test_server_side_content_encoding_already_undone_by_httpx() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith("amazonaws.com"):
            return httpx.Response(
                200, content=gzip.compress(CONTENT), headers={"content-encoding": "gzip"}
            )
        return json_response(
            200, {"reportDocumentId": "DOC-1", "url": DOC_URL, "compressionAlgorithm": "GZIP"}
        )

    client, _, _ = build_client(handle, FakeClock(NOW))
    assert client.download_report_document("DOC-1") == CONTENT


def test_create_report_sends_the_specification() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(202, {"reportId": "R9"})

    client, _, _ = build_client(handle, FakeClock(NOW))
    report_id = client.create_report(
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        ["ATVPDKIKX0DER"],
        data_start_time=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        data_end_time=dt.datetime(2026, 2, 2, 0, 0, 0, 500_000, tzinfo=dt.UTC),
    )
    assert report_id == "R9"
    assert seen[0].content == (
        b'{"reportType":"GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",'
        b'"marketplaceIds":["ATVPDKIKX0DER"],"dataStartTime":"2026-02-01T00:00:00Z",'
        b'"dataEndTime":"2026-02-02T00:00:00.500Z"}'
    )
