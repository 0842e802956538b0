"""Posting settlements: rules applied to a settlement's lines give balanced entries, or a hold.

- :func:`book_settlement` / :func:`release_hold` and :class:`Booking` (:mod:`.booking`), and
  :func:`plan_settlement` / :class:`SettlementPlan` to book a file too large to hold;
- :class:`~.tally.SettlementTally`, the one pass over the lines both are built on (:mod:`.tally`);
- the checks behind a hold, :class:`HoldReason` and :class:`UnmappedCombination` (:mod:`.checks`);
- :func:`compare_lines` for Finances API events against the report (:mod:`.compare`);
- what booked entries carry for reconciliation (:mod:`.conventions`).
"""

from ml_connector.ledger.posting.booking import (
    Booking,
    HoldRelease,
    Mode,
    SettlementPlan,
    Status,
    book_settlement,
    plan_settlement,
    release_hold,
)
from ml_connector.ledger.posting.checks import (
    HOLD_FOREIGN_LINE,
    HOLD_LINES_DO_NOT_SUM,
    HOLD_MIXED_CURRENCIES,
    HOLD_RESERVE_UNPAIRED,
    HOLD_SUMMARY_MISSING,
    RELEASABLE_HOLDS,
    HoldReason,
    UnmappedCombination,
)
from ml_connector.ledger.posting.compare import LineDifference, compare_lines

__all__ = [
    "HOLD_FOREIGN_LINE",
    "HOLD_LINES_DO_NOT_SUM",
    "HOLD_MIXED_CURRENCIES",
    "HOLD_RESERVE_UNPAIRED",
    "HOLD_SUMMARY_MISSING",
    "RELEASABLE_HOLDS",
    "Booking",
    "HoldReason",
    "HoldRelease",
    "LineDifference",
    "Mode",
    "SettlementPlan",
    "Status",
    "UnmappedCombination",
    "book_settlement",
    "compare_lines",
    "plan_settlement",
    "release_hold",
]
