"""Wave-style global ids: base64 of ``Kind:<uuid>`` or ``Business:<uuid>;Kind:<number>``.

Wave's ids are opaque to clients, but they have a recognisable shape that the emulator copies so
that logs and fixtures look like the real thing: a business id decodes to
``Business:71524761-f611-4894-a748-7872f08825b0`` (Wave's pagination example), a user id to
``User:<uuid>`` (Wave's "Clients" example), and objects that live inside a business carry the
business's id followed by their own kind and number, e.g. ``Business:<uuid>;Customer:42``.
"""

from __future__ import annotations

import base64
import binascii
import random
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class GlobalId:
    """A decoded id: ``kind`` and ``key`` of the object, and its business's uuid if scoped."""

    kind: str
    key: str
    business_uuid: str | None = None


def encode(kind: str, key: object, *, business_uuid: str | None = None) -> str:
    """The global id of object ``kind``/``key``, scoped to ``business_uuid`` when given."""
    text = f"{kind}:{key}"
    if business_uuid is not None:
        text = f"Business:{business_uuid};{text}"
    return base64.b64encode(text.encode()).decode()


def decode(global_id: str) -> GlobalId | None:
    """The parts of ``global_id``, or None when it is not an id this emulator could have minted."""
    try:
        text = base64.b64decode(global_id.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    parts = text.split(";")
    if len(parts) > 2 or any(":" not in part for part in parts):
        return None
    kind, _, key = parts[-1].partition(":")
    if len(parts) == 1:
        return GlobalId(kind=kind, key=key)
    scope_kind, _, business_uuid = parts[0].partition(":")
    if scope_kind != "Business":
        return None
    return GlobalId(kind=kind, key=key, business_uuid=business_uuid)


class UuidSource:
    """Deterministic version-4 uuids from a seed, so a seeded emulator is the same every run."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(f"wave-emulator-uuids:{seed}")

    def next(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))
