"""Serve an emulator's ``handle(httpx.Request) -> httpx.Response`` on a loopback port.

The standard library's threading HTTP server is enough for emulators: they are for tests, the
demo and third-party clients pointed at them, not for production traffic. Only loopback
addresses are accepted, so an emulator can never be exposed by accident.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

Handler = Callable[[httpx.Request], httpx.Response]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


def _request_handler(handler: Handler, host: str) -> type[BaseHTTPRequestHandler]:
    class _Adapter(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            address = self.server.server_address
            assert isinstance(address, tuple), "served over TCP: the address is (host, port)"
            port = address[1]
            request = httpx.Request(
                self.command,
                f"http://{host}:{port}{self.path}",
                headers=[(k, v) for k, v in self.headers.items()],
                content=body,
            )
            response = handler(request)
            payload = response.read()
            self.send_response(response.status_code)
            for key, value in response.headers.multi_items():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            return  # requests carry tokens in headers; never echo them to stderr

    return _Adapter


class LoopbackServer:
    """A running server; ``url`` is its base, ``close()`` stops it. Usable as a context manager."""

    def __init__(self, httpd: ThreadingHTTPServer, host: str) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        self.url = f"http://{host}:{httpd.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def serve(handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
    """Start serving ``handler`` on ``host:port`` in a background thread (port 0 picks one)."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"emulators serve on loopback addresses only, not {host}")
    httpd = ThreadingHTTPServer((host, port), _request_handler(handler, host))
    httpd.daemon_threads = True
    return LoopbackServer(httpd, host)
