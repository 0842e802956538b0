"""The read side of list endpoints: ``where``, ``order``, ``If-Modified-Since`` and paging.

``where`` takes the subset of Xero's filter language that clients use for look-ups:
``Field=="text"``, ``!=``, ``>``/``>=``/``<``/``<=`` on numbers and dates,
``Date>=DateTime(2020, 01, 31)``, ``ContactID==Guid("...")``, ``true``/``false``/``null``,
``Name.Contains("x")``/``StartsWith``/``EndsWith``, dotted paths (``Contact.Name``), joined by
``AND``/``&&`` and ``OR``/``||`` (AND binds tighter). Text comparisons are case-sensitive.
Anything else is refused with Xero's ``QueryParseException`` rather than silently ignored.

Paging is Xero's: without ``page`` a list returns everything (invoices and journals then come
without their lines); with ``page=N`` it returns ``pageSize`` objects (100 by default, at most
1000) with lines, and the caller stops at the first partial page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ml_connector.plugins.xero.emulator.state import Obj

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>==|!=|>=|<=|>|<|&&|\|\|)
      | (?P<punct>[(),.])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """A ``where`` or ``order`` the emulator cannot read."""


Predicate = Callable[[Obj], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise QueryError(f"cannot parse the where clause near '{text[position:]}'")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _field(obj: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _comparable(stored: Any, wanted: Any) -> tuple[Any, Any]:
    """Bring a stored value and a literal to one type (dates against epoch seconds...)."""
    if (
        isinstance(wanted, dt.date)
        and isinstance(stored, int | float)
        and not isinstance(stored, bool)
    ):
        midnight = dt.datetime(wanted.year, wanted.month, wanted.day, tzinfo=dt.UTC)
        return stored, midnight.timestamp()
    if isinstance(stored, int | Decimal) and isinstance(wanted, int | Decimal):
        return Decimal(stored), Decimal(wanted)
    return stored, wanted


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            wanted = value or kind or "more"
            raise QueryError(
                f"expected {wanted} in the where clause, found {token[1] if token else 'the end'}"
            )
        self.position += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise QueryError(f"unexpected '{self.peek()[1]}' in the where clause")  # type: ignore[index]
        return predicate

    def _is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[1].upper() in words

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self._is_word("OR", "||"):
            self.position += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda obj: any(p(obj) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.condition()]
        while self._is_word("AND", "&&"):
            self.position += 1
            parts.append(self.condition())
        return parts[0] if len(parts) == 1 else (lambda obj: all(p(obj) for p in parts))

    def condition(self) -> Predicate:
        if self.peek() == ("punct", "("):
            self.take("punct", "(")
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        path = [self.take("word")[1]]
        while self.peek() == ("punct", "."):
            self.take("punct", ".")
            path.append(self.take("word")[1])
        if path[-1] in ("Contains", "StartsWith", "EndsWith") and self.peek() == ("punct", "("):
            method = path.pop()
            self.take("punct", "(")
            needle = self.literal()
            self.take("punct", ")")
            return _text_method(path, method, needle)
        operator = self.take("op")[1]
        wanted = self.literal()
        return _comparison(path, operator, wanted)

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return bytes(value[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return Decimal(value)
        if kind == "word":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            if value == "Guid":
                self.take("punct", "(")
                text = self.literal()
                self.take("punct", ")")
                return str(text).lower()
            if value == "DateTime":
                return self._datetime()
        raise QueryError(f"'{value}' is not a value the where clause understands")

    def _datetime(self) -> dt.date:
        if self.peek() == ("punct", "."):
            self.take("punct", ".")
            self.take("word", "Parse")
            self.take("punct", "(")
            text = str(self.literal())
            self.take("punct", ")")
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                raise QueryError(f"'{text}' is not a date") from None
        self.take("punct", "(")
        parts = [int(self.take("number")[1])]
        while self.peek() == ("punct", ","):
            self.take("punct", ",")
            parts.append(int(self.take("number")[1]))
        self.take("punct", ")")
        if len(parts) < 3:
            raise QueryError("DateTime needs a year, a month and a day")
        try:
            return dt.date(parts[0], parts[1], parts[2])
        except ValueError as error:
            raise QueryError(f"DateTime{tuple(parts)} is not a date: {error}") from None


def _text_method(path: list[str], method: str, needle: Any) -> Predicate:
    def check(obj: Obj) -> bool:
        value = _field(obj, path)
        if not isinstance(value, str):
            return False
        if method == "Contains":
            return str(needle) in value
        if method == "StartsWith":
            return value.startswith(str(needle))
        return value.endswith(str(needle))

    return check


def _comparison(path: list[str], operator: str, wanted: Any) -> Predicate:
    def check(obj: Obj) -> bool:
        stored = _field(obj, path)
        if isinstance(stored, str) and isinstance(wanted, str) and path[-1].endswith("ID"):
            stored = stored.lower()
        if operator == "==":
            return bool(_comparable(stored, wanted)[0] == _comparable(stored, wanted)[1])
        if operator == "!=":
            return bool(_comparable(stored, wanted)[0] != _comparable(stored, wanted)[1])
        if stored is None or wanted is None:
            return False
        left, right = _comparable(stored, wanted)
        try:
            return bool(
                {
                    ">": left > right,
                    ">=": left >= right,
                    "<": left < right,
                    "<=": left <= right,
                }[operator]
            )
        except TypeError:
            return False

    return check


def parse_where(text: str) -> Predicate:
    """A predicate for a ``where`` parameter (raises :class:`QueryError`)."""
    return _Parser(text).parse()


def parse_order(text: str) -> list[tuple[list[str], bool]]:
    """``"InvoiceNumber ASC, Date DESC"`` as ``[(path, descending)]``."""
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise QueryError(f"cannot parse the order '{text}'")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC") or not re.fullmatch(r"[\w.]+", words[0]):
            raise QueryError(f"cannot parse the order '{text}'")
        keys.append((words[0].split("."), direction == "DESC"))
    return keys


def apply_order(objects: list[Obj], keys: list[tuple[list[str], bool]]) -> list[Obj]:
    """Sort stably by each key, last key first; missing values sort first."""
    ordered = list(objects)
    for path, descending in reversed(keys):

        def sort_key(obj: Obj, path: list[str] = path) -> tuple[int, Any]:
            value = _field(obj, path)
            if value is None:
                return (0, "")
            if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                return (1, Decimal(str(value)) if isinstance(value, float) else Decimal(value))
            if isinstance(value, dt.date):
                return (2, value.isoformat())
            return (3, str(value))

        ordered.sort(key=sort_key, reverse=descending)
    return ordered


def page_slice(
    objects: list[Obj], page: int, page_size: int | None
) -> tuple[list[Obj], dict[str, int]]:
    """The objects of page ``page`` (1-based) and the ``pagination`` block Xero returns."""
    size = min(max(page_size or DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page = max(page, 1)
    start = (page - 1) * size
    chunk = objects[start : start + size]
    count = len(objects)
    return chunk, {
        "page": page,
        "pageSize": size,
        "pageCount": (count + size - 1) // size,
        "itemCount": count,
    }
