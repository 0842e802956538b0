"""Posting settlements: rules applied to a settlement's lines give balanced entries, or a hold.

- :func:`book_settlement` / :func:`release_hold` and :class:`Booking` (:mod:`.booking`);
- the checks behind a hold, :class:`HoldReason` and :class:`UnmappedCombination` (:mod:`.checks`);
- :func:`compare_lines` for Finances API events against the report (:mod:`.compare`);
- what booked entries carry for reconciliation (:mod:`.conventions`).
"""

from ml_connector.ledger.posting.booking import (
    Booking,
    HoldRelease,
    Mode,
    Status,
    book_settlement,
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
    "Status",
    "UnmappedCombination",
    "book_settlement",
    "compare_lines",
    "release_hold",
]
