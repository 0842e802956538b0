"""What booked entries carry, so that reconciliation and reports can read them back.

Booking writes facts into entries in a few fixed places; this module names those places once, for
the booking code that writes them and the reconciliation code that reads them:

- entry ``kind``: ``settlement`` (the lines), ``payout`` (deposit or charge), ``order`` (per-order
  mode invoices);
- entry ``meta`` keys (all values strings): :data:`SETTLEMENT_META_KEYS` on every entry of a
  settlement, ``order_id`` on order entries, ``month`` on month-split parts and the ``release_*``
  keys when a hold was released;
- posting ``memo``: the posting's report category (``sales``, ``fee_fba``...), followed by a
  space and the order id where a posting belongs to one order (``receivable 111-2223334-5556667``).
"""

from __future__ import annotations

from ml_connector.ledger.marketplaces import MARKETPLACES

KIND_SETTLEMENT = "settlement"
KIND_PAYOUT = "payout"
KIND_ORDER = "order"

META_SETTLEMENT_ID = "settlement_id"
META_TOTAL = "total_amount"
META_CURRENCY = "currency"
META_DEPOSIT_DATE = "deposit_date"
META_START = "start"
META_END = "end"
META_MODE = "mode"
META_ORDER_ID = "order_id"
META_MONTH = "month"
META_RELEASED_HOLDS = "release_holds"
META_RELEASE_NOTE = "release_note"
META_DIFFERENCE = "release_difference"
META_DIFFERENCE_ACCOUNT = "release_difference_account"
# Per-order mode: the number of a receivable entry (one batch of orders the settlement pays).
META_BATCH = "batch"

SETTLEMENT_META_KEYS: tuple[str, ...] = (
    META_SETTLEMENT_ID,
    META_TOTAL,
    META_CURRENCY,
    META_DEPOSIT_DATE,
    META_START,
    META_END,
    META_MODE,
)

MODE_SUMMARY = "summary"
MODE_PER_ORDER = "per-order"
MODES: tuple[str, ...] = (MODE_SUMMARY, MODE_PER_ORDER)

CLEARING_PREFIX = "Assets:Amazon:Clearing:"
RESERVE_ACCOUNT = "Assets:Amazon:Reserve"
RECEIVABLE_ACCOUNT = "Assets:Amazon:Receivable"
DEFAULT_PAYOUT_ACCOUNT = "Assets:Bank:AmazonPayouts"

CATEGORY_CLEARING = "clearing"  # the memo of clearing postings: they are the settlement itself
CATEGORY_RECEIVABLE = "receivable"
CATEGORY_UNRECONCILED = "unreconciled"
CATEGORY_PAYOUT = "payout"
CATEGORY_RESERVE_IN = "reserve_carried_in"
CATEGORY_RESERVE_OUT = "reserve_carried_out"


def clearing_account(marketplace_code: str) -> str:
    """The clearing account of one marketplace: ``Assets:Amazon:Clearing:US``."""
    return CLEARING_PREFIX + marketplace_code


def is_clearing(account: str) -> bool:
    return account.startswith(CLEARING_PREFIX)


def settlement_source(settlement_id: str) -> str:
    return f"amazon:settlement:{settlement_id}"


def order_source(order_id: str) -> str:
    return f"amazon:order:{order_id}"


def posting_memo(category: str, order_id: str = "") -> str:
    """The memo a booked posting carries: its category, then the order id if it has one."""
    return f"{category} {order_id}" if order_id else category


def memo_category(memo: str | None) -> str:
    """The category a booked posting's memo names (``""`` for a memo we did not write)."""
    return (memo or "").split(" ", 1)[0]


def memo_order_id(memo: str | None) -> str:
    """The order id a booked posting's memo names, or ``""``."""
    parts = (memo or "").split(" ", 1)
    return parts[1] if len(parts) == 2 else ""


def home_marketplace(currency: str) -> str:
    """The marketplace a settlement with no named marketplace belongs to.

    The first marketplace in Amazon's table settling in ``currency`` (USD: US, EUR: DE, GBP: UK,
    JPY: JP); a currency no marketplace uses stands for itself.
    """
    return next((m.code for m in MARKETPLACES if m.currency == currency), currency)
