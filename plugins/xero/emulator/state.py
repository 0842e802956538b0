"""What the emulated Xero holds: organisations (tenants) and their objects, with undo for batches.

Objects are plain dicts keyed by Xero's own field names (``InvoiceNumber``, ``LineItems``...),
holding Python values: ``Decimal`` amounts, ``datetime.date`` dates and ``UpdatedDateUTC`` as
epoch seconds. :mod:`~ml_connector.plugins.xero.emulator.render` turns them into wire JSON.
Stored dicts are never edited in place: a change puts a new dict, which is what lets a batch
sent with ``summarizeErrors=true`` be undone entirely when one of its elements fails.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "Account",
    "BankTransaction",
    "BankTransfer",
    "Contact",
    "Invoice",
    "Item",
    "ManualJournal",
    "Payment",
    "TaxRate",
    "TrackingCategory",
)
ID_FIELDS = {
    "Account": "AccountID",
    "BankTransaction": "BankTransactionID",
    "BankTransfer": "BankTransferID",
    "Contact": "ContactID",
    "Invoice": "InvoiceID",
    "Item": "ItemID",
    "ManualJournal": "ManualJournalID",
    "Payment": "PaymentID",
    "TaxRate": "TaxType",
    "TrackingCategory": "TrackingCategoryID",
}

Obj = dict[str, Any]
_ABSENT = object()


class IdFactory:
    """Xero-style identifiers (UUID4) from a seeded generator, so a seeded run is repeatable."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def token(self, prefix: str) -> str:
        """An opaque secret-looking string for OAuth codes and tokens."""
        return f"{prefix}_{self._random.getrandbits(192):048x}"


@dataclass
class Tenant:
    """One Xero organisation: its settings and its objects by kind and id."""

    tenant_id: str
    name: str
    organisation: Obj
    store: dict[str, dict[str, Obj]] = field(default_factory=lambda: {k: {} for k in KINDS})
    invoice_numbers: dict[str, str] = field(default_factory=dict)
    invoice_sequence: int = 0
    _undo: list[tuple[str, str, Any]] | None = None

    # -- reading -----------------------------------------------------------------------------
    def objects(self, kind: str) -> list[Obj]:
        """The stored objects of ``kind`` in creation order."""
        return list(self.store[kind].values())

    def get(self, kind: str, object_id: str) -> Obj | None:
        return self.store[kind].get(object_id) or self.store[kind].get(object_id.lower())

    def account_by_code(self, code: str) -> Obj | None:
        return next((a for a in self.store["Account"].values() if a.get("Code") == code), None)

    def account_by_id(self, account_id: str) -> Obj | None:
        return self.get("Account", account_id)

    def invoice_by_number(self, number: str) -> Obj | None:
        invoice_id = self.invoice_numbers.get(number)
        return self.store["Invoice"].get(invoice_id) if invoice_id else None

    # -- writing -----------------------------------------------------------------------------
    def put(self, kind: str, obj: Obj) -> Obj:
        """Store ``obj`` (a new dict) under its id; remembered for undo inside a transaction."""
        object_id = str(obj[ID_FIELDS[kind]])
        previous = self.store[kind].get(object_id, _ABSENT)
        if self._undo is not None:
            self._undo.append((kind, object_id, previous))
        self._place(kind, object_id, obj, previous)
        return obj

    def _place(self, kind: str, object_id: str, obj: Any, previous: Any) -> None:
        if kind == "Invoice":
            if previous is not _ABSENT and previous.get("InvoiceNumber"):
                self.invoice_numbers.pop(previous["InvoiceNumber"], None)
            if obj is not _ABSENT and obj.get("InvoiceNumber") and obj.get("Type") == "ACCREC":
                self.invoice_numbers[obj["InvoiceNumber"]] = object_id
        if obj is _ABSENT:
            self.store[kind].pop(object_id, None)
        else:
            self.store[kind][object_id] = obj

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes; ``rollback()`` inside the block undoes all of them when it exits."""
        if self._undo is not None:
            raise RuntimeError("transactions do not nest")
        self._undo = []
        saved_sequence = self.invoice_sequence
        tx = Transaction()
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        finally:
            undo, self._undo = self._undo, None
            if tx.rolled_back:
                for kind, object_id, previous in reversed(undo):
                    current = self.store[kind].get(object_id, _ABSENT)
                    self._place(kind, object_id, previous, current)
                self.invoice_sequence = saved_sequence

    def next_invoice_number(self) -> str:
        """The next free automatic ACCREC number (``INV-0001``...), as Xero's settings give."""
        while True:
            self.invoice_sequence += 1
            candidate = f"INV-{self.invoice_sequence:04d}"
            if candidate not in self.invoice_numbers:
                return candidate

    # -- settings ----------------------------------------------------------------------------
    def lock_dates(self) -> list[tuple[str, dt.date]]:
        """The organisation's lock dates that are set, strictest (end of year) first."""
        found = []
        for label, key in (
            ("end of year lock date", "EndOfYearLockDate"),
            ("period lock date", "PeriodLockDate"),
        ):
            if self.organisation.get(key) is not None:
                found.append((label, self.organisation[key]))
        return found


@dataclass
class Transaction:
    rolled_back: bool = False

    def rollback(self) -> None:
        self.rolled_back = True


class XeroState:
    """All tenants of the emulator; the object tests and the demo inspect."""

    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.tenants: dict[str, Tenant] = {}

    def add(self, tenant: Tenant) -> Tenant:
        self.tenants[tenant.tenant_id] = tenant
        return tenant

    def tenant(self, tenant_id: str | None = None) -> Tenant:
        """The tenant with ``tenant_id`` (the first one when omitted)."""
        if tenant_id is None:
            return next(iter(self.tenants.values()))
        return self.tenants[tenant_id]

    def objects(self, kind: str, tenant_id: str | None = None) -> list[Obj]:
        if kind not in KINDS:
            raise KeyError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return self.tenant(tenant_id).objects(kind)

    def count_by(
        self,
        kind: str,
        key: str | Callable[[Obj], Any],
        *,
        tenant_id: str | None = None,
        where: Callable[[Obj], bool] | None = None,
    ) -> Counter[Any]:
        """How many stored ``kind`` objects share each value of ``key`` (a field or a function).

        ``count_by("ManualJournal", "Narration")`` shows at a glance which journals were posted
        twice; ``where`` narrows the objects first (e.g. leave out DELETED ones).
        """
        pick = key if callable(key) else (lambda obj: obj.get(key))
        return Counter(
            pick(obj) for obj in self.objects(kind, tenant_id) if where is None or where(obj)
        )
