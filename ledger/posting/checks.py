"""The checks a settlement must pass before it is booked, in words a bookkeeper understands.

A settlement books whole or not at all. :func:`hold_reasons` lists what stops it (each with a
machine code, a sentence for people, and whether a documented decision may release it);
:func:`unmapped_combinations` lists the kinds of line no posting rule covers. Both read a
:class:`~.tally.SettlementTally` of the lines (never the lines themselves), so they cost nothing
per line and do not depend on the lines' order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ml_connector.ledger.money import format_amount
from ml_connector.ledger.posting.conventions import CATEGORY_RESERVE_IN, CATEGORY_RESERVE_OUT
from ml_connector.ledger.posting.tally import Seen, SettlementTally, file_position
from ml_connector.ledger.posting.tally import combination_key as combination_key  # re-export
from ml_connector.ledger.settlement import SettlementHeader, SettlementLine

HOLD_SUMMARY_MISSING = "summary_missing"
HOLD_FOREIGN_LINE = "foreign_line"
HOLD_MIXED_CURRENCIES = "mixed_currencies"
HOLD_LINES_DO_NOT_SUM = "lines_do_not_sum"
HOLD_RESERVE_UNPAIRED = "reserve_unpaired"

#: Holds a documented decision may release; the others need a corrected file.
RELEASABLE_HOLDS: frozenset[str] = frozenset({HOLD_LINES_DO_NOT_SUM, HOLD_RESERVE_UNPAIRED})

_FRESH_COPY = (
    "download the settlement report again from Seller Central (Reports > Payments > "
    "All Statements) and book the fresh copy."
)
_DOWNLOAD_AGAIN = _FRESH_COPY[0].upper() + _FRESH_COPY[1:]


@dataclass(frozen=True, slots=True)
class HoldReason:
    """Why a settlement is not booked: ``code`` for programs, ``message`` for people."""

    code: str
    message: str
    releasable: bool

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "releasable": self.releasable}


@dataclass(frozen=True, slots=True)
class UnmappedCombination:
    """A kind of line no rule covers: how many lines have it and one of them to look at."""

    transaction_type: str
    amount_type: str
    amount_description: str
    line_count: int
    example: SettlementLine

    @property
    def combination(self) -> tuple[str, str, str]:
        return (self.transaction_type, self.amount_type, self.amount_description)

    @property
    def example_text(self) -> str:
        """Where to find the example: ``settlement.txt line 12, order 111-..., -3.00 USD``."""
        return describe_line(self.example)

    def to_dict(self) -> dict[str, object]:
        return {
            "transaction_type": self.transaction_type,
            "amount_type": self.amount_type,
            "amount_description": self.amount_description,
            "line_count": self.line_count,
            "example": {
                "source": self.example.source,
                "line": self.example.line_no,
                "order_id": self.example.order_id,
                "amount": format_amount(self.example.amount, self.example.currency),
                "currency": self.example.currency,
            },
        }


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as a person reads it: ``1,234.56 USD``, ``-1,500 JPY``."""
    return f"{amount:,} {currency}"


def describe_line(line: SettlementLine) -> str:
    where = f"{line.source} line {line.line_no}" if line.source else f"line {line.line_no}"
    order = f", order {line.order_id}" if line.order_id else ""
    return f"{where}{order}, {money_text(line.amount, line.currency)}"


def hold_reasons(
    header: SettlementHeader | None,
    tally: SettlementTally,
    reserve_carried_in: Decimal | None = None,
) -> tuple[HoldReason, ...]:
    """Every reason to hold the settlement, in a fixed order; empty when it may be booked.

    ``tally`` holds every line of the settlement, fed with the header's settlement id and
    currency as the expected ones (:class:`SettlementTally`). ``reserve_carried_in`` is the
    reserve the books hold from earlier settlements in this settlement's currency, when the
    caller knows it (None: unknown).
    """
    reasons: list[HoldReason] = []
    settlement_id = header.settlement_id if header else first_settlement_id(tally)
    if header is None:
        reasons.append(
            HoldReason(
                HOLD_SUMMARY_MISSING,
                f"Settlement {settlement_id or '(unknown)'} has no summary row, so the deposit "
                "Amazon made and its date are unknown and the lines cannot be checked against "
                f"them. {_DOWNLOAD_AGAIN} The summary is the first row after the column names.",
                releasable=False,
            )
        )
    foreign = [seen for sid, seen in tally.other_ids.items() if sid != settlement_id]
    if foreign:
        others = sorted(seen.first.settlement_id for seen in foreign)
        reasons.append(
            HoldReason(
                HOLD_FOREIGN_LINE,
                f"{sum(seen.count for seen in foreign)} line(s) belong to settlement "
                f"{', '.join(others)}, not {settlement_id} (first: {_first_of(foreign)}). Two "
                "reports were probably joined into one file; book each settlement from its own "
                "report.",
                releasable=False,
            )
        )
    currencies = set(tally.other_currencies) | ({header.currency} if header else set())
    if len(currencies) > 1:
        expected = header.currency if header else min(currencies)
        odd = [seen for cur, seen in tally.other_currencies.items() if cur != expected]
        reasons.append(
            HoldReason(
                HOLD_MIXED_CURRENCIES,
                f"Settlement {settlement_id} mixes currencies ({', '.join(sorted(currencies))}); "
                f"Amazon settles in one currency per report. {sum(s.count for s in odd)} line(s) "
                f"are not in {expected} (first: {_first_of(odd)}). {_DOWNLOAD_AGAIN}",
                releasable=False,
            )
        )
    elif header is not None:
        lines_sum = tally.lines_sum
        if lines_sum != header.total_amount:
            cur = header.currency
            difference = lines_sum - header.total_amount
            kind = "deposit" if header.total_amount >= 0 else "charge (a negative total)"
            reasons.append(
                HoldReason(
                    HOLD_LINES_DO_NOT_SUM,
                    f"Lines sum to {money_text(lines_sum, cur)} but Amazon reports a {kind} of "
                    f"{money_text(header.total_amount, cur)}: a difference of "
                    f"{money_text(difference, cur)}. Usually a line is missing from the file; "
                    f"{_FRESH_COPY} If the difference stays, "
                    "release the hold and book the difference to an account you choose, with a "
                    "note saying why.",
                    releasable=True,
                )
            )
    reserve_reason = _unpaired_reserve(tally, settlement_id, reserve_carried_in)
    if reserve_reason is not None:
        reasons.append(reserve_reason)
    return tuple(reasons)


def first_settlement_id(tally: SettlementTally) -> str:
    """The settlement id of the line that comes first in the file ("" without lines)."""
    if not tally.other_ids:
        return ""
    first = min((seen.first for seen in tally.other_ids.values()), key=file_position)
    settlement_id: str = first.settlement_id
    return settlement_id


def _first_of(groups: Sequence[Seen]) -> str:
    return describe_line(min((seen.first for seen in groups), key=file_position))


def _unpaired_reserve(
    tally: SettlementTally, settlement_id: str, carried_in: Decimal | None
) -> HoldReason | None:
    """A reserve held with no release of the previous one, or released with no new one.

    When the books say what reserve was carried in, a lone line is explained by them: a new
    reserve when none was carried (the first, or Amazon starting again), a release of exactly
    what was carried (Amazon stopped holding one). Only without that knowledge, or when the
    books disagree with the file, does a lone reserve line hold the settlement.
    """
    held = tally.reserve_sums((CATEGORY_RESERVE_IN, CATEGORY_RESERVE_OUT))
    if (CATEGORY_RESERVE_IN in held) == (CATEGORY_RESERVE_OUT in held):
        return None
    if carried_in is not None:
        if CATEGORY_RESERVE_OUT in held and carried_in == 0:
            return None
        if CATEGORY_RESERVE_IN in held and held[CATEGORY_RESERVE_IN] == carried_in:
            return None
    currency = tally.first_line.currency if tally.first_line is not None else ""
    if CATEGORY_RESERVE_OUT in held:
        amount = -held[CATEGORY_RESERVE_OUT]
        message = (
            f"Amazon holds back a reserve of {money_text(amount, currency)} in settlement "
            f"{settlement_id}, but the file shows no release of the previous reserve; after the "
            "first reserve, every settlement normally has both. If this is the first settlement "
            "in which Amazon holds a reserve, release the hold; otherwise a line is missing: "
            + _FRESH_COPY
        )
    else:
        amount = held[CATEGORY_RESERVE_IN]
        message = (
            f"Amazon releases a reserve of {money_text(amount, currency)} from an earlier "
            f"settlement in settlement {settlement_id}, but holds no new reserve. If Amazon has "
            "stopped holding a reserve on your account, release the hold; otherwise a line is "
            f"missing: {_FRESH_COPY}"
        )
    return HoldReason(HOLD_RESERVE_UNPAIRED, message, releasable=True)


def unmapped_combinations(tally: SettlementTally) -> tuple[UnmappedCombination, ...]:
    """Each combination no rule matched, once, with its line count and its first line."""
    result = []
    for key in sorted(tally.unmapped):
        seen = tally.unmapped[key]
        transaction_type, amount_type, amount_description = seen.first.combination
        result.append(
            UnmappedCombination(
                transaction_type, amount_type, amount_description, seen.count, seen.first
            )
        )
    return tuple(result)
