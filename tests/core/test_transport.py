from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ml_connector.core import jsoncodec
from ml_connector.core.transport import (
    REDACTED,
    CountingTransport,
    CrashingTransport,
    RecordingTransport,
    SimulatedCrash,
)

SECRET = "sk-live-0123456789abcdef"


def _echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def test_recording_writes_one_file_per_request_in_send_order_with_secrets_redacted(
    tmp_path: Path,
) -> None:
    recorder = RecordingTransport(httpx.MockTransport(_echo), tmp_path, secrets=lambda: [SECRET])
    with httpx.Client(transport=recorder) as client:
        client.post(
            "https://api.example/Invoices?x=1",
            content=jsoncodec.dumps({"Amount": Decimal("12.30"), "Note": f"token {SECRET}"}),
            headers={"authorization": f"Bearer {SECRET}", "content-type": "application/json"},
        )
        client.post(
            "https://id.example/token",
            data={"grant_type": "refresh_token", "refresh_token": SECRET},
        )
    files = sorted(tmp_path.glob("*.json"))
    assert [f.name[:6] for f in files] == ["000001", "000002"]
    text = "".join(f.read_text() for f in files)
    assert SECRET not in text
    first = jsoncodec.loads(files[0].read_text())
    assert first["method"] == "POST"
    assert first["headers"]["authorization"] == REDACTED
    assert first["body"]["Amount"] == Decimal("12.30")
    assert '"Amount": 12.30' in files[0].read_text(), "numbers are written exactly as sent"
    second = jsoncodec.loads(files[1].read_text())
    assert second["body"] == {"grant_type": "refresh_token", "refresh_token": REDACTED}


def test_counting_counts_every_call() -> None:
    counting = CountingTransport(httpx.MockTransport(_echo))
    with httpx.Client(transport=counting) as client:
        for _ in range(3):
            client.get("https://api.example/")
    assert counting.calls == 3


@pytest.mark.parametrize("after_apply", [False, True])
def test_crash_happens_once_at_the_chosen_call_before_or_after_the_service_applied_it(
    after_apply: bool,
) -> None:
    seen: list[str] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(201)

    crashing = CrashingTransport(httpx.MockTransport(service), crash_at=2, after_apply=after_apply)
    with httpx.Client(transport=crashing) as client:
        client.post("https://api.example/a")
        with pytest.raises(SimulatedCrash):
            client.post("https://api.example/b")
        client.post("https://api.example/c")
    assert seen == (["/a", "/b", "/c"] if after_apply else ["/a", "/c"])
    assert not isinstance(SimulatedCrash("x"), Exception), (
        "no 'except Exception' may swallow a kill"
    )
