"""Errors of the engine and of the targets, under the ledger's single base class."""

from __future__ import annotations

from ml_connector.ledger.errors import ConnectorError, InputError

__all__ = [
    "AuthError",
    "ConfigError",
    "ConnectorError",
    "InputError",
    "RateLimitedError",
    "RemoteError",
    "TargetError",
    "TransportError",
]


class ConfigError(ConnectorError):
    """A flow, mapping or setting that is missing or wrong; says which and where."""


class RemoteError(ConnectorError):
    """A remote service (Amazon or a target) answered with an error.

    ``service`` names it (``amazon``, ``xero``...), ``status`` is the HTTP status when there was
    one, ``code`` and ``message`` are the service's own words, never rewritten.
    """

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.operation = operation
        parts = [service]
        if operation:
            parts.append(operation)
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(code)
        super().__init__(f"{' '.join(parts)}: {message}")


class TargetError(RemoteError):
    """An accounting target refused or failed a request."""


class AuthError(RemoteError):
    """Authentication failed or a token could not be refreshed. Never carries the secret."""


class RateLimitedError(RemoteError):
    """The service throttled us and the bounded retries ran out. ``retry_after`` in seconds."""

    def __init__(
        self, service: str, message: str, *, retry_after: float | None = None, **kw: object
    ) -> None:
        self.retry_after = retry_after
        super().__init__(service, message, **kw)  # type: ignore[arg-type]


class TransportError(RemoteError):
    """The request may or may not have reached the service (timeout, connection lost)."""
