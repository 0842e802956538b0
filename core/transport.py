"""httpx transports the engine layers over a target: counting, recording, and simulated crashes.

Every request to a target goes through one ``httpx.Client`` whose transport is built here:

- :class:`CountingTransport` counts calls (the demo's "API calls" figure);
- :class:`RecordingTransport` writes each request as ``{"method", "url", "headers", "body"}``, one
  JSON file per request named so that sorting by name gives send order, secrets redacted: the
  format of ``--dry-run --out DIR`` and ``--record DIR``;
- :class:`CrashingTransport` kills the process-in-miniature at a chosen call, before the request
  reaches the service or after it was applied (the answer lost), which is how the tests prove
  that a killed push resumes without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from ml_connector.core import jsoncodec

REDACTED = "***"
SECRET_HEADERS = {"authorization", "x-amz-access-token", "proxy-authorization", "cookie"}
SECRET_FORM_FIELDS = {
    "client_secret",
    "refresh_token",
    "access_token",
    "code",
    "password",
    "client_assertion",
}


class SimulatedCrash(BaseException):
    """Raised by :class:`CrashingTransport` to stand for the process being killed.

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` in the engine or a plugin
    can swallow it: the code under test stops exactly where a real kill would stop it.
    """


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self.inner.handle_request(request)


def parsed_body(request: httpx.Request) -> Any:
    """The body as sent, parsed: JSON (GraphQL's ``{"query", "variables"}`` included), form, or text."""
    content = request.content
    if not content:
        return None
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or content[:1] in (b"{", b"["):
        try:
            return jsoncodec.loads(content)
        except ValueError:
            pass
    if "x-www-form-urlencoded" in content_type:
        return dict(httpx.QueryParams(content.decode()))
    return content.decode("utf-8", errors="replace")


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every known secret, and every secret-named form field, replaced by ***."""
    known = [s for s in secrets if s and len(s) >= 6]
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and k.lower() in SECRET_FORM_FIELDS
                else redact(v, known)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, known) for v in value]
    return value


def request_record(request: httpx.Request, secrets: Iterable[str] = ()) -> dict[str, Any]:
    secret_list = list(secrets)
    headers = {
        k: (REDACTED if k.lower() in SECRET_HEADERS else redact(v, secret_list))
        for k, v in request.headers.items()
    }
    return {
        "method": request.method,
        "url": redact(str(request.url), secret_list),
        "headers": headers,
        "body": redact(parsed_body(request), secret_list),
    }


class RecordingTransport(httpx.BaseTransport):
    """Writes every request to ``directory`` (``000001-POST-Invoices.json``...), then forwards it."""

    def __init__(
        self, inner: httpx.BaseTransport, directory: Path, secrets: Callable[[], Iterable[str]]
    ) -> None:
        self.inner = inner
        self.directory = directory
        self.secrets = secrets
        directory.mkdir(parents=True, exist_ok=True)
        self.count = len(list(directory.glob("*.json")))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        tail = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "root"
        name = f"{self.count:06d}-{request.method}-{''.join(c if c.isalnum() else '_' for c in tail)[:40]}.json"
        # The exact codec writes the body's numbers as they were sent (12.30 stays 12.30).
        (self.directory / name).write_text(
            jsoncodec.dumps(request_record(request, self.secrets()), indent=2)
        )
        return self.inner.handle_request(request)


class CrashingTransport(httpx.BaseTransport):
    """Raises :class:`SimulatedCrash` at call number ``crash_at`` (1-based), once.

    With ``after_apply`` the request reaches the service first (the object is created) and the
    crash stands for a process killed before it could record the answer.
    """

    def __init__(
        self, inner: httpx.BaseTransport, *, crash_at: int | None, after_apply: bool = False
    ) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.after_apply = after_apply
        self.calls = 0
        self.crashed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not self.crashed and self.crash_at is not None and self.calls == self.crash_at:
            self.crashed = True
            if self.after_apply:
                self.inner.handle_request(request)
            raise SimulatedCrash(
                f"simulated kill at call {self.calls} ({request.method} {request.url.path})"
            )
        return self.inner.handle_request(request)
