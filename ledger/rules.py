"""Posting rules: which account, and which report category, each kind of settlement line books to.

A settlement line is identified by its *combination*: (transaction-type, amount-type,
amount-description), e.g. ``("Order", "ItemFees", "Commission")``. A :class:`Rule` names a
combination, with ``*`` standing for any value in a field, and says where the line's money goes:
the canonical ``account`` and the ``category`` reports break figures down by.

Rules are data. The defaults live in ``default_rules.toml`` beside this module; a flow's
configuration can carry its own rules in the same TOML shape, and :meth:`RuleTable.with_overrides`
puts them in front of the defaults, so the first rule that matches a line wins.

Matching ignores case and surrounding blanks (published files spell ``other-transaction`` and
``Other-Transaction``), so ``Order`` in a rule matches ``order`` in a file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from ml_connector.ledger.accounts import validate_account_path
from ml_connector.ledger.errors import InputError
from ml_connector.ledger.settlement import SettlementLine

WILDCARD = "*"

#: Where every settlement's lines meet before the payout; rules may not book there, or a line
#: would post to clearing and straight back, hiding it from every report.
CLEARING_ROOT = "Assets:Amazon:Clearing"

#: The categories reports break a settlement down by, each with what it holds.
CATEGORY_DESCRIPTIONS: Mapping[str, str] = {
    "sales": "what customers paid for goods (item principal)",
    "shipping": "what customers paid for delivery",
    "gift_wrap": "what customers paid for gift wrapping",
    "tax": "sales tax or VAT charged to customers, and its refunds",
    "facilitator_tax": "tax Amazon withheld to remit itself as marketplace facilitator",
    "promotion": "discounts and promotions you funded",
    "refund": "money returned to customers (principal, shipping, goodwill)",
    "restocking_fee": "restocking fees kept from a refund",
    "fee_referral": "referral fees (Amazon's commission) and their refunds",
    "fee_fba": "Fulfilment by Amazon fees: pick, pack, ship, chargebacks, returns",
    "fee_closing": "fixed and variable closing fees",
    "fee_other": "other selling fees (digital services, technology, coupons, deals...)",
    "refund_commission": "the part of the referral fee Amazon keeps when you refund",
    "reserve_carried_in": "reserve Amazon held last time and releases now",
    "reserve_carried_out": "reserve Amazon holds back from this settlement",
    "storage": "FBA storage and long-term storage fees",
    "inventory_fees": "FBA inventory services: removal, disposal, inbound, labelling",
    "subscription": "the selling-plan subscription",
    "advertising": "sponsored-products and other advertising charges",
    "shipping_labels": "shipping labels bought through Amazon and their refunds",
    "reimbursement": "money Amazon pays back for lost or damaged inventory and fee errors",
    "adjustment": "Amazon's corrections to earlier amounts",
    "transfer": "money moved between Amazon and you outside the deposit (failed or repaid)",
    "other": "anything else Amazon reports",
    "receivable": "per-order mode: invoiced orders this settlement pays",
    "unreconciled": "a difference you chose to book when releasing a hold",
    "payout": "the deposit itself (or the charge, when negative)",
}
CATEGORIES: frozenset[str] = frozenset(CATEGORY_DESCRIPTIONS)

#: Categories only the posting engine assigns; a rule may not claim them.
ENGINE_CATEGORIES: frozenset[str] = frozenset({"receivable", "unreconciled", "payout"})

_FIELDS = ("transaction_type", "amount_type", "amount_description", "account", "category")
_OPTIONAL_FIELDS = ("note",)


def _normal(value: str) -> str:
    return value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Rule:
    """Lines of one combination (``*`` = any value) book to ``account`` under ``category``.

    ``note`` is free text for people (why the rule is what it is); it never affects matching.
    """

    transaction_type: str
    amount_type: str
    amount_description: str
    account: str
    category: str
    note: str = ""

    def __post_init__(self) -> None:
        where = f"rule {self.combination_text}"
        for name in ("transaction_type", "amount_type", "amount_description"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InputError(
                    "must be non-empty text or '*'", source=where, field=name, value=value
                )
        validate_account_path(self.account)
        if self.account == CLEARING_ROOT or self.account.startswith(CLEARING_ROOT + ":"):
            raise InputError(
                "a rule may not book to a clearing account: the line would post to clearing "
                "and straight back",
                source=where,
                field="account",
                value=self.account,
            )
        if self.category not in CATEGORIES or self.category in ENGINE_CATEGORIES:
            allowed = ", ".join(sorted(CATEGORIES - ENGINE_CATEGORIES))
            raise InputError(
                f"unknown category; use one of {allowed}",
                source=where,
                field="category",
                value=self.category,
            )

    @property
    def combination(self) -> tuple[str, str, str]:
        return (self.transaction_type, self.amount_type, self.amount_description)

    @property
    def combination_text(self) -> str:
        return " / ".join(str(part) for part in self.combination)

    @property
    def is_exact(self) -> bool:
        """True when no field is a wildcard: the rule names one combination."""
        return WILDCARD not in self.combination

    def matches(self, transaction_type: str, amount_type: str, amount_description: str) -> bool:
        """Whether a line of this combination falls under the rule (case- and blank-blind)."""
        return all(
            pattern == WILDCARD or _normal(pattern) == _normal(value)
            for pattern, value in zip(
                self.combination, (transaction_type, amount_type, amount_description), strict=True
            )
        )

    def to_dict(self) -> dict[str, str]:
        data = {name: getattr(self, name) for name in _FIELDS}
        if self.note:
            data["note"] = self.note
        return data


class RuleTable:
    """An ordered list of rules; the first rule matching a line decides its account.

    Look-ups are cached per combination (a settlement has thousands of lines but a few dozen
    combinations), so matching costs a dictionary look-up per line.
    """

    __slots__ = ("_rules", "_cache")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        for rule in self._rules:
            if not isinstance(rule, Rule):
                raise InputError("a rule table holds Rule records", field="rules", value=rule)
        self._cache: dict[tuple[str, str, str], Rule | None] = {}

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __repr__(self) -> str:
        return f"RuleTable({len(self._rules)} rules)"

    def match(self, line: SettlementLine) -> Rule | None:
        """The first rule matching ``line``'s combination, or None when no rule does."""
        return self.match_combination(*line.combination)

    def match_combination(
        self, transaction_type: str, amount_type: str, amount_description: str
    ) -> Rule | None:
        key = (_normal(transaction_type), _normal(amount_type), _normal(amount_description))
        if key in self._cache:
            return self._cache[key]
        found = next(
            (
                r
                for r in self._rules
                if r.matches(transaction_type, amount_type, amount_description)
            ),
            None,
        )
        self._cache[key] = found
        return found

    def with_overrides(self, user_rules: Iterable[Rule]) -> RuleTable:
        """A new table with ``user_rules`` in front of this table's, so they win any tie."""
        return RuleTable((*user_rules, *self._rules))


def load_rules(toml_text: str, *, source: str = "rules") -> tuple[Rule, ...]:
    """Parse rules from TOML: an array of tables named ``rules``.

    Either form works (they are the same TOML value)::

        [[rules]]
        transaction_type = "Order"
        amount_type = "ItemFees"
        amount_description = "Commission"
        account = "Expenses:Amazon:ReferralFees"
        category = "fee_referral"

        rules = [ { transaction_type = "*", amount_type = "Cost of Advertising", ... } ]

    Every field is required text (``*`` for any value) except ``note``. An error names the
    rule's position and the field.
    """
    try:
        # No money in rules; Decimal keeps any stray number exact and out of float.
        document = tomllib.loads(toml_text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not valid TOML: {error}", source=source) from None
    unknown = set(document) - {"rules"}
    if unknown:
        raise InputError(
            "unexpected top-level keys; rules go in an array named 'rules'",
            source=source,
            value=sorted(unknown),
        )
    entries = document.get("rules", [])
    if not isinstance(entries, list):
        raise InputError("'rules' must be an array of tables", source=source, field="rules")
    return tuple(
        _rule_from(entry, source=f"{source}, rule {n}") for n, entry in enumerate(entries, 1)
    )


def _rule_from(entry: Any, *, source: str) -> Rule:
    if not isinstance(entry, dict):
        raise InputError("a rule must be a table", source=source, value=entry)
    extra = set(entry) - set(_FIELDS) - set(_OPTIONAL_FIELDS)
    if extra:
        raise InputError("unknown fields", source=source, value=sorted(extra))
    for name in (*_FIELDS, *_OPTIONAL_FIELDS):
        if name in entry and not isinstance(entry[name], str):
            raise InputError("must be text", source=source, field=name, value=entry[name])
    missing = [name for name in _FIELDS if name not in entry]
    if missing:
        raise InputError(f"missing {', '.join(missing)}", source=source)
    return Rule(**{name: entry[name] for name in (*_FIELDS, *_OPTIONAL_FIELDS) if name in entry})


DEFAULT_RULES_FILE = "default_rules.toml"


def default_rules_text() -> str:
    """The text of the shipped default rules."""
    return (
        resources.files("ml_connector.ledger")
        .joinpath(DEFAULT_RULES_FILE)
        .read_text(encoding="utf-8")
    )


def default_rules() -> RuleTable:
    """The shipped defaults: a rule for every combination Amazon is known to report."""
    return RuleTable(load_rules(default_rules_text(), source=DEFAULT_RULES_FILE))
