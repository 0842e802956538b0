"""The SP-API wire conventions every emulated operation shares.

Errors are raised as :class:`ApiError` and rendered once, in Amazon's shape
``{"errors": [{"code", "message", "details"?}]}``. JSON is written with the project's codec, so
``Decimal`` amounts leave as the exact numbers they are (Finances ``CurrencyAmount`` is a JSON
number) and floats are refused. Times are ISO 8601 in UTC with a ``Z``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx

from ml_connector.core import jsoncodec
from ml_connector.core.errors import ConnectorError

JSON_TYPE = "application/json"


class ApiError(ConnectorError):
    """An SP-API error response: the status and Amazon's own code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"HTTP {status} {code}: {message}" + (f" ({details})" if details else ""))

    def body(self) -> dict[str, Any]:
        error: dict[str, str] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}


def invalid_input(message: str, details: str | None = None) -> ApiError:
    """The 400 every operation answers for a parameter it cannot accept."""
    return ApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    content = jsoncodec.dumps(body).encode()
    all_headers = {"content-type": JSON_TYPE, **(headers or {})}
    return httpx.Response(status, content=content, headers=all_headers)


def iso(moment: dt.datetime) -> str:
    """``2026-10-01T12:00:00Z``: how SP-API writes times."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(name: str, text: str) -> dt.datetime:
    """An ISO 8601 date or date-time parameter as an aware UTC datetime; naive means UTC."""
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid_input(f"Invalid {name}: {text!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


class Query:
    """The query string of one request, read the way Swagger 2 clients write it.

    Array parameters arrive either comma-separated (``collectionFormat: csv``, the Swagger 2
    default) or repeated; both are accepted.
    """

    def __init__(self, request: httpx.Request) -> None:
        self._params = request.url.params

    def names(self) -> set[str]:
        return set(self._params.keys())

    def text(self, name: str) -> str | None:
        values = self._params.get_list(name)
        if not values:
            return None
        if len(values) > 1:
            raise invalid_input(f"Parameter {name} may be given only once.")
        return values[0]

    def items(self, name: str) -> list[str] | None:
        values = self._params.get_list(name)
        if not values:
            return None
        items = [part.strip() for value in values for part in value.split(",")]
        if any(not item for item in items):
            raise invalid_input(f"Parameter {name} has an empty element.")
        return items

    def time(self, name: str) -> dt.datetime | None:
        text = self.text(name)
        return None if text is None else parse_time(name, text)

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        text = self.text(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise invalid_input(f"Invalid {name}: {text!r} is not an integer.") from None
        if not low <= value <= high:
            raise invalid_input(f"Invalid {name}: {value} is not between {low} and {high}.")
        return value

    def enum_items(self, name: str, allowed: frozenset[str]) -> list[str] | None:
        items = self.items(name)
        if items is not None:
            unknown = [i for i in items if i not in allowed]
            if unknown:
                raise invalid_input(f"Invalid {name}: {', '.join(unknown)}.")
        return items
