"""A wrapper that keeps a secret out of logs, reprs, tracebacks and f-strings.

``Secret("Atzr|...")`` prints as ``***`` however it is formatted; the only way to the value is
the explicit :meth:`Secret.reveal`, which makes every place that sends a secret over the wire
easy to find with a search.
"""

from __future__ import annotations

from typing import Final

MASK: Final = "***"


class Secret:
    """A string that never shows itself; ``reveal()`` returns it for the one place that sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return MASK

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value to wherever the pickle goes; refuse rather than leak.
        raise TypeError("a Secret cannot be pickled")
