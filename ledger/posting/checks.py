"""The checks a settlement must pass before it is booked, in words a bookkeeper understands.

A settlement books whole or not at all. :func:`hold_reasons` lists what stops it (each with a
machine code, a sentence for people, and whether a documented decision may release it);
:func:`unmapped_combinations` lists the kinds of line no posting rule covers. Both are pure and
independent of line order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ml_connector.ledger.money import format_amount
from ml_connector.ledger.posting.conventions import CATEGORY_RESERVE_IN, CATEGORY_RESERVE_OUT
from ml_connector.ledger.rules import Rule
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


def _first(lines: Sequence[SettlementLine]) -> SettlementLine:
    """The line that comes first in the file, whatever order the lines were given in."""
    return min(lines, key=lambda line: (line.source, line.line_no))


def hold_reasons(
    header: SettlementHeader | None,
    lines: Sequence[SettlementLine],
    rules_by_line: Sequence[Rule | None],
    reserve_carried_in: Decimal | None = None,
) -> tuple[HoldReason, ...]:
    """Every reason to hold the settlement, in a fixed order; empty when it may be booked.

    ``rules_by_line`` is the rule each line matched (None when unmapped), index for index.
    ``reserve_carried_in`` is the reserve the books hold from earlier settlements in this
    settlement's currency, when the caller knows it (None: unknown).
    """
    reasons: list[HoldReason] = []
    settlement_id = (
        header.settlement_id if header else (_first(lines).settlement_id if lines else "")
    )
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
    foreign = [line for line in lines if line.settlement_id != settlement_id]
    if foreign:
        others = sorted({line.settlement_id for line in foreign})
        reasons.append(
            HoldReason(
                HOLD_FOREIGN_LINE,
                f"{len(foreign)} line(s) belong to settlement {', '.join(others)}, not "
                f"{settlement_id} (first: {describe_line(_first(foreign))}). Two reports were "
                "probably joined into one file; book each settlement from its own report.",
                releasable=False,
            )
        )
    currencies = {line.currency for line in lines} | ({header.currency} if header else set())
    if len(currencies) > 1:
        expected = header.currency if header else min(currencies)
        odd = [line for line in lines if line.currency != expected]
        reasons.append(
            HoldReason(
                HOLD_MIXED_CURRENCIES,
                f"Settlement {settlement_id} mixes currencies ({', '.join(sorted(currencies))}); "
                f"Amazon settles in one currency per report. {len(odd)} line(s) are not in "
                f"{expected} (first: {describe_line(_first(odd))}). {_DOWNLOAD_AGAIN}",
                releasable=False,
            )
        )
    elif header is not None:
        lines_sum = sum((line.amount for line in lines), Decimal(0))
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
    reserve_reason = _unpaired_reserve(lines, rules_by_line, settlement_id, reserve_carried_in)
    if reserve_reason is not None:
        reasons.append(reserve_reason)
    return tuple(reasons)


def _unpaired_reserve(
    lines: Sequence[SettlementLine],
    rules_by_line: Sequence[Rule | None],
    settlement_id: str,
    carried_in: Decimal | None,
) -> HoldReason | None:
    """A reserve held with no release of the previous one, or released with no new one.

    When the books say what reserve was carried in, a lone line is explained by them: a new
    reserve when none was carried (the first, or Amazon starting again), a release of exactly
    what was carried (Amazon stopped holding one). Only without that knowledge, or when the
    books disagree with the file, does a lone reserve line hold the settlement.
    """
    held: dict[str, Decimal] = defaultdict(Decimal)  # category -> amount
    for line, rule in zip(lines, rules_by_line, strict=True):
        if rule is not None and rule.category in (CATEGORY_RESERVE_IN, CATEGORY_RESERVE_OUT):
            held[rule.category] += line.amount
    if (CATEGORY_RESERVE_IN in held) == (CATEGORY_RESERVE_OUT in held):
        return None
    if carried_in is not None:
        if CATEGORY_RESERVE_OUT in held and carried_in == 0:
            return None
        if CATEGORY_RESERVE_IN in held and held[CATEGORY_RESERVE_IN] == carried_in:
            return None
    currency = lines[0].currency
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


def combination_key(line: SettlementLine) -> tuple[str, str, str]:
    """A line's combination as rules compare it: trimmed and case-folded."""
    transaction_type, amount_type, amount_description = line.combination
    return (
        transaction_type.strip().casefold(),
        amount_type.strip().casefold(),
        amount_description.strip().casefold(),
    )


def unmapped_combinations(
    lines: Sequence[SettlementLine], rules_by_line: Sequence[Rule | None]
) -> tuple[UnmappedCombination, ...]:
    """Each combination no rule matched, once, with its line count and its first line."""
    found: dict[tuple[str, str, str], list[SettlementLine]] = defaultdict(list)
    for line, rule in zip(lines, rules_by_line, strict=True):
        if rule is None:
            found[combination_key(line)].append(line)
    result = []
    for key in sorted(found):
        group = found[key]
        example = _first(group)
        transaction_type, amount_type, amount_description = example.combination
        result.append(
            UnmappedCombination(
                transaction_type, amount_type, amount_description, len(group), example
            )
        )
    return tuple(result)
