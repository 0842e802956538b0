"""Journal entries -> Wave documents. Pure: no I/O, no clock, no randomness.

What each entry becomes (the bookkeeper's view is ``docs/targets/wave.md``):

``settlement``, ``payout`` and every other kind without a rule below
    Per currency, the entry's postings are netted per canonical account and marketplace and
    grouped around their *anchor* accounts (the Cash & Bank side: ``Assets:Amazon:Clearing:*``
    and ``Assets:Bank:*``). Each group becomes one **money transaction**
    (``moneyTransactionCreate``): the anchor with ``DEPOSIT`` when the group puts money in,
    ``WITHDRAWAL`` when it takes money out, and one line item per other account with an unsigned
    amount and ``DEBIT``/``CREDIT`` balance, so the lines balance the anchor exactly. Wave refuses
    a second Cash & Bank account among the line items (``MULTIPLE_POSSIBLE_ANCHORS``), so an
    entry that moves money between two of them (a payout: clearing -> bank) becomes one
    transaction per anchor, balanced through the *transfer account* (mapping option
    ``transfer_account``, a Money in Transit account), which nets to zero.
``order`` (per-order mode)
    One **invoice** (``invoiceCreate``, status ``SAVED``, numbered ``AMZ-<order id>``) to the
    marketplace's customer, one item per income posting, each on the **product** of its income
    account (every Wave invoice line needs a product, and the product decides the income
    account). A customer or product that the mapping names (rather than giving a Wave id) is a
    document of its own, rendered once and pushed before the invoice, looked up by name first
    and created only when missing. Postings of the order that are not income (the marketplace
    facilitator tax Amazon collects and remits) cannot sit on a Wave invoice line; they are
    carried by the settlement's transaction, where the facilitator-tax remittance cancels them.
    The settlement that clears the order then yields, per order (Amazon's financial event), one
    money transaction depositing the invoice total into the clearing account against Accounts
    Receivable; the rest of the settlement becomes the transactions described above.

Every money transaction carries ``externalId`` built from the Amazon settlement id (and order
id), which is what the user searches Wave for when an answer was lost. Every account, contact
and transfer account the document needs must be mapped; anything unmapped stops that entry with a
:class:`RenderProblem`. An account mapping may be qualified by currency (``Assets:Bank:AmazonPayouts@GBP``)
for Wave accounts held in that currency. Amounts keep the ledger's exact Decimal; a currency with
more than two decimals is rounded with :func:`~ml_connector.ledger.money.allocate` per side, so
a transaction still balances and nothing is created or lost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
from ml_connector.ledger.marketplaces import MARKETPLACES
from ml_connector.ledger.money import allocate, minor_units
from ml_connector.ledger.posting.conventions import META_BATCH, RECEIVABLE_ACCOUNT, clearing_account
from ml_connector.ledger.posting.invoices import invoice_payments, invoices_paid

CLEARING_PREFIX = "Assets:Amazon:Clearing:"
BANK_PREFIX = "Assets:Bank:"
RECEIVABLE = RECEIVABLE_ACCOUNT
INCOME_PREFIX = "Income:"
TRANSFER_OPTION = "transfer_account"
WAVE_DECIMALS = 2  # Wave keeps at most two decimals on a money transaction
IDEMPOTENCY_KEY_MAX = 128
INVOICE_PREFIX = "AMZ-"

CUSTOMER, PRODUCT, INVOICE, MONEY_TRANSACTION = (
    "customer",
    "product",
    "invoice",
    "money_transaction",
)
KINDS = (CUSTOMER, PRODUCT, INVOICE, MONEY_TRANSACTION)  # also the order pushes go in

# allocate() needs a currency only for its minor unit; any code with two decimals will do.
_TWO_DECIMAL_CURRENCY = "USD"
_CURRENCY_OF_MARKETPLACE = {m.code: m.currency for m in MARKETPLACES}
_SITE_OF_MARKETPLACE = {m.code: m.site for m in MARKETPLACES}


def document_key(context: RenderContext, entry_id: str, kind: str, n: str | None = None) -> str:
    """``wave:<flow>:<entry id>:<kind>[:<n>]``: the same on every run."""
    key = f"{context.target}:{context.flow}:{entry_id}:{kind}"
    return f"{key}:{n}" if n is not None else key


def catalog_key(context: RenderContext, kind: str, name: str) -> str:
    """``wave:<flow>:customer:<name>``: one document per customer or product, whoever needs it."""
    return f"{context.target}:{context.flow}:{kind}:{name}"


def idempotency_key(key: str) -> str:
    """The document key, or a digest of it when longer than 128 characters."""
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    return f"{key.split(':', 1)[0]}:{hashlib.sha256(key.encode()).hexdigest()}"


def invoice_number(order_id: str) -> str:
    return f"{INVOICE_PREFIX}{order_id}"


def wave_id_kind(value: str) -> str | None:
    """``Customer`` for a Wave global id of a customer (base64 ``...Customer:42``), else None."""
    try:
        text = base64.b64decode(value.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    last = text.rsplit(";", 1)[-1]
    kind, separator, key = last.partition(":")
    return kind if separator and key and kind.isalpha() else None


def is_anchor(account: str) -> bool:
    """A canonical account that Wave keeps as Cash & Bank (a money transaction's anchor)."""
    return account.startswith(CLEARING_PREFIX) or account.startswith(BANK_PREFIX)


def default_product_name(account: str) -> str:
    """``Income:Amazon:GiftWrap`` -> ``Amazon GiftWrap``: the product we create for an account."""
    parts = account.split(":")[1:]
    return " ".join(parts) or account


def default_customer_name(marketplace: str) -> str:
    return f"{_SITE_OF_MARKETPLACE.get(marketplace, marketplace)} customers"


def to_wave_amounts(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Signed ``amounts`` on Wave's two decimals; each side rounded once and spread exactly.

    Currencies with two decimals or fewer pass unchanged. Debits and credits are spread
    separately with ``allocate``, so lines that balanced still balance.
    """
    if minor_units(currency) <= WAVE_DECIMALS:
        return list(amounts)
    quantum = Decimal(1).scaleb(-WAVE_DECIMALS)
    result = list(amounts)
    for positive in (True, False):
        positions = [i for i, a in enumerate(amounts) if (a > 0 if positive else a < 0)]
        if not positions:
            continue
        group = [amounts[i] for i in positions]
        total = sum(group, Decimal(0)).quantize(quantum, rounding=ROUND_HALF_EVEN)
        for i, value in zip(positions, allocate(total, group, _TWO_DECIMAL_CURRENCY), strict=True):
            result[i] = value
    return result


def _debits(postings: Iterable[Posting]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        if posting.amount > 0:
            totals[posting.currency] += posting.amount
    return dict(totals)


class _Stop(Exception):
    """An entry cannot be rendered; its problems are already recorded."""


@dataclass(frozen=True)
class _Line:
    account: str
    marketplace: str | None
    description: str
    amount: Decimal  # signed: debit positive


@dataclass
class _Renderer:
    mapping: TargetMapping
    context: RenderContext
    documents: list[Document] = field(default_factory=list)
    problems: list[RenderProblem] = field(default_factory=list)
    catalog: set[str] = field(default_factory=set)
    # Order entries stopped by a problem: the settlement that pays them must stop too.
    stopped: set[str] = field(default_factory=set)
    # Per order entry id: the invoice total and the postings the invoice could not carry.
    invoiced: dict[str, tuple[Decimal, tuple[Posting, ...]]] = field(default_factory=dict)

    # -- references -------------------------------------------------------------------------------

    def problem(self, entry: JournalEntry, reference: str, value: str, message: str) -> None:
        self.problems.append(RenderProblem(entry.id, reference, value, message))

    def _mapped(self, account: str, currency: str) -> str | None:
        return self.mapping.accounts.get(f"{account}@{currency}") or self.mapping.accounts.get(
            account
        )

    def require_accounts(self, entry: JournalEntry) -> None:
        missing = sorted(
            {p.account for p in entry.postings if self._mapped(p.account, p.currency) is None}
        )
        for account in missing:
            self.problem(
                entry,
                "account",
                account,
                f"no Wave account is mapped for {account} (entry {entry.id}, {entry.description})",
            )
        if missing:
            raise _Stop

    def account_id(self, account: str, currency: str) -> str:
        mapped = self._mapped(account, currency)
        assert mapped is not None  # require_accounts ran first
        return mapped

    def transfer_account(self, entry: JournalEntry) -> str:
        value = self.mapping.options.get(TRANSFER_OPTION)
        if not value:
            self.problem(
                entry,
                "account",
                TRANSFER_OPTION,
                f"entry {entry.id} ({entry.description}) moves money between two Cash & Bank "
                "accounts, which Wave takes only through a transfer account: map a Money in "
                f"Transit account as mapping option {TRANSFER_OPTION}",
            )
            raise _Stop
        return value

    # -- documents --------------------------------------------------------------------------------

    def add(
        self,
        entry_ids: tuple[str, ...],
        source_ref: str,
        key: str,
        kind: str,
        payload: dict[str, Any],
        totals: Mapping[str, Decimal],
        *,
        natural_key: str,
        description: str,
        depends_on: tuple[str, ...] = (),
    ) -> None:
        self.documents.append(
            Document(
                key=key,
                kind=kind,
                source_ref=source_ref,
                entry_ids=entry_ids,
                idempotency_key=idempotency_key(key),
                payload=payload,
                totals={c: t for c, t in sorted(totals.items()) if t != 0},
                depends_on=depends_on,
                natural_key=natural_key,
                description=description,
            )
        )

    # -- money transactions -----------------------------------------------------------------------

    @staticmethod
    def netted(postings: Sequence[Posting]) -> list[_Line]:
        """One signed line per account and marketplace, zero lines left out."""
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
            label = (
                "Amazon clearing"
                if is_anchor(account)
                else ", ".join(memos[(account, marketplace)])
            )
            where = f" ({marketplace})" if marketplace else ""
            lines.append(_Line(account, marketplace, f"{label}{where}", amount))
        return lines

    def money_transactions(
        self,
        entry: JournalEntry,
        postings: Sequence[Posting],
        carried: Mapping[str, Decimal],
        *,
        entry_ids: tuple[str, ...],
        depends_on: tuple[str, ...] = (),
    ) -> None:
        """``postings`` (balanced per currency) as one money transaction per anchor group."""
        by_currency: dict[str, list[Posting]] = defaultdict(list)
        for posting in postings:
            by_currency[posting.currency].append(posting)
        for currency in sorted(by_currency):
            lines = self.netted(by_currency[currency])
            if not lines:
                continue
            anchors = sorted(
                (line for line in lines if is_anchor(line.account)),
                key=lambda line: (
                    not line.account.startswith(CLEARING_PREFIX),
                    line.account,
                    line.marketplace or "",
                ),
            )
            if not anchors and self.offsetting_pair(
                entry, currency, lines, carried, entry_ids=entry_ids, depends_on=depends_on
            ):
                continue
            if not anchors:
                self.problem(
                    entry,
                    "account",
                    f"{CLEARING_PREFIX}*",
                    f"entry {entry.id} ({entry.description}) moves no money through a clearing "
                    f"or bank account in {currency}; a Wave money transaction needs one as anchor",
                )
                raise _Stop
            groups: dict[int, list[_Line]] = {i: [] for i in range(len(anchors))}
            for line in lines:
                if is_anchor(line.account):
                    continue
                home = next(
                    (i for i, a in enumerate(anchors) if a.marketplace == line.marketplace), 0
                )
                groups[home].append(line)
            parts = []
            for index, anchor in enumerate(anchors):
                own = groups[index]
                transfer = -(anchor.amount + sum((line.amount for line in own), Decimal(0)))
                own_debits = sum((a.amount for a in [anchor, *own] if a.amount > 0), Decimal(0))
                parts.append((anchor, own, transfer, own_debits))
            residual = carried.get(currency, Decimal(0)) - sum(p[3] for p in parts)
            for index, (anchor, own, transfer, own_debits) in enumerate(parts):
                totals = {currency: own_debits + (residual if index == 0 else Decimal(0))}
                n = currency if len(parts) == 1 else f"{currency}:{anchor.account}"
                external = (
                    f"amazon:{entry.meta.get('settlement_id') or entry.id}:{entry.kind}:{currency}"
                )
                if META_BATCH in entry.meta:
                    # A per-order settlement pays its orders in several entries, one a batch.
                    external += f":{entry.id}"
                if len(parts) > 1:
                    external += f":{index + 1}"
                self.money_transaction(
                    entry,
                    currency,
                    anchor,
                    own,
                    transfer,
                    totals,
                    key=document_key(self.context, entry.id, MONEY_TRANSACTION, n),
                    external_id=external,
                    entry_ids=entry_ids,
                    depends_on=depends_on,
                )

    def offsetting_pair(
        self,
        entry: JournalEntry,
        currency: str,
        lines: Sequence[_Line],
        carried: Mapping[str, Decimal],
        *,
        entry_ids: tuple[str, ...],
        depends_on: tuple[str, ...],
    ) -> bool:
        """Lines that balance among themselves, with a clearing leg that netted to zero.

        A Wave money transaction needs money to move through a Cash & Bank account, yet a
        settlement whose lines offset each other (tax collected and withheld, a reserve held and
        released) moves none. It becomes two transactions on the settlement's clearing account,
        the debits withdrawn and the credits deposited, which leave that account where it was.
        Returns False when no line names the marketplace whose clearing account anchors them.
        """
        marketplace = next((line.marketplace for line in lines if line.marketplace), None)
        if marketplace is None:
            return False
        # The clearing leg of such an entry netted to zero and was left out; the marketplace's
        # clearing account is where the settlement's money would have moved.
        clearing = Posting(clearing_account(marketplace), Decimal(0), currency, marketplace)
        debits = [line for line in lines if line.amount > 0]
        credits = [line for line in lines if line.amount < 0]
        moved = sum((line.amount for line in debits), Decimal(0))
        external = f"amazon:{entry.meta.get('settlement_id') or entry.id}:{entry.kind}:{currency}"
        halves = (
            ("out", -moved, debits, {currency: moved}),
            ("in", moved, credits, {currency: carried.get(currency, Decimal(0)) - moved}),
        )
        for side, anchor_amount, own, totals in halves:
            anchor = _Line(clearing.account, clearing.marketplace, "Amazon clearing", anchor_amount)
            self.money_transaction(
                entry,
                currency,
                anchor,
                own,
                Decimal(0),
                totals,
                key=document_key(self.context, entry.id, MONEY_TRANSACTION, f"{currency}:{side}"),
                external_id=f"{external}:{side}",
                entry_ids=entry_ids,
                depends_on=depends_on,
            )
        return True

    def money_transaction(
        self,
        entry: JournalEntry,
        currency: str,
        anchor: _Line,
        lines: Sequence[_Line],
        transfer: Decimal,
        totals: Mapping[str, Decimal],
        *,
        key: str,
        external_id: str,
        entry_ids: tuple[str, ...],
        depends_on: tuple[str, ...] = (),
        description: str | None = None,
    ) -> None:
        signed = [anchor.amount, *(line.amount for line in lines)]
        labels = [(line.account, line.description) for line in lines]
        if transfer != 0:
            signed.append(transfer)
            labels.append((TRANSFER_OPTION, "transfer between Cash & Bank accounts"))
        rounded = to_wave_amounts(signed, currency)
        anchor_amount, line_amounts = rounded[0], rounded[1:]
        items = []
        for (account, label), amount in zip(labels, line_amounts, strict=True):
            if amount == 0:
                continue
            account_id = (
                self.transfer_account(entry)
                if account == TRANSFER_OPTION
                else self.account_id(account, currency)
            )
            items.append(
                {
                    "accountId": account_id,
                    "amount": abs(amount),
                    "balance": "DEBIT" if amount > 0 else "CREDIT",
                    "description": label,
                }
            )
        text = description or entry.description
        self.add(
            entry_ids,
            entry.source_ref,
            key,
            MONEY_TRANSACTION,
            {
                "externalId": external_id,
                "date": entry.date.isoformat(),
                "description": text,
                "notes": f"ml-connector document {key}",
                "anchor": {
                    "accountId": self.account_id(anchor.account, currency),
                    "amount": abs(anchor_amount),
                    "direction": "DEPOSIT" if anchor_amount > 0 else "WITHDRAWAL",
                },
                "lineItems": items,
            },
            totals,
            natural_key=external_id,
            description=f"money transaction {external_id} ({abs(anchor_amount)} {currency}, {entry.date.isoformat()}): {text}",
            depends_on=depends_on,
        )

    # -- per-order: customers, products, invoices --------------------------------------------------

    def catalog_reference(
        self,
        entry: JournalEntry,
        kind: str,
        value: str,
        payload: dict[str, Any],
        pending: list[Document],
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """``{"id": ...}`` for a mapped Wave id, else ``{"name": ...}`` and the document making it."""
        wave_kind = "Customer" if kind == CUSTOMER else "Product"
        if wave_id_kind(value) == wave_kind:
            return {"id": value}, ()
        key = catalog_key(self.context, kind, value)
        if key not in self.catalog and all(d.key != key for d in pending):
            pending.append(
                Document(
                    key=key,
                    kind=kind,
                    source_ref=entry.source_ref,
                    entry_ids=(entry.id,),
                    idempotency_key=idempotency_key(key),
                    payload={"name": value, **payload},
                    natural_key=value,
                    description=f"{kind} {value!r}",
                )
            )
        return {"name": value}, (key,)

    def invoice(self, entry: JournalEntry) -> None:
        receivable = [p for p in entry.postings if p.account == RECEIVABLE]
        income = [p for p in entry.postings if p.account.startswith(INCOME_PREFIX)]
        held = tuple(
            p
            for p in entry.postings
            if p.account != RECEIVABLE and not p.account.startswith(INCOME_PREFIX)
        )
        order_id = entry.meta.get("order_id", "")
        total = -sum((p.amount for p in income), Decimal(0))
        if not order_id or not receivable or total <= 0 or len(entry.currencies) != 1:
            self.problem(
                entry,
                "account",
                RECEIVABLE,
                f"order entry {entry.id} is not an invoice Wave can take: it needs an order_id, "
                f"one currency, a debit to {RECEIVABLE} and income lines that sum to a positive "
                "amount",
            )
            raise _Stop
        (currency,) = entry.currencies
        marketplace = receivable[0].marketplace or ""
        contact = self.mapping.contacts.get(marketplace)
        if contact is None:
            self.problem(
                entry,
                "contact",
                marketplace or "(none)",
                f"no Wave customer is mapped for marketplace {marketplace or '(none)'} "
                f"(entry {entry.id})",
            )
            raise _Stop
        pending: list[Document] = []
        customer_fields: dict[str, Any] = {}
        if _CURRENCY_OF_MARKETPLACE.get(marketplace):
            customer_fields["currency"] = _CURRENCY_OF_MARKETPLACE[marketplace]
        customer, depends = self.catalog_reference(
            entry, CUSTOMER, contact, customer_fields, pending
        )
        items = []
        for posting in income:
            product_name = self.mapping.items.get(posting.account) or default_product_name(
                posting.account
            )
            product, needs = self.catalog_reference(
                entry,
                PRODUCT,
                product_name,
                {
                    # Unqualified first: one product serves every currency's invoices.
                    "incomeAccountId": self.mapping.accounts.get(posting.account)
                    or self.account_id(posting.account, currency),
                    "unitPrice": Decimal(0),
                    "description": f"Amazon {posting.memo or posting.account}",
                },
                pending,
            )
            depends += tuple(k for k in needs if k not in depends)
            items.append(
                {
                    "product": product,
                    "description": f"{posting.memo or posting.account} - order {order_id}",
                    "quantity": 1,
                    "unitPrice": -posting.amount,
                    # An empty list, not an absent one: absent applies the product's default taxes.
                    "taxes": [],
                }
            )
        number = invoice_number(order_id)
        # The postings the invoice carries: Dr receivable for its total, and the income lines.
        carried = total + sum((p.amount for p in income if p.amount > 0), Decimal(0))
        self.add(
            (entry.id,),
            entry.source_ref,
            document_key(self.context, entry.id, INVOICE),
            INVOICE,
            {
                "customer": customer,
                "invoiceNumber": number,
                "invoiceDate": entry.date.isoformat(),
                "dueDate": entry.date.isoformat(),
                "currency": currency,
                "status": "SAVED",
                "title": "Amazon order",
                "poNumber": order_id,
                "memo": entry.description,
                "items": items,
            },
            {currency: carried},
            natural_key=number,
            description=f"invoice {number}",
            depends_on=depends,
        )
        for document in pending:
            self.catalog.add(document.key)
            self.documents.append(document)
        self.invoiced[entry.id] = (total, held)

    def settlement(self, entry: JournalEntry, orders: Sequence[JournalEntry]) -> None:
        clears = [p for p in entry.postings if p.account == RECEIVABLE and p.amount < 0]
        if self.context.mode != "per-order" or not clears:
            self.money_transactions(
                entry, entry.postings, _debits(entry.postings), entry_ids=(entry.id,)
            )
            return
        stopped = [o for o in orders if o.id in self.stopped]
        if stopped:
            self.problem(
                entry,
                "account",
                RECEIVABLE,
                f"settlement entry {entry.id} pays order(s) "
                f"{', '.join(o.meta.get('order_id', o.id) for o in stopped)} whose invoices could "
                "not be rendered; fix those first",
            )
            raise _Stop
        groups = invoice_payments(entry, orders)
        for group in groups:
            if group.invoiced != group.owed:
                self.problem(
                    entry,
                    "account",
                    RECEIVABLE,
                    f"settlement entry {entry.id} clears {group.owed} {group.currency} of "
                    f"{RECEIVABLE} for marketplace {group.marketplace}, but the order entries of "
                    f"its settlement billed {group.invoiced}: the payments cannot be matched to "
                    "invoices",
                )
                raise _Stop
        remainder: list[Posting] = list(entry.postings)
        carried = _debits(entry.postings)
        entry_ids = [entry.id]
        payments = []
        for group in groups:
            currency, marketplace = group.currency, group.marketplace
            if len(group.clearing) != 1:
                self.problem(
                    entry,
                    "account",
                    f"{CLEARING_PREFIX}{marketplace}",
                    f"payments of {marketplace} orders need the one {CLEARING_PREFIX}* account of "
                    f"that marketplace in {currency}; settlement entry {entry.id} has "
                    f"{len(group.clearing)}",
                )
                raise _Stop
            (clearing,) = group.clearing
            for order, _billed in group.invoices:
                total, held = self.invoiced[order.id]
                # The order's postings beyond its invoice (tax) ride with the settlement.
                remainder.extend(held)
                remainder.extend(p for p in order.postings if p.account == RECEIVABLE)
                remainder.append(Posting(clearing, -total, currency, marketplace, "paid by order"))
                order_debits = _debits(order.postings).get(currency, Decimal(0))
                invoice_carried = total + sum(
                    (
                        p.amount
                        for p in order.postings
                        if p.account.startswith(INCOME_PREFIX) and p.amount > 0
                    ),
                    Decimal(0),
                )
                carried[currency] = (
                    carried.get(currency, Decimal(0)) + order_debits - invoice_carried - total
                )
                entry_ids.append(order.id)
                payments.append((order, clearing, marketplace, currency, total))
        for order, clearing_leg, marketplace, currency, total in payments:
            order_id = order.meta.get("order_id", "")
            number = invoice_number(order_id)
            self.money_transaction(
                entry,
                currency,
                _Line(clearing_leg, marketplace, "Amazon clearing", total),
                [_Line(RECEIVABLE, marketplace, f"payment of invoice {number}", -total)],
                Decimal(0),
                {currency: total},
                key=document_key(self.context, entry.id, MONEY_TRANSACTION, f"order:{order_id}"),
                external_id=f"amazon:{entry.meta.get('settlement_id') or entry.id}:order:{order_id}",
                entry_ids=(entry.id, order.id),
                depends_on=(document_key(self.context, order.id, INVOICE),),
                description=f"Amazon payment of order {order_id} (invoice {number}) in settlement "
                f"{entry.meta.get('settlement_id', '')}",
            )
        self.money_transactions(entry, remainder, carried, entry_ids=tuple(entry_ids))

    # -- dispatch ---------------------------------------------------------------------------------

    def entry(self, entry: JournalEntry, orders: Sequence[JournalEntry]) -> None:
        start = len(self.documents)
        catalog_before = set(self.catalog)
        try:
            self.require_accounts(entry)
            if entry.kind == "order" and self.context.mode == "per-order":
                self.invoice(entry)
            elif entry.kind == "settlement":
                self.settlement(entry, orders)
            else:
                self.money_transactions(
                    entry, entry.postings, _debits(entry.postings), entry_ids=(entry.id,)
                )
        except _Stop:
            del self.documents[start:]  # an entry goes to Wave whole or not at all
            self.catalog = catalog_before
            self.stopped.add(entry.id)


def render_entries(
    entries: Sequence[JournalEntry], mapping: TargetMapping, context: RenderContext
) -> Rendered:
    """Every entry's documents, or a problem per unmapped reference (see the module docstring)."""
    paid = invoices_paid(entries)
    renderer = _Renderer(mapping, context)
    # Orders first: a settlement's per-order payments need their invoices' totals.
    ordered = sorted(entries, key=lambda e: e.kind != "order")
    for entry in ordered:
        renderer.entry(entry, paid.get(entry.id, []))
    position = {entry.id: index for index, entry in enumerate(entries)}
    documents = sorted(
        renderer.documents,
        key=lambda d: (
            KINDS.index(d.kind) if d.kind in (CUSTOMER, PRODUCT) else 2,
            min(position.get(e, 0) for e in d.entry_ids),
        ),
    )
    return Rendered(tuple(documents), tuple(renderer.problems))
