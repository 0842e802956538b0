"""Journal entries -> Xero documents. Pure: no I/O, no clock, no randomness.

What each entry becomes (the bookkeeper's view is ``docs/targets/xero.md``):

``settlement`` (and any other kind without a rule below)
    The postings in the organisation's base currency become one **ManualJournal** (``POSTED``,
    signed ``LineAmount`` per canonical account and marketplace). Xero keeps manual journals in
    the base currency only (``ManualJournal`` has no ``CurrencyCode``), so the postings in any
    other currency become one **BankTransaction** per currency on the marketplace's clearing bank
    account (``RECEIVE`` when the settlement nets money into clearing, ``SPEND`` when it nets
    money out), which Xero does hold in foreign currency.
``payout``
    A **BankTransfer** from the clearing bank account to the payout bank account (the other way
    round when Amazon charged the seller). A payout that is not a plain two-account move falls
    back to the journal rule above.
``order`` (per-order mode)
    An ``ACCREC`` **Invoice** numbered ``AMZ-<order id>`` to the marketplace's customer contact.
    The settlement that clears the order's receivable then yields one **Payment** per invoice
    into the clearing bank account (depending on the invoice document), and the rest of the
    settlement entry becomes the journal above.

Every canonical account the document needs must be mapped; an unmapped account, contact, tax or
tracking option stops the entry with a :class:`RenderProblem` instead of a guess. Amounts keep
the ledger's exact Decimal; a currency with more than Xero's two decimals is rounded with
:func:`~ml_connector.ledger.money.allocate`, so the lines still add up and balance.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ml_connector.core.targets import (
    Document,
    RenderContext,
    Rendered,
    RenderProblem,
    TargetMapping,
)
from ml_connector.ledger.entries import JournalEntry, Posting
from ml_connector.ledger.money import allocate, minor_units
from ml_connector.ledger.posting.conventions import RECEIVABLE_ACCOUNT, clearing_account
from ml_connector.ledger.posting.invoices import invoice_payments, invoices_paid

CLEARING_PREFIX = "Assets:Amazon:Clearing:"
RECEIVABLE = RECEIVABLE_ACCOUNT
XERO_DECIMALS = 2
IDEMPOTENCY_KEY_MAX = 128
INVOICE_PREFIX = "AMZ-"

INVOICE, MANUAL_JOURNAL, PAYMENT = "invoice", "manual_journal", "payment"
BANK_TRANSFER, BANK_TRANSACTION = "bank_transfer", "bank_transaction"
KINDS = (INVOICE, MANUAL_JOURNAL, PAYMENT, BANK_TRANSFER, BANK_TRANSACTION)

# Where each kind lives in the API, the field that carries our reference, and Xero's id field.
COLLECTION = {
    INVOICE: "Invoices",
    MANUAL_JOURNAL: "ManualJournals",
    PAYMENT: "Payments",
    BANK_TRANSFER: "BankTransfers",
    BANK_TRANSACTION: "BankTransactions",
}
REFERENCE_FIELD = {
    INVOICE: "InvoiceNumber",
    MANUAL_JOURNAL: "Narration",
    PAYMENT: "Reference",
    BANK_TRANSFER: "Reference",
    BANK_TRANSACTION: "Reference",
}
ID_FIELD = {
    INVOICE: "InvoiceID",
    MANUAL_JOURNAL: "ManualJournalID",
    PAYMENT: "PaymentID",
    BANK_TRANSFER: "BankTransferID",
    BANK_TRANSACTION: "BankTransactionID",
}

# allocate() needs a currency only for its minor unit; any ISO code with Xero's 2 decimals will do.
_XERO_UNIT_CURRENCY = "USD"


def document_key(context: RenderContext, entry_id: str, kind: str, n: str | None = None) -> str:
    """``xero:<flow>:<entry id>:<kind>[:<n>]``: the same on every run."""
    key = f"{context.target}:{context.flow}:{entry_id}:{kind}"
    return f"{key}:{n}" if n is not None else key


def idempotency_key(key: str) -> str:
    """The document key, or a digest of it when it would pass Xero's 128-character limit."""
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return f"{key.split(':', 1)[0]}:{hashlib.sha256(key.encode()).hexdigest()}"


def invoice_number(order_id: str, revision: str | int = 0) -> str:
    """``AMZ-<order id>``; a re-booking after a rollback gets ``-R<n>``: Xero keeps a voided
    invoice's number taken, so the re-posted invoice needs a number of its own."""
    suffix = f"-R{revision}" if str(revision) not in ("", "0") else ""
    return f"{INVOICE_PREFIX}{order_id}{suffix}"


def embedded_key(narration: str) -> str | None:
    """The document key a rendered ``Narration`` carries in its trailing brackets."""
    if narration.endswith("]") and "[" in narration:
        return narration[narration.rindex("[") + 1 : -1]
    return None


def is_tax(posting: Posting) -> bool:
    memo = posting.memo or ""
    return memo == "tax" or memo.endswith("_tax")


def to_xero_amounts(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``amounts`` on Xero's 2 decimals, their sum rounded once and spread with ``allocate``.

    Currencies with 2 decimals or fewer pass unchanged. Debits and credits are spread
    separately, so a set of lines that balanced still balances.
    """
    if minor_units(currency) <= XERO_DECIMALS:
        return list(amounts)
    quantum = Decimal(1).scaleb(-XERO_DECIMALS)
    result = list(amounts)
    signs: tuple[Callable[[Decimal], bool], ...] = (lambda a: a > 0, lambda a: a < 0)
    for wanted in signs:
        positions = [i for i, a in enumerate(amounts) if wanted(a)]
        if not positions:
            continue
        group = [amounts[i] for i in positions]
        total = sum(group, Decimal(0)).quantize(quantum, rounding=ROUND_HALF_EVEN)
        for i, value in zip(positions, allocate(total, group, _XERO_UNIT_CURRENCY), strict=True):
            result[i] = value
    return result


def _allocation_currency(currency: str) -> str:
    """The currency whose minor unit Xero amounts of ``currency`` are spread in."""
    return currency if minor_units(currency) <= XERO_DECIMALS else _XERO_UNIT_CURRENCY


def _debits(postings: Iterable[Posting]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        if posting.amount > 0:
            totals[posting.currency] += posting.amount
    return dict(totals)


class _Stop(Exception):
    """An entry cannot be rendered; the problems are already recorded."""


@dataclass
class _Renderer:
    mapping: TargetMapping
    context: RenderContext
    documents: list[Document] = field(default_factory=list)
    problems: list[RenderProblem] = field(default_factory=list)

    # -- references ---------------------------------------------------------------------------

    def problem(self, entry: JournalEntry, reference: str, value: str, message: str) -> None:
        self.problems.append(RenderProblem(entry.id, reference, value, message))

    def require_accounts(self, entry: JournalEntry) -> None:
        missing = sorted({p.account for p in entry.postings} - set(self.mapping.accounts))
        for account in missing:
            self.problem(
                entry,
                "account",
                account,
                f"no Xero account code is mapped for {account} (entry {entry.id}, {entry.description})",
            )
        if missing:
            raise _Stop

    def code(self, account: str) -> str:
        return self.mapping.accounts[account]

    @property
    def tracking_on(self) -> bool:
        return self.mapping.options.get("track_marketplace", "").lower() == "true"

    def tracking(self, entry: JournalEntry, marketplace: str | None) -> list[dict[str, str]]:
        """The line's marketplace tracking (category name and option), when tracking is on."""
        if not self.tracking_on or not marketplace:
            return []
        category = self.mapping.options.get("tracking_category")
        if not category:
            self.problem(
                entry,
                "tracking",
                "tracking_category",
                "track_marketplace is on but no tracking category is named "
                "(mapping option tracking_category)",
            )
            raise _Stop
        option = self.mapping.tracking.get(marketplace)
        if option is None:
            self.problem(
                entry,
                "tracking",
                marketplace,
                f"no option of tracking category {category!r} is mapped for marketplace {marketplace}",
            )
            raise _Stop
        return [{"Name": category, "Option": option}]

    def contact(self, entry: JournalEntry, marketplace: str | None) -> dict[str, str]:
        value = self.mapping.contacts.get(marketplace or "")
        if value is None:
            self.problem(
                entry,
                "contact",
                marketplace or "(none)",
                f"no Xero contact is mapped for marketplace {marketplace} (entry {entry.id})",
            )
            raise _Stop
        return {"ContactID": value} if _looks_like_uuid(value) else {"Name": value}

    # -- documents ----------------------------------------------------------------------------

    def add(
        self,
        entry: JournalEntry,
        kind: str,
        payload: dict[str, Any],
        totals: Mapping[str, Decimal],
        *,
        n: str | None = None,
        depends_on: tuple[str, ...] = (),
        description: str,
    ) -> str:
        key = document_key(self.context, entry.id, kind, n)
        reference = REFERENCE_FIELD[kind]
        if kind == MANUAL_JOURNAL:
            payload[reference] = f"{payload[reference]} [{key}]"
        elif reference not in payload:
            payload[reference] = key
        self.documents.append(
            Document(
                key=key,
                kind=kind,
                source_ref=entry.source_ref,
                entry_ids=(entry.id,),
                idempotency_key=idempotency_key(key),
                payload=payload,
                totals={c: t for c, t in sorted(totals.items()) if t != 0},
                depends_on=depends_on,
                natural_key=payload[reference] if kind == INVOICE else key,
                description=description,
            )
        )
        return key

    # -- journal-like postings: manual journal (base currency) or bank transaction -------------

    def ledger_lines(
        self, entry: JournalEntry, postings: Sequence[Posting], currency: str
    ) -> list[tuple[str, str | None, str, Decimal]]:
        """(account, marketplace, description, amount) per account and marketplace, netted."""
        sums: dict[tuple[str, str | None], Decimal] = {}
        memos: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for posting in postings:
            group = (posting.account, posting.marketplace)
            sums[group] = sums.get(group, Decimal(0)) + posting.amount
            memo = posting.memo or posting.account
            if memo not in memos[group]:
                memos[group].append(memo)
        lines = []
        for (account, marketplace), amount in sums.items():
            if amount == 0:
                continue
            # A clearing line nets every category of the settlement; naming them all says nothing.
            label = (
                "Amazon clearing"
                if account.startswith(CLEARING_PREFIX)
                else ", ".join(memos[(account, marketplace)])
            )
            where = f" ({marketplace})" if marketplace else ""
            lines.append((account, marketplace, f"{label}{where}", amount))
        rounded = to_xero_amounts([line[3] for line in lines], currency)
        return [(a, m, d, r) for (a, m, d, _), r in zip(lines, rounded, strict=True)]

    def journal(
        self,
        entry: JournalEntry,
        postings: Sequence[Posting],
        carried: Mapping[str, Decimal],
    ) -> None:
        """``postings`` (balanced per currency) as a journal and/or bank transactions."""
        by_currency: dict[str, list[Posting]] = defaultdict(list)
        for posting in postings:
            by_currency[posting.currency].append(posting)
        for currency in sorted(by_currency):
            lines = self.ledger_lines(entry, by_currency[currency], currency)
            if not lines:
                continue
            totals = {currency: carried.get(currency, Decimal(0))}
            if currency == self.context.home_currency:
                self.manual_journal(entry, lines, totals)
            else:
                self.bank_transaction(entry, currency, lines, totals)

    def manual_journal(
        self,
        entry: JournalEntry,
        lines: Sequence[tuple[str, str | None, str, Decimal]],
        totals: Mapping[str, Decimal],
    ) -> None:
        journal_lines = []
        for account, marketplace, description, amount in lines:
            line: dict[str, Any] = {
                "Description": description,
                "LineAmount": amount,
                "AccountCode": self.code(account),
            }
            if tracking := self.tracking(entry, marketplace):
                line["Tracking"] = tracking
            journal_lines.append(line)
        self.add(
            entry,
            MANUAL_JOURNAL,
            {
                "Narration": entry.description,
                "Date": entry.date.isoformat(),
                "Status": "POSTED",
                "LineAmountTypes": "NoTax",
                "JournalLines": journal_lines,
            },
            totals,
            description=f"manual journal for {entry.description}",
        )

    def bank_transaction(
        self,
        entry: JournalEntry,
        currency: str,
        lines: Sequence[tuple[str, str | None, str, Decimal]],
        totals: Mapping[str, Decimal],
    ) -> None:
        clearing = [line for line in lines if line[0].startswith(CLEARING_PREFIX)]
        marketplace_named = next((line[1] for line in lines if line[1]), None)
        if not clearing and marketplace_named is not None:
            self.offsetting_bank_transactions(entry, currency, lines, totals, marketplace_named)
            return
        if len({line[0] for line in clearing}) != 1:
            self.problem(
                entry,
                "currency",
                currency,
                f"Xero keeps manual journals in the base currency ({self.context.home_currency}) "
                f"only; a {currency} settlement becomes a bank transaction on its clearing bank "
                f"account, which needs exactly one {CLEARING_PREFIX}* account in {currency}, "
                f"found {len({line[0] for line in clearing})}",
            )
            raise _Stop
        bank_account, marketplace = clearing[0][0], clearing[0][1]
        net = sum((line[3] for line in clearing), Decimal(0))
        others = [line for line in lines if line[0] != bank_account]
        self.bank_payload(
            entry, currency, bank_account, marketplace, net >= 0, others, totals, n=currency
        )

    def offsetting_bank_transactions(
        self,
        entry: JournalEntry,
        currency: str,
        lines: Sequence[tuple[str, str | None, str, Decimal]],
        totals: Mapping[str, Decimal],
        marketplace: str,
    ) -> None:
        """Lines that balance among themselves while their clearing leg netted to zero.

        No money moved through the clearing account, yet a foreign-currency settlement can only
        enter Xero as bank transactions on it: the debits become a SPEND and the credits a
        RECEIVE of the same amount, which leave the clearing account where it was.
        """
        bank_account = clearing_account(marketplace)
        debits = [line for line in lines if line[3] > 0]
        credits = [line for line in lines if line[3] < 0]
        moved = sum((line[3] for line in debits), Decimal(0))
        carried = totals.get(currency, Decimal(0))
        self.bank_payload(
            entry, currency, bank_account, marketplace, False, debits,
            {currency: moved}, n=f"{currency}:out",
        )  # fmt: skip
        self.bank_payload(
            entry, currency, bank_account, marketplace, True, credits,
            {currency: carried - moved}, n=f"{currency}:in",
        )  # fmt: skip

    def bank_payload(
        self,
        entry: JournalEntry,
        currency: str,
        bank_account: str,
        marketplace: str | None,
        receive: bool,
        lines: Sequence[tuple[str, str | None, str, Decimal]],
        totals: Mapping[str, Decimal],
        *,
        n: str,
    ) -> None:
        items = []
        for account, line_marketplace, description, amount in lines:
            line_amount = -amount if receive else amount
            item: dict[str, Any] = {
                "Description": description,
                "Quantity": 1,
                "UnitAmount": line_amount,
                "LineAmount": line_amount,
                "AccountCode": self.code(account),
            }
            if tracking := self.tracking(entry, line_marketplace):
                item["Tracking"] = tracking
            items.append(item)
        self.add(
            entry,
            BANK_TRANSACTION,
            {
                "Type": "RECEIVE" if receive else "SPEND",
                "Contact": self.contact(entry, marketplace),
                "BankAccount": {"Code": self.code(bank_account)},
                "Date": entry.date.isoformat(),
                "CurrencyCode": currency,
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "LineItems": items,
            },
            totals,
            n=n,
            description=f"{currency} bank transaction for {entry.description}",
        )

    # -- per kind ------------------------------------------------------------------------------

    def payout(self, entry: JournalEntry) -> None:
        nets: dict[str, Decimal] = {}
        for posting in entry.postings:
            nets[posting.account] = nets.get(posting.account, Decimal(0)) + posting.amount
        moved = {account: amount for account, amount in nets.items() if amount != 0}
        currencies = entry.currencies
        if not moved:
            return  # nothing changes hands, so there is nothing to put in Xero
        if len(moved) != 2 or len(currencies) != 1:
            self.journal(entry, entry.postings, _debits(entry.postings))
            return
        (to_account, amount), (from_account, _) = sorted(moved.items(), key=lambda kv: -kv[1])
        (currency,) = currencies
        (xero_amount,) = to_xero_amounts([amount], currency)
        self.add(
            entry,
            BANK_TRANSFER,
            {
                "FromBankAccount": {"Code": self.code(from_account)},
                "ToBankAccount": {"Code": self.code(to_account)},
                "Amount": xero_amount,
                "Date": entry.date.isoformat(),
            },
            _debits(entry.postings),
            description=f"payout transfer for {entry.description}",
        )

    def invoice(self, entry: JournalEntry) -> None:
        receivable = [p for p in entry.postings if p.account == RECEIVABLE]
        others = [p for p in entry.postings if p.account != RECEIVABLE]
        total = sum((p.amount for p in receivable), Decimal(0))
        order_id = entry.meta.get("order_id", "")
        if not order_id or not receivable or total <= 0 or len(entry.currencies) != 1:
            self.problem(
                entry,
                "account",
                RECEIVABLE,
                f"order entry {entry.id} is not an invoice Xero can take: it needs an order_id, "
                f"one currency and a positive debit to {RECEIVABLE} (refunds would need credit "
                "notes, which this plugin does not render)",
            )
            raise _Stop
        (currency,) = entry.currencies
        marketplace = receivable[0].marketplace
        taxed = bool(self.mapping.taxes)
        tax_total = -sum((p.amount for p in others if is_tax(p)), Decimal(0))
        line_postings = [p for p in others if not (taxed and is_tax(p))]
        amounts = to_xero_amounts([-p.amount for p in line_postings], currency)
        tax_amounts: list[Decimal] = []
        if taxed:
            missing = sorted({p.memo or "" for p in line_postings} - set(self.mapping.taxes))
            for category in missing:
                self.problem(
                    entry,
                    "tax",
                    category or "(none)",
                    f"no Xero tax type is mapped for category {category!r}",
                )
            if missing:
                raise _Stop
            if sum(amounts, Decimal(0)) == 0 and tax_total != 0:
                self.problem(entry, "tax", "tax", "tax on an order whose lines sum to zero")
                raise _Stop
            (rounded_tax,) = to_xero_amounts([tax_total], currency)
            tax_amounts = allocate(rounded_tax, amounts, _allocation_currency(currency))
        sku = entry.meta.get("sku")
        items = []
        for index, (posting, amount) in enumerate(zip(line_postings, amounts, strict=True)):
            item: dict[str, Any] = {
                "Description": f"{posting.memo or posting.account} - order {order_id}",
                "Quantity": 1,
                "UnitAmount": amount,
                "LineAmount": amount,
                "AccountCode": self.code(posting.account),
            }
            if sku and posting.memo == "sales" and sku in self.mapping.items:
                item["ItemCode"] = self.mapping.items[sku]
            if taxed:
                item["TaxType"] = self.mapping.taxes[posting.memo or ""]
                item["TaxAmount"] = tax_amounts[index]
            if tracking := self.tracking(entry, posting.marketplace):
                item["Tracking"] = tracking
            items.append(item)
        number = invoice_number(order_id, entry.meta.get("revision", 0))
        self.add(
            entry,
            INVOICE,
            {
                "Type": "ACCREC",
                "Contact": self.contact(entry, marketplace),
                "InvoiceNumber": number,
                "Reference": f"Amazon order {order_id}",
                "Date": entry.date.isoformat(),
                "DueDate": entry.date.isoformat(),
                "CurrencyCode": currency,
                "Status": "AUTHORISED",
                "LineAmountTypes": "Exclusive" if taxed else "NoTax",
                "LineItems": items,
            },
            _debits(entry.postings),
            description=f"invoice {number}",
        )

    def settlement(self, entry: JournalEntry, orders: Sequence[JournalEntry]) -> None:
        receivable = [p for p in entry.postings if p.account == RECEIVABLE and p.amount < 0]
        if self.context.mode != "per-order" or not receivable:
            self.journal(entry, entry.postings, _debits(entry.postings))
            return
        groups = invoice_payments(entry, orders)
        for group in groups:
            if group.invoiced != group.owed:
                self.problem(
                    entry,
                    "account",
                    RECEIVABLE,
                    f"settlement entry {entry.id} clears {group.owed} {group.currency} of "
                    f"{RECEIVABLE} for marketplace {group.marketplace}, but the order entries of "
                    f"its settlement invoiced {group.invoiced}: the payments cannot be matched "
                    "to invoices",
                )
                raise _Stop
        remainder = [p for p in entry.postings if not (p.account == RECEIVABLE and p.amount < 0)]
        carried = _debits(entry.postings)
        payments: list[tuple[JournalEntry, str, Decimal, str]] = []
        for group in groups:
            currency, marketplace = group.currency, group.marketplace
            if len(group.clearing) != 1:
                self.problem(
                    entry,
                    "account",
                    f"{CLEARING_PREFIX}{marketplace}",
                    f"payments of {marketplace} invoices need the one {CLEARING_PREFIX}* "
                    f"account of that marketplace in {currency}; the settlement has "
                    f"{len(group.clearing)}",
                )
                raise _Stop
            (clearing,) = group.clearing
            remainder.append(
                Posting(clearing, -group.owed, currency, marketplace, "paid by invoice payments")
            )
            carried[currency] -= group.owed
            payments.extend(
                (order, clearing, order_amount, currency) for order, order_amount in group.invoices
            )
        for order, clearing_leg, order_amount, currency in payments:
            order_id = order.meta.get("order_id", "")
            (xero_amount,) = to_xero_amounts([order_amount], currency)
            self.add(
                entry,
                PAYMENT,
                {
                    "Invoice": {
                        "InvoiceNumber": invoice_number(order_id, order.meta.get("revision", 0))
                    },
                    "Account": {"Code": self.code(clearing_leg)},
                    "Date": entry.date.isoformat(),
                    "Amount": xero_amount,
                },
                {currency: order_amount},
                n=order_id,
                depends_on=(document_key(self.context, order.id, INVOICE),),
                description=f"payment of invoice {invoice_number(order_id, order.meta.get('revision', 0))}",
            )
        self.journal(entry, remainder, carried)

    def entry(self, entry: JournalEntry, orders: Sequence[JournalEntry]) -> None:
        start = len(self.documents)
        try:
            self.require_accounts(entry)
            if entry.kind == "order":
                self.invoice(entry)
            elif entry.kind == "payout":
                self.payout(entry)
            elif entry.kind == "settlement":
                self.settlement(entry, orders)
            else:
                self.journal(entry, entry.postings, _debits(entry.postings))
        except _Stop:
            del self.documents[start:]  # an entry goes to Xero whole or not at all


def _looks_like_uuid(value: str) -> bool:
    parts = value.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in value.replace("-", "")
    )


def render_entries(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    """Every entry's documents, or a problem per unmapped reference (see the module docstring)."""
    paid = invoices_paid(entries)
    renderer = _Renderer(mapping, context)
    for entry in entries:
        renderer.entry(entry, paid.get(entry.id, []))
    return Rendered(tuple(renderer.documents), tuple(renderer.problems))
