"""Rendering journal entries into Xero documents: shapes, totals, problems, determinism."""

from __future__ import annotations

import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xero_entries import (
    ACCOUNTS,
    CONTACTS,
    MAPPING,
    PER_ORDER,
    SUMMARY,
    TRACKED,
    d,
    order_entry,
    payout_entry,
    per_order_settlement,
    settlement_entry,
    small_seller,
    small_seller_per_order,
)

from ml_connector.core import jsoncodec
from ml_connector.core.targets import RenderContext, TargetMapping
from ml_connector.ledger.entries import JournalEntry
from ml_connector.ledger.money import minor_units
from ml_connector.plugins.xero.contract import validate_request
from ml_connector.plugins.xero.render import (
    COLLECTION,
    IDEMPOTENCY_KEY_MAX,
    idempotency_key,
    render_entries,
    to_xero_amounts,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
API = "https://api.xero.com/api.xro/2.0"
HEADERS = {"xero-tenant-id": "tenant", "Idempotency-Key": "k"}


def by_kind(documents):
    grouped = defaultdict(list)
    for document in documents:
        grouped[document.kind].append(document)
    return grouped


def entry_debits(entries: list[JournalEntry]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        for posting in entry.postings:
            if posting.amount > 0:
                totals[posting.currency] += posting.amount
    return dict(totals)


def document_totals(documents) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for document in documents:
        for currency, amount in document.totals.items():
            totals[currency] += amount
    return dict(totals)


def request_problems(document) -> list[str]:
    body = jsoncodec.loads(jsoncodec.dumps({COLLECTION[document.kind]: [dict(document.payload)]}))
    return validate_request("PUT", f"{API}/{COLLECTION[document.kind]}", HEADERS, body)


# -- summary mode ----------------------------------------------------------------------------------


def test_a_settlement_becomes_one_posted_manual_journal_with_signed_lines() -> None:
    settlement, payout = small_seller()
    rendered = render_entries([settlement], MAPPING, SUMMARY)
    assert rendered.problems == ()
    (journal,) = rendered.documents
    payload = journal.payload
    assert journal.kind == "manual_journal"
    assert payload["Status"] == "POSTED"
    assert payload["Date"] == "2026-10-14"
    assert journal.key in payload["Narration"]
    lines = {line["AccountCode"]: line["LineAmount"] for line in payload["JournalLines"]}
    assert lines == {
        "091": d("82.82"),
        "200": d("-120.00"),
        "201": d("-9.98"),
        "404": d("19.50"),
        "405": d("12.66"),
        "630": d("15.00"),
    }
    assert sum(lines.values()) == 0
    assert journal.totals == {"USD": entry_debits([settlement])["USD"]}
    assert "Tracking" not in payload["JournalLines"][0]


def test_tracking_by_marketplace_when_the_mapping_asks_for_it() -> None:
    (journal,) = render_entries([small_seller()[0]], TRACKED, SUMMARY).documents
    for line in journal.payload["JournalLines"]:
        assert line["Tracking"] == [{"Name": "Sales channel", "Option": "Amazon US"}]


def test_tracking_without_an_option_for_the_marketplace_is_a_problem() -> None:
    mapping = TargetMapping(
        accounts=ACCOUNTS,
        tracking={"UK": "Amazon UK"},
        options={"track_marketplace": "true", "tracking_category": "Sales channel"},
    )
    rendered = render_entries([small_seller()[0]], mapping, SUMMARY)
    assert rendered.documents == ()
    assert {(p.reference, p.value) for p in rendered.problems} == {("tracking", "US")}


def test_a_payout_is_a_bank_transfer_from_clearing_to_the_payout_bank() -> None:
    (transfer,) = render_entries([payout_entry("7", "82.82")], MAPPING, SUMMARY).documents
    assert transfer.kind == "bank_transfer"
    assert transfer.payload["FromBankAccount"] == {"Code": "091"}
    assert transfer.payload["ToBankAccount"] == {"Code": "090"}
    assert transfer.payload["Amount"] == d("82.82")
    assert transfer.payload["Reference"] == transfer.key
    assert transfer.totals == {"USD": d("82.82")}


def test_a_negative_payout_transfers_from_the_bank_to_clearing() -> None:
    (transfer,) = render_entries([payout_entry("8", "-25.10")], MAPPING, SUMMARY).documents
    assert transfer.payload["FromBankAccount"] == {"Code": "090"}
    assert transfer.payload["ToBankAccount"] == {"Code": "091"}
    assert transfer.payload["Amount"] == d("25.10")


def test_a_zero_payout_puts_nothing_in_xero() -> None:
    rendered = render_entries([payout_entry("9", "0.00")], MAPPING, SUMMARY)
    assert rendered == type(rendered)()


def test_a_foreign_currency_settlement_becomes_a_bank_transaction_on_its_clearing_account() -> None:
    settlement = settlement_entry(
        "6001",
        [
            ("Income:Amazon:Sales", "50.00", "UK", "sales"),
            ("Expenses:Amazon:ReferralFees", "-7.50", "UK", "fee_referral"),
        ],
        currency="GBP",
    )
    (transaction,) = render_entries([settlement], MAPPING, SUMMARY).documents
    payload = transaction.payload
    assert transaction.kind == "bank_transaction"
    assert transaction.key.endswith(":bank_transaction:GBP")
    assert payload["Type"] == "RECEIVE"
    assert payload["CurrencyCode"] == "GBP"
    assert payload["BankAccount"] == {"Code": "092"}
    assert payload["Contact"] == {"Name": "Amazon.co.uk customer"}
    assert [(i["AccountCode"], i["LineAmount"]) for i in payload["LineItems"]] == [
        ("200", d("50.00")),
        ("404", d("-7.50")),
    ]
    assert transaction.totals == {"GBP": d("57.50")}


def test_a_foreign_settlement_that_nets_money_out_is_spend_money() -> None:
    settlement = settlement_entry(
        "6002",
        [("Expenses:Amazon:FBAFees", "-30.00", "DE", "fee_fba")],
        currency="EUR",
    )
    (transaction,) = render_entries([settlement], MAPPING, SUMMARY).documents
    assert transaction.payload["Type"] == "SPEND"
    assert [i["LineAmount"] for i in transaction.payload["LineItems"]] == [d("30.00")]


# -- problems -----------------------------------------------------------------------------------


def test_an_unmapped_account_stops_the_entry_with_a_problem_and_no_document() -> None:
    accounts = {k: v for k, v in ACCOUNTS.items() if k != "Expenses:Amazon:FBAFees"}
    settlement, payout = small_seller()
    rendered = render_entries(
        [settlement, payout], TargetMapping(accounts=accounts, contacts=CONTACTS), SUMMARY
    )
    assert [d.kind for d in rendered.documents] == ["bank_transfer"]
    (problem,) = rendered.problems
    assert (problem.entry_id, problem.reference, problem.value) == (
        settlement.id,
        "account",
        "Expenses:Amazon:FBAFees",
    )
    assert "Expenses:Amazon:FBAFees" in problem.message


def test_an_unmapped_contact_stops_an_invoice() -> None:
    order = order_entry("1", "111-1", [("Income:Amazon:Sales", "10.00", "sales")])
    rendered = render_entries([order], TargetMapping(accounts=ACCOUNTS), PER_ORDER)
    assert rendered.documents == ()
    assert [(p.reference, p.value) for p in rendered.problems] == [("contact", "US")]


def test_receivables_that_match_no_invoices_stop_the_settlement() -> None:
    orders = [order_entry("2", "111-2", [("Income:Amazon:Sales", "10.00", "sales")])]
    settlement = per_order_settlement("2", orders, [])
    rendered = render_entries([settlement], MAPPING, PER_ORDER)  # the order entry is missing
    assert rendered.documents == ()
    assert [(p.reference, p.value) for p in rendered.problems] == [
        ("account", "Assets:Amazon:Receivable")
    ]


def test_a_refund_order_is_not_rendered_as_an_invoice() -> None:
    refund = order_entry("3", "111-3", [("Income:Amazon:Sales", "-10.00", "sales")])
    rendered = render_entries([refund], MAPPING, PER_ORDER)
    assert rendered.documents == ()
    assert "credit notes" in rendered.problems[0].message


# -- per-order mode ---------------------------------------------------------------------------------


def test_per_order_invoices_payments_and_the_rest_as_a_journal() -> None:
    entries = small_seller_per_order()
    rendered = render_entries(entries, MAPPING, PER_ORDER)
    assert rendered.problems == ()
    kinds = by_kind(rendered.documents)
    assert sorted(kinds) == ["bank_transfer", "invoice", "manual_journal", "payment"]
    first, second = kinds["invoice"]
    assert first.payload["InvoiceNumber"] == "AMZ-111-0000001-0000001"
    assert first.natural_key == "AMZ-111-0000001-0000001"
    assert first.payload["Type"] == "ACCREC"
    assert first.payload["Status"] == "AUTHORISED"
    assert first.payload["LineAmountTypes"] == "NoTax"
    assert first.payload["Contact"] == {"Name": "Amazon.com customer"}
    assert [i["LineAmount"] for i in second.payload["LineItems"]] == [d("40.00"), d("-5.00")]
    payments = {p.payload["Invoice"]["InvoiceNumber"]: p for p in kinds["payment"]}
    assert payments["AMZ-111-0000001-0000001"].payload["Amount"] == d("70.19")
    assert payments["AMZ-111-0000001-0000001"].depends_on == (first.key,)
    assert payments["AMZ-111-0000001-0000002"].payload["Amount"] == d("35.00")
    assert payments["AMZ-111-0000001-0000002"].payload["Account"] == {"Code": "091"}
    (journal,) = kinds["manual_journal"]
    lines = {line["AccountCode"]: line["LineAmount"] for line in journal.payload["JournalLines"]}
    assert lines == {"091": d("-23.10"), "404": d("15.00"), "405": d("8.10")}
    assert "610" not in lines  # the receivable is cleared by the payments, not by the journal
    assert document_totals(rendered.documents) == entry_debits(entries)


def test_mapped_skus_become_item_codes_and_unmapped_ones_are_left_out() -> None:
    entries = small_seller_per_order()
    mapping = TargetMapping(accounts=ACCOUNTS, contacts=CONTACTS, items={"MUG-RED": "MUG-01"})
    invoices = by_kind(render_entries(entries, mapping, PER_ORDER).documents)["invoice"]
    first_lines = invoices[0].payload["LineItems"]
    assert first_lines[0]["ItemCode"] == "MUG-01"
    assert all("ItemCode" not in line for line in first_lines[1:])
    assert all("ItemCode" not in line for line in invoices[1].payload["LineItems"])


def test_mapped_taxes_make_exclusive_lines_carrying_amazons_tax() -> None:
    order = small_seller_per_order()[0]
    mapping = TargetMapping(
        accounts=ACCOUNTS, contacts=CONTACTS, taxes={"sales": "OUTPUT", "shipping": "OUTPUT"}
    )
    (invoice,) = render_entries([order], mapping, PER_ORDER).documents
    payload = invoice.payload
    assert payload["LineAmountTypes"] == "Exclusive"
    assert [line["AccountCode"] for line in payload["LineItems"]] == ["200", "201"]
    assert all(line["TaxType"] == "OUTPUT" for line in payload["LineItems"])
    assert sum(line["TaxAmount"] for line in payload["LineItems"]) == d("5.20")
    total = sum(line["LineAmount"] + line["TaxAmount"] for line in payload["LineItems"])
    assert total == d("70.19")


def test_a_category_without_a_tax_type_is_a_problem_once_taxes_are_mapped() -> None:
    order = small_seller_per_order()[0]
    mapping = TargetMapping(accounts=ACCOUNTS, contacts=CONTACTS, taxes={"sales": "OUTPUT"})
    rendered = render_entries([order], mapping, PER_ORDER)
    assert rendered.documents == ()
    assert [(p.reference, p.value) for p in rendered.problems] == [("tax", "shipping")]


# -- money, keys, determinism -------------------------------------------------------------------------


def test_three_decimal_amounts_are_rounded_to_two_without_unbalancing() -> None:
    amounts = [d("1.005"), d("2.005"), d("-3.010")]
    rounded = to_xero_amounts(amounts, "KWD")
    assert all(r == r.quantize(d("0.01")) for r in rounded)
    assert sum(rounded) == 0
    assert to_xero_amounts([d("1.25")], "USD") == [d("1.25")]


def test_keys_are_deterministic_and_idempotency_keys_fit_xero() -> None:
    documents = render_entries(small_seller_per_order(), MAPPING, PER_ORDER).documents
    for document in documents:
        assert document.key.startswith("xero:acme-us:je_")
        assert len(document.idempotency_key) <= IDEMPOTENCY_KEY_MAX
    long_key = "xero:" + "f" * 200 + ":je_0:manual_journal"
    assert len(idempotency_key(long_key)) <= IDEMPOTENCY_KEY_MAX
    assert idempotency_key(long_key) == idempotency_key(long_key)


def test_render_is_deterministic_byte_for_byte() -> None:
    entries = small_seller_per_order()
    first = render_entries(entries, TRACKED, PER_ORDER)
    second = render_entries(list(entries), TRACKED, PER_ORDER)
    assert first == second
    assert [jsoncodec.dumps(dict(d.payload)) for d in first.documents] == [
        jsoncodec.dumps(dict(d.payload)) for d in second.documents
    ]


# -- properties ---------------------------------------------------------------------------------------

MARKETS = {"US": "USD", "UK": "GBP", "DE": "EUR", "JP": "JPY"}
CATEGORIES = [
    ("Income:Amazon:Sales", "sales"),
    ("Income:Amazon:Shipping", "shipping"),
    ("Expenses:Amazon:ReferralFees", "fee_referral"),
    ("Expenses:Amazon:FBAFees", "fee_fba"),
    ("Assets:Amazon:Reserve", "reserve"),
    ("Liabilities:SalesTax:MarketplaceFacilitator", "tax"),
]


@st.composite
def settlements(draw: st.DrawFn) -> list[JournalEntry]:
    """A few settlements (each in one marketplace's currency) with their payouts."""
    entries = []
    for number in range(draw(st.integers(1, 3))):
        market = draw(st.sampled_from(sorted(MARKETS)))
        currency = MARKETS[market]
        step = Decimal(1).scaleb(-minor_units(currency))
        lines = draw(
            st.lists(
                st.tuples(st.sampled_from(CATEGORIES), st.integers(-500_000, 500_000)),
                min_size=1,
                max_size=8,
            )
        )
        settlement_id = f"9{number}{draw(st.integers(0, 999))}"
        entry = settlement_entry(
            settlement_id,
            [(acct, str(minor * step), market, memo) for (acct, memo), minor in lines],
            currency=currency,
        )
        entries.append(entry)
        entries.append(
            payout_entry(
                settlement_id, entry.meta["total_amount"], currency=currency, marketplace=market
            )
        )
    return entries


def netted_debits(entries: list[JournalEntry]) -> dict[str, Decimal]:
    """The entries' debits, leaving out currency parts whose every account nets to zero: those
    change nothing in the books, so the renderer sends Xero nothing for them."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        for currency in entry.currencies:
            postings = [p for p in entry.postings if p.currency == currency]
            nets: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
            for p in postings:
                nets[(p.account, p.marketplace if entry.kind != "payout" else None)] += p.amount
            if any(nets.values()):
                totals[currency] += sum((p.amount for p in postings if p.amount > 0), Decimal(0))
    return {c: t for c, t in totals.items() if t}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=settlements(), home=st.sampled_from(["USD", "GBP"]), tracked=st.booleans())
def test_rendered_documents_carry_exactly_the_entries_debits_and_validate(
    entries: list[JournalEntry], home: str, tracked: bool
) -> None:
    context = RenderContext(flow="prop", target="xero", mode="summary", home_currency=home)
    rendered = render_entries(entries, TRACKED if tracked else MAPPING, context)
    assert rendered.problems == ()
    assert document_totals(rendered.documents) == netted_debits(entries)
    for document in rendered.documents:
        assert request_problems(document) == [], document.key
        if document.kind == "manual_journal":
            assert sum(line["LineAmount"] for line in document.payload["JournalLines"]) == 0


@settings(max_examples=40, deadline=None)
@given(entries=settlements(), missing=st.sampled_from([acct for acct, _ in CATEGORIES]))
def test_any_unmapped_account_gives_problems_and_no_document_for_that_entry(
    entries: list[JournalEntry], missing: str
) -> None:
    mapping = TargetMapping(
        accounts={k: v for k, v in ACCOUNTS.items() if k != missing}, contacts=CONTACTS
    )
    rendered = render_entries(entries, mapping, SUMMARY)
    stopped = {e.id for e in entries if any(p.account == missing for p in e.postings)}
    assert {p.entry_id for p in rendered.problems} == stopped
    assert all(p.value == missing for p in rendered.problems)
    assert not any(set(doc.entry_ids) & stopped for doc in rendered.documents)


@settings(max_examples=30, deadline=None)
@given(entries=settlements())
def test_render_is_a_pure_function_of_its_input(entries: list[JournalEntry]) -> None:
    assert render_entries(entries, TRACKED, SUMMARY) == render_entries(entries, TRACKED, SUMMARY)


# -- snapshots ------------------------------------------------------------------------------------------


def snapshot_of(rendered) -> str:
    return jsoncodec.dumps(
        {
            "documents": [
                {
                    "key": doc.key,
                    "kind": doc.kind,
                    "idempotency_key": doc.idempotency_key,
                    "natural_key": doc.natural_key,
                    "depends_on": list(doc.depends_on),
                    "totals": {c: str(t) for c, t in doc.totals.items()},
                    "payload": dict(doc.payload),
                }
                for doc in rendered.documents
            ],
            "problems": [vars(p) for p in rendered.problems],
        },
        indent=2,
    )


@pytest.mark.parametrize(
    ("name", "entries", "mapping", "context"),
    [
        ("summary_small_seller", small_seller, TRACKED, SUMMARY),
        ("per_order_small_seller", small_seller_per_order, MAPPING, PER_ORDER),
    ],
)
def test_snapshot(name, entries, mapping, context) -> None:
    path = SNAPSHOTS / f"{name}.json"
    actual = snapshot_of(render_entries(entries(), mapping, context)) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"no snapshot {path.name}; run once with UPDATE_SNAPSHOTS=1 and review it"
    assert actual == path.read_text()


def test_a_foreign_settlement_whose_clearing_nets_to_zero_becomes_a_spend_and_a_receive() -> None:
    """Sales and a promotion of the same amount: no money moved, yet the books show both."""
    import datetime as dt

    from ml_connector.ledger.entries import Posting

    def posting(account: str, amount: str, memo: str) -> Posting:
        return Posting(account, Decimal(amount), "EUR", "DE", memo)

    entry = JournalEntry(
        id="je_offsetting",
        date=dt.date(2026, 10, 14),
        description="Amazon settlement 900",
        source_ref="amazon:settlement:900",
        postings=(
            posting("Assets:Amazon:Clearing:DE", "12.50", "sales"),
            posting("Income:Amazon:Sales", "-12.50", "sales"),
            posting("Assets:Amazon:Clearing:DE", "-12.50", "promotion"),
            posting("Income:Amazon:Promotions", "12.50", "promotion"),
        ),
        kind="settlement",
        meta={"settlement_id": "900", "currency": "EUR"},
    )
    context = RenderContext(flow="f", target="xero", mode="summary", home_currency="USD")
    rendered = render_entries([entry], MAPPING, context)
    assert rendered.problems == ()
    kinds = [(d.kind, d.payload["Type"]) for d in rendered.documents]
    assert kinds == [("bank_transaction", "SPEND"), ("bank_transaction", "RECEIVE")]
    for document in rendered.documents:
        assert document.payload["BankAccount"] == {
            "Code": MAPPING.accounts["Assets:Amazon:Clearing:DE"]
        }
        assert sum(item["LineAmount"] for item in document.payload["LineItems"]) == Decimal("12.50")
        assert request_problems(document) == []
    assert document_totals(rendered.documents) == {"EUR": Decimal("25.00")}
