"""Xero's wire formats: exact JSON, Microsoft-style dates, and the error bodies it answers with.

Amounts travel as JSON numbers. They are decoded straight into ``Decimal`` and written back from
``Decimal`` without ever passing through a float (:mod:`ml_connector.core.jsoncodec`). Dates go
out the way Xero's .NET serializer writes them, ``/Date(1539993600000+0000)/``, next to a
``DateString`` such as ``2018-10-20T00:00:00``; they come in as ``YYYY-MM-DD`` (or any of the
forms Xero accepts, see :func:`parse_date`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ml_connector.core import jsoncodec

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"
PROVIDER_NAME = "ml-connector Xero emulator"

TWO_PLACES = Decimal("0.01")
FOUR_PLACES = Decimal("0.0001")

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(T[\d:.]+)?$")


class WireError(ValueError):
    """A value that cannot be read in Xero's formats; the message is what Xero's user reads."""


def round_money(amount: Decimal, places: Decimal = TWO_PLACES) -> Decimal:
    """Round as Xero does: to ``places``, halves away from zero."""
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def as_decimal(value: Any) -> Decimal:
    """A JSON number (``int`` or ``Decimal``, as the codec decodes them) as a ``Decimal``."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise WireError(f"'{value}' is not a number")
    return Decimal(value)


def parse_date(value: Any, *, field: str) -> dt.date:
    """A date as Xero accepts it: ``2019-03-11``, ``2019-03-11T00:00:00`` or ``/Date(ms)/``."""
    if isinstance(value, str):
        text = value.strip()
        iso = _ISO_DATE.match(text)
        if iso:
            try:
                return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
            except ValueError:
                raise WireError(f"{field} '{value}' is not a valid date") from None
        ms = _MS_DATE.match(text)
        if ms:
            return dt.datetime.fromtimestamp(int(ms[1]) // 1000, tz=dt.UTC).date()
    raise WireError(f"{field} '{value}' is not a valid date; use YYYY-MM-DD")


def parse_timestamp(value: str) -> float:
    """An ``If-Modified-Since`` value (ISO 8601 or RFC 1123) as epoch seconds; naive means UTC."""
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise WireError(f"If-Modified-Since '{value}' is not a valid timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def ms_date(day: dt.date) -> str:
    """``/Date(ms+0000)/`` for midnight UTC of ``day``."""
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return f"/Date({int(midnight.timestamp()) * 1000}+0000)/"


def ms_timestamp(epoch_seconds: float, *, offset: bool = True) -> str:
    """``/Date(ms+0000)/`` for an instant (the envelope's ``DateTimeUTC`` has no offset)."""
    millis = int(round(epoch_seconds * 1000))
    return f"/Date({millis}+0000)/" if offset else f"/Date({millis})/"


def date_string(day: dt.date) -> str:
    """The ``DateString`` companion of a date: ``2018-10-20T00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def utc_string(epoch_seconds: float) -> str:
    """The ``UpdatedDateUTCString`` form: ``2018-11-02T16:31:30Z``."""
    moment = dt.datetime.fromtimestamp(int(epoch_seconds), tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_body(content: bytes) -> Any:
    """The request body as JSON with every fractional number a ``Decimal``."""
    return jsoncodec.loads(content)


def json_response(
    status: int, body: Any, *, content_type: str = JSON_CONTENT_TYPE
) -> httpx.Response:
    """A response whose JSON is written exactly (Decimal stays Decimal, floats are refused)."""
    return httpx.Response(
        status, content=jsoncodec.dumps(body).encode(), headers={"Content-Type": content_type}
    )


def validation_error_body(
    message: str, elements: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Xero's 400 body: ``ErrorNumber`` 10, ``ValidationException``, per-element errors."""
    body: dict[str, Any] = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
    }
    if elements is not None:
        body["Elements"] = elements
    return body


def validation_failure(messages: list[str]) -> httpx.Response:
    """A 400 for a request-level problem (not tied to one element of the batch)."""
    return json_response(
        400,
        validation_error_body(
            "A validation exception occurred",
            [{"ValidationErrors": [{"Message": m} for m in messages]}],
        ),
    )


def post_data_invalid(message: str) -> httpx.Response:
    """Xero's answer to a body that is not JSON at all (error 17, ``PostDataInvalidException``)."""
    return json_response(
        400, {"ErrorNumber": 17, "Type": "PostDataInvalidException", "Message": message}
    )


def query_parse_error(message: str) -> httpx.Response:
    """Xero's answer to a ``where`` or ``order`` it cannot parse (error 16)."""
    return json_response(
        400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}
    )


def not_found(message: str = "The resource you're looking for cannot be found") -> httpx.Response:
    """Xero's 404 (plain text, as the real service sends it)."""
    return httpx.Response(404, text=message, headers={"Content-Type": "text/plain"})


def problem(status: int, title: str, detail: str, instance: str) -> httpx.Response:
    """The identity-layer error shape Xero uses for 401 and 403."""
    return json_response(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": instance,
            "Extensions": {},
        },
        content_type=PROBLEM_CONTENT_TYPE,
    )
