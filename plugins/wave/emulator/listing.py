"""Paging, sorting and filtering of lists, the way Wave's connection fields do it.

Every list field takes ``page`` (1-based) and ``pageSize`` and answers
``{edges: [{node}], pageInfo: {currentPage, totalPages, totalCount}}`` (Wave's "Pagination"
page). ``totalPages`` is at least 1 even for an empty list, as with Django's paginator, and a
page past the end is empty rather than an error. ``page`` or ``pageSize`` below 1 is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ml_connector.plugins.wave.emulator.errors import BadArgumentFailure

T = TypeVar("T")

_DIGITS = re.compile(r"(\d+)")


def page_of(items: Sequence[T], page: int, page_size: int) -> tuple[list[T], dict[str, int]]:
    """The ``page``-th slice of ``items`` and its ``pageInfo``."""
    if page < 1:
        raise BadArgumentFailure(f"page must be 1 or more, not {page}.")
    if page_size < 1:
        raise BadArgumentFailure(f"pageSize must be 1 or more, not {page_size}.")
    total = len(items)
    total_pages = max(1, -(-total // page_size))
    start = (page - 1) * page_size
    info = {"currentPage": page, "totalPages": total_pages, "totalCount": total}
    return list(items[start : start + page_size]), info


def connection(
    items: Sequence[T], page: int, page_size: int, view: Callable[[T], Any]
) -> dict[str, Any]:
    """A Wave connection object for one page of ``items``, each node made by ``view``."""
    rows, info = page_of(items, page, page_size)
    return {"edges": [{"node": view(row)} for row in rows], "pageInfo": info}


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders ``INV-2`` before ``INV-10`` (digit runs compare as numbers)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(text))


def sort_by(
    items: Iterable[T], sort: Sequence[str], keys: dict[str, Callable[[T], Any]]
) -> list[T]:
    """``items`` ordered by the ``sort`` enum values (``NAME_ASC``...), first value first.

    Items arrive in creation order; Python's stable sort keeps that order among equals, so ties
    (many objects created in the same instant) still come out deterministically.
    """
    ordered = list(items)
    for value in reversed(sort):
        field, _, direction = value.rpartition("_")
        ordered.sort(key=keys[field], reverse=direction == "DESC")
    return ordered
