"""Date windows as the SP-API accepts them.

- Every "before" bound must lie at least two minutes before the request (Orders, Finances):
  :func:`latest_before` gives the latest bound we send, with slack for clock skew.
- Finances answers nothing for windows more than 180 days wide: :func:`split` cuts a window
  into consecutive half-open chunks of at most 180 days.
- Orders older than two years are not served outside JP, AU and SG: :func:`order_history_floor`.
- Amazon takes ISO 8601 date-times; :func:`iso` writes UTC with a ``Z``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from ml_connector.core.errors import InputError

BEFORE_MARGIN = dt.timedelta(minutes=2, seconds=30)  # Amazon's 2 minutes + 30 s for clock skew
FINANCES_MAX_WINDOW = dt.timedelta(days=180)
ORDER_HISTORY_YEARS = 2
ORDER_HISTORY_SLACK = dt.timedelta(days=1)  # stay clear of the edge, whatever "two years" means


def require_aware(value: dt.datetime, field: str) -> dt.datetime:
    """``value`` in UTC; a naive datetime is refused, since its zone would be a guess."""
    if not isinstance(value, dt.datetime):
        raise InputError("expected a datetime", field=field, value=value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("datetime needs a time zone (use UTC)", field=field, value=value)
    return value.astimezone(dt.UTC)


def iso(value: dt.datetime) -> str:
    """``2024-03-10T20:11:24Z``, or with milliseconds ``2024-03-10T20:11:24.677Z``."""
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def latest_before(now: dt.datetime) -> dt.datetime:
    """The latest "before" bound Amazon accepts at ``now``, with our skew margin."""
    return now - BEFORE_MARGIN


def clamp_before(before: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """``before`` pulled back to :func:`latest_before` when later; ``None`` means "up to now"."""
    latest = latest_before(now)
    return latest if before is None or before > latest else before


def split(
    start: dt.datetime, end: dt.datetime, width: dt.timedelta = FINANCES_MAX_WINDOW
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive ``[a, b)`` chunks covering ``[start, end)``, none wider than ``width``."""
    cursor = start
    while cursor < end:
        chunk_end = min(cursor + width, end)
        yield cursor, chunk_end
        cursor = chunk_end


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    """The same calendar instant ``years`` earlier; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def order_history_floor(now: dt.datetime) -> dt.datetime:
    """The oldest time we ask Orders about outside JP, AU and SG."""
    return years_before(now, ORDER_HISTORY_YEARS) + ORDER_HISTORY_SLACK
