"""Posting rules: validation, matching, overrides and the TOML format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_posting_fixtures import line

from ml_connector.ledger.errors import InputError
from ml_connector.ledger.rules import CATEGORIES, Rule, RuleTable, load_rules

SALES = Rule("Order", "ItemPrice", "Principal", "Income:Amazon:Sales", "sales")
ANY_FEE = Rule("*", "ItemFees", "*", "Expenses:Amazon:OtherFees", "fee_other")
COMMISSION = Rule("*", "ItemFees", "Commission", "Expenses:Amazon:ReferralFees", "fee_referral")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("", "ItemPrice", "Principal", "Income:Amazon:Sales", "sales"), "non-empty"),
        (("Order", "ItemPrice", "Principal", "Sales", "sales"), "account must start"),
        (("Order", "ItemPrice", "Principal", "Assets:Amazon:Clearing:US", "sales"), "clearing"),
        (("Order", "ItemPrice", "Principal", "Income:Amazon:Sales", "revenue"), "unknown category"),
        (("Order", "ItemPrice", "Principal", "Income:Amazon:Sales", "payout"), "unknown category"),
    ],
)
def test_a_bad_rule_is_refused_with_its_field(fields: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Rule(*fields)


def test_matching_ignores_case_and_surrounding_blanks() -> None:
    table = RuleTable([SALES])
    assert table.match(line(2, ("order", " ITEMPRICE ", "principal"), "1.00")) is SALES
    assert table.match(line(2, ("Order", "ItemPrice", "Principal2"), "1.00")) is None


def test_the_first_matching_rule_wins() -> None:
    assert (
        RuleTable([COMMISSION, ANY_FEE]).match_combination("Order", "ItemFees", "Commission")
        is COMMISSION
    )
    assert (
        RuleTable([ANY_FEE, COMMISSION]).match_combination("Order", "ItemFees", "Commission")
        is ANY_FEE
    )


def test_overrides_go_in_front_and_leave_the_original_table_alone() -> None:
    defaults = RuleTable([ANY_FEE])
    assert defaults.match_combination("Order", "ItemFees", "Commission") is ANY_FEE
    overridden = defaults.with_overrides([COMMISSION])
    assert overridden.match_combination("Order", "ItemFees", "Commission") is COMMISSION
    assert defaults.match_combination("Order", "ItemFees", "Commission") is ANY_FEE
    assert list(overridden) == [COMMISSION, ANY_FEE] and len(overridden) == 2


@given(
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
)
def test_the_full_wildcard_matches_anything(a: str, b: str, c: str) -> None:
    rule = Rule("*", "*", "*", "Expenses:Amazon:Other", "other")
    assert RuleTable([rule]).match_combination(a, b, c) is rule


def test_load_rules_reads_both_toml_spellings() -> None:
    blocks = """
[[rules]]
transaction_type = "Order"
amount_type = "ItemPrice"
amount_description = "Principal"
account = "Income:Amazon:Sales"
category = "sales"
note = "why"
"""
    inline = (
        'rules = [ { transaction_type = "Order", amount_type = "ItemPrice", '
        'amount_description = "Principal", account = "Income:Amazon:Sales", category = "sales", '
        'note = "why" } ]'
    )
    assert load_rules(blocks) == load_rules(inline)
    (rule,) = load_rules(blocks)
    assert rule == Rule("Order", "ItemPrice", "Principal", "Income:Amazon:Sales", "sales", "why")
    assert rule.to_dict()["note"] == "why"
    assert load_rules("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules = [", "not valid TOML"),
        ("rule = []", "unexpected top-level keys"),
        ('rules = "x"', "must be an array"),
        ("rules = [1]", "rule 1: a rule must be a table"),
        ('rules = [{ transaction_type = "*" }]', "rule 1: missing amount_type"),
        (
            'rules = [{ transaction_type = "*", amount_type = "*", amount_description = "*", '
            'account = "Expenses:X", category = "other", colour = "red" }]',
            "unknown fields",
        ),
        (
            'rules = [{ transaction_type = 3, amount_type = "*", amount_description = "*", '
            'account = "Expenses:X", category = "other" }]',
            "field 'transaction_type': must be text",
        ),
        (
            'rules = [{ transaction_type = "*", amount_type = "*", amount_description = "*", '
            'account = "Expenses:X", category = "nope" }]',
            "unknown category",
        ),
    ],
)
def test_load_rules_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_rules(text, source="flow shop-us")


def test_every_category_is_documented() -> None:
    from ml_connector.ledger.rules import CATEGORY_DESCRIPTIONS

    assert all(CATEGORY_DESCRIPTIONS[c] for c in CATEGORIES)
