"""moneyTransactionCreate / moneyTransactionsCreate: every rule, dedup off and on, the ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wave_emulator_harness import MONEY_TRANSACTION_CREATE, WaveSession, input_reasons

D = Decimal


@pytest.fixture
def session() -> WaveSession:
    return WaveSession()


def line(
    session: WaveSession, account: str, amount: str, balance: str = "INCREASE", **kw: Any
) -> dict[str, Any]:
    return {"accountId": session.account_id(account), "amount": D(amount), "balance": balance, **kw}


def anchor(
    session: WaveSession, account: str, amount: str, direction: str = "DEPOSIT"
) -> dict[str, Any]:
    return {"accountId": session.account_id(account), "amount": D(amount), "direction": direction}


def refused(out: dict[str, Any], reason: str) -> bool:
    return (
        out["didSucceed"] is False
        and out["transaction"] is None
        and any(reason in message for message in input_reasons(out))
    )


def test_a_balanced_settlement_is_stored_with_balanced_postings(session: WaveSession) -> None:
    out = session.money_transaction(
        anchor=anchor(session, "Amazon Clearing", "70.50"),
        lineItems=[
            line(session, "Amazon Sales", "100.00"),
            line(session, "Amazon Shipping Income", "5.50"),
            line(session, "Amazon Referral Fees", "15.00"),  # expense INCREASE = debit
            line(session, "Amazon FBA Fees", "20.00", "DEBIT"),
        ],
    )
    assert out == {"didSucceed": True, "inputErrors": [], "transaction": out["transaction"]}
    assert session.balance("Amazon Clearing") == D("70.50")
    assert session.balance("Amazon Sales") == D("100.00")
    assert session.balance("Amazon Referral Fees") == D("15.00")
    business = session.emulator.state.businesses[session.business_id]
    debits = sum(p.amount for p in business.postings if p.side == "DEBIT")
    credits = sum(p.amount for p in business.postings if p.side == "CREDIT")
    assert debits == credits == D("105.50")


def test_withdrawal_and_contra_accounts_follow_balance_type(session: WaveSession) -> None:
    # A promotion (DISCOUNTS, contra income): INCREASE lands on the debit side.
    out = session.money_transaction(
        anchor=anchor(session, "Amazon Clearing", "12.00", "WITHDRAWAL"),
        lineItems=[line(session, "Amazon Promotions", "12.00", "INCREASE")],
    )
    assert out["didSucceed"], out
    assert session.balance("Amazon Clearing") == D("-12.00")
    # DECREASE on an income account is a debit too.
    out = session.money_transaction(
        externalId="refund-1",
        anchor=anchor(session, "Amazon Clearing", "8.00", "WITHDRAWAL"),
        lineItems=[line(session, "Amazon Sales", "8.00", "DECREASE")],
    )
    assert out["didSucceed"], out
    assert session.balance("Amazon Sales") == D("-8.00")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"externalId": "  "}, "EXTERNAL_ID_REQUIRED"),
        ({"anchor": "archived"}, "ACCOUNT_ARCHIVED"),
        ({"anchor": "income"}, "INVALID_ANCHOR_ACCOUNT"),
        ({"anchor": "unknown"}, "ACCOUNT_NOT_FOUND"),
        ({"lineItems": []}, "NO_LINE_ITEMS"),
        ({"lineItems": "bank"}, "MULTIPLE_POSSIBLE_ANCHORS"),
        ({"lineItems": "archived"}, "ACCOUNT_ARCHIVED"),
        ({"lineItems": "negative"}, "NEGATIVE_AMOUNT"),
        ({"lineItems": "three-places"}, "TOO_MANY_DECIMAL_PLACES"),
        ({"lineItems": "unbalanced"}, "LINE_ITEMS_DO_NOT_BALANCE"),
        ({"lineItems": "wrong-side"}, "LINE_ITEMS_DO_NOT_BALANCE"),
        ({"lineItems": "customer"}, "CUSTOMER_NOT_FOUND"),
        ({"lineItems": "tax"}, "SALES_TAX_NOT_FOUND"),
        ({"lineItems": "tax-too-big"}, "TAX_EXCEEDS_LINE_AMOUNT"),
        ({"anchor": "zero"}, "ZERO_AMOUNT"),
    ],
)
def test_each_rule_refuses_with_did_succeed_false(
    session: WaveSession, overrides: dict[str, Any], reason: str
) -> None:
    anchors = {
        "archived": anchor(session, "Old Marketplace Sales", "100.00"),
        "income": anchor(session, "Amazon Sales", "100.00"),
        "unknown": {**anchor(session, "Amazon Clearing", "100.00"), "accountId": "QUJD"},
        "zero": anchor(session, "Amazon Clearing", "0.00"),
    }
    sales_tax = session.sales_tax_id()
    lines = {
        "bank": [line(session, "Business Bank", "100.00")],
        "archived": [line(session, "Old Marketplace Sales", "100.00")],
        "negative": [line(session, "Amazon Sales", "-100.00")],
        "three-places": [
            line(session, "Amazon Sales", "99.995"),
            line(session, "Amazon Sales", "0.005"),
        ],
        "unbalanced": [line(session, "Amazon Sales", "90.00")],
        "wrong-side": [line(session, "Amazon Sales", "100.00", "DEBIT")],
        "customer": [line(session, "Amazon Sales", "100.00", customerId="QUJD")],
        "tax": [
            line(
                session, "Amazon Sales", "100.00", taxes=[{"salesTaxId": "QUJD", "amount": D("1")}]
            )
        ],
        "tax-too-big": [
            line(
                session,
                "Amazon Sales",
                "100.00",
                taxes=[{"salesTaxId": sales_tax, "amount": D("100.01")}],
            )
        ],
    }
    given_input: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "anchor":
            given_input["anchor"] = anchors[value]
        elif key == "lineItems" and isinstance(value, str):
            given_input["lineItems"] = lines[value]
        else:
            given_input[key] = value
    out = session.money_transaction(**given_input)
    assert refused(out, reason), out
    assert session.emulator.state.money_transactions(session.business_id) == []
    assert all(e["code"] == "UNKNOWN" for e in out["inputErrors"])


def test_anchor_type_line_item_is_answered_like_wave(session: WaveSession) -> None:
    out = session.money_transaction(lineItems=[line(session, "Business Credit Card", "100.00")])
    assert {
        "path": None,
        "message": "This value is invalid. MULTIPLE_POSSIBLE_ANCHORS",
        "code": "UNKNOWN",
    } in out["inputErrors"]


def test_error_paths_name_the_offending_input(session: WaveSession) -> None:
    out = session.money_transaction(
        lineItems=[line(session, "Amazon Sales", "50.00"), line(session, "Amazon Sales", "-50.00")]
    )
    assert ["input", "lineItems", "1", "amount"] in [e["path"] for e in out["inputErrors"]]


def test_credit_card_and_loan_are_anchors(session: WaveSession) -> None:
    for number, account in enumerate(("Business Credit Card", "Inventory Loan")):
        out = session.money_transaction(
            externalId=f"card-{number}",
            anchor=anchor(session, account, "30.00", "WITHDRAWAL"),
            lineItems=[line(session, "Amazon Advertising", "30.00")],
        )
        assert out["didSucceed"], out
        assert session.balance(account) == D("30.00")  # liability grows on a withdrawal


def test_classic_accounting_business_is_refused(session: WaveSession) -> None:
    personal = next(b for b in session.emulator.state.businesses.values() if b.is_personal)
    cash = next(a.id for a in personal.accounts.values() if a.subtype == "CASH_AND_BANK")
    other = next(a.id for a in personal.accounts.values() if a.subtype != "CASH_AND_BANK")
    out = session.money_transaction(
        businessId=personal.id,
        anchor={"accountId": cash, "amount": D("5.00"), "direction": "WITHDRAWAL"},
        lineItems=[{"accountId": other, "amount": D("5.00"), "balance": "INCREASE"}],
    )
    assert refused(out, "CLASSIC_ACCOUNTING_NOT_SUPPORTED"), out


def test_unknown_business_is_a_not_found_error(session: WaveSession) -> None:
    body = session.post(
        MONEY_TRANSACTION_CREATE,
        {
            "input": {
                "businessId": "QnVzaW5lc3M6bm9uZQ==",
                "externalId": "x",
                "date": "2026-10-01",
                "description": "x",
                "anchor": anchor(session, "Amazon Clearing", "1.00"),
                "lineItems": [line(session, "Amazon Sales", "1.00")],
            }
        },
    )
    assert body["data"] == {"moneyTransactionCreate": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["moneyTransactionCreate"]


def test_amount_as_string_and_float_free_wire(session: WaveSession) -> None:
    out = session.money_transaction(
        anchor={**anchor(session, "Amazon Clearing", "1"), "amount": "19.99"},
        lineItems=[{**line(session, "Amazon Sales", "1"), "amount": "19.99"}],
    )
    assert out["didSucceed"], out
    [stored] = session.emulator.state.money_transactions(session.business_id)
    assert stored.line_items[0].amount == D("19.99")


def test_no_dedup_by_default_two_creates_make_two_transactions() -> None:
    session = WaveSession()
    first = session.money_transaction()
    second = session.money_transaction()
    assert first["didSucceed"] and second["didSucceed"]
    assert first["transaction"]["id"] != second["transaction"]["id"]
    assert session.emulator.state.external_id_counts(session.business_id) == {"settlement-1": 2}
    assert session.balance("Amazon Clearing") == D("200.00")


def test_hypothetical_dedup_returns_the_first_transaction() -> None:
    session = WaveSession(external_id_dedup=True)
    first = session.money_transaction()
    second = session.money_transaction()
    assert second == first
    assert session.emulator.state.external_id_counts(session.business_id) == {"settlement-1": 1}
    assert session.balance("Amazon Clearing") == D("100.00")


BATCH = """
mutation ($input: MoneyTransactionsCreateInput!) {
  moneyTransactionsCreate(input: $input) { didSucceed inputErrors { path message code } transactions { id } }
}"""


def batch_item(session: WaveSession, external_id: str, amount: str) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "date": "2026-10-02",
        "description": f"settlement {external_id}",
        "anchor": anchor(session, "Amazon Clearing", amount),
        "lineItems": [line(session, "Amazon Sales", amount)],
    }


def test_batch_creates_all(session: WaveSession) -> None:
    items = [batch_item(session, f"s-{n}", f"{n}.00") for n in (1, 2, 3)]
    out = session.data(BATCH, {"input": {"businessId": session.business_id, "transactions": items}})
    result = out["moneyTransactionsCreate"]
    assert result["didSucceed"] and len(result["transactions"]) == 3
    assert session.balance("Amazon Clearing") == D("6.00")


def test_batch_is_all_or_nothing(session: WaveSession) -> None:
    bad = {
        **batch_item(session, "s-2", "2.00"),
        "lineItems": [line(session, "Amazon Sales", "1.00")],
    }
    items = [batch_item(session, "s-1", "1.00"), bad]
    out = session.data(BATCH, {"input": {"businessId": session.business_id, "transactions": items}})
    result = out["moneyTransactionsCreate"]
    assert result["didSucceed"] is False and result["transactions"] is None
    assert result["inputErrors"][0]["path"] == ["input", "transactions", "1", "lineItems"]
    assert session.emulator.state.money_transactions(session.business_id) == []


def test_the_schema_offers_no_way_to_list_money_transactions(session: WaveSession) -> None:
    body = session.post(
        "query($b: ID!) { business(id: $b) { transactions { id } } }", {"b": session.business_id}
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    query_fields = session.data("{ __schema { queryType { fields { name } } } }")
    names = {f["name"] for f in query_fields["__schema"]["queryType"]["fields"]}
    assert not any("transaction" in name.lower() for name in names)


cents = st.integers(min_value=0, max_value=500_000).map(lambda c: D(c).scaleb(-2))
line_kinds = st.sampled_from(
    [
        ("Amazon Sales", "INCREASE", "CREDIT"),
        ("Amazon Sales", "DECREASE", "DEBIT"),
        ("Amazon Referral Fees", "INCREASE", "DEBIT"),
        ("Amazon Promotions", "INCREASE", "DEBIT"),
        ("Amazon Reserve", "DECREASE", "CREDIT"),
        ("Amazon Reserve", "CREDIT", "CREDIT"),
    ]
)


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(st.tuples(line_kinds, cents), min_size=1, max_size=6),
    nudge=st.sampled_from([0, 1]),
)
def test_accepted_exactly_when_debits_equal_credits(parts: list[Any], nudge: int) -> None:
    session = WaveSession()
    net_credit = sum((amt if side == "CREDIT" else -amt) for (_, _, side), amt in parts)
    direction = "DEPOSIT" if net_credit >= 0 else "WITHDRAWAL"
    anchor_amount = abs(net_credit) + D(nudge).scaleb(-2)
    lines = [line(session, name, str(amount), balance) for (name, balance, _), amount in parts]
    out = session.money_transaction(
        anchor={
            **anchor(session, "Amazon Clearing", "1"),
            "amount": anchor_amount,
            "direction": direction,
        },
        lineItems=lines,
    )
    if anchor_amount == 0:
        assert refused(out, "ZERO_AMOUNT")
    elif nudge:
        assert refused(out, "LINE_ITEMS_DO_NOT_BALANCE")
    else:
        assert out["didSucceed"], out
        assert session.balance("Amazon Clearing") == net_credit


def test_batch_dedup_maps_repeats_to_the_first_transaction() -> None:
    session = WaveSession(external_id_dedup=True)
    first = session.money_transaction(externalId="s-1")["transaction"]["id"]
    items = [
        batch_item(session, "s-1", "1.00"),
        batch_item(session, "s-2", "2.00"),
        batch_item(session, "s-2", "2.00"),
    ]
    out = session.data(BATCH, {"input": {"businessId": session.business_id, "transactions": items}})
    ids = [t["id"] for t in out["moneyTransactionsCreate"]["transactions"]]
    assert ids[0] == first and ids[1] == ids[2] != first
    assert session.emulator.state.external_id_counts(session.business_id) == {"s-1": 1, "s-2": 1}


@pytest.mark.parametrize("bad_date", ["2026-02-30", "02/05/2021", "2026-10-01T00:00:00Z"])
def test_dates_must_be_real_iso_days(session: WaveSession, bad_date: str) -> None:
    body = session.post(
        MONEY_TRANSACTION_CREATE,
        {
            "input": {
                "businessId": session.business_id,
                "externalId": "x",
                "date": bad_date,
                "description": "x",
                "anchor": anchor(session, "Amazon Clearing", "1.00"),
                "lineItems": [line(session, "Amazon Sales", "1.00")],
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert session.emulator.state.money_transactions(session.business_id) == []
