"""The default rule table against every settlement combination we found documented.

``DOCUMENTED`` lists (transaction-type, amount-type, amount-description) triples seen in V2
settlement reports, as published by Amazon (the V1 -> V2 mapping in the settlement changelog,
Finances API charge and fee type names, which V2 uses as amount-descriptions) and in public
parsers' fixtures, with the category each must book to. V1 files read through the V1 -> V2
mapping (``core/amazon/settlement_file/layouts.py``) are listed too: there the description of an
untyped amount is the transaction type.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ml_connector.ledger.rules import default_rules, default_rules_text, load_rules

RULES = default_rules()
REFUND_TYPES = ("Refund", "Chargeback Refund", "A-to-z Guarantee Refund")
WITHHELD = (
    "MarketplaceFacilitatorTax-Principal",
    "MarketplaceFacilitatorTax-Shipping",
    "MarketplaceFacilitatorTax-Giftwrap",
    "MarketplaceFacilitatorTax-Other",
    "MarketplaceFacilitatorTax-RestockingFee",
    "MarketplaceFacilitatorVAT-Principal",
    "MarketplaceFacilitatorVAT-Shipping",
    "MarketplaceFacilitatorVAT-Giftwrap",
    "MarketplaceFacilitatorVAT-Other",
    "LowValueGoodsTax-Principal",
    "LowValueGoodsTax-Shipping",
    "LowValueGoodsTax-Other",
    "TCS-CGST",
    "TCS-SGST",
    "TCS-IGST",
    "TCS-UTGST",
    "TDS (Section 194-O)",
)
FBA_FEES = (
    "FBAPerUnitFulfillmentFee",
    "FBAPerOrderFulfillmentFee",
    "FBAWeightBasedFee",
    "FBAPickAndPackFee",
    "ShippingChargeback",
    "GiftwrapChargeback",
    "ShippingHB",
    "FBACustomerReturnPerUnitFee",
    "FBACustomerReturnPerOrderFee",
    "FBACustomerReturnWeightBasedFee",
)
OTHER_FEES = (
    "SalesTaxCollectionFee",
    "DigitalServicesFee",
    "DigitalServicesFeeFBA",
    "TechnologyFee",
    "TaxOnFees",
    "RenewedProgramFee",
    "HighVolumeListingFee",
    "GetPaidFasterFee",
)
REIMBURSEMENT_REASONS = (
    "WAREHOUSE_DAMAGE",
    "WAREHOUSE_LOST",
    "REVERSAL_REIMBURSEMENT",
    "CUSTOMER_RETURN",
    "FREE_REPLACEMENT_REFUND_ITEMS",
    "INBOUND_CARRIER_DAMAGE",
    "MISSING_FROM_INBOUND",
    "CS_ERROR_ITEMS",
    "COMPENSATED_CLAWBACK",
    "WAREHOUSE_DAMAGE_EXCEPTION",
    "RE_EVALUATION",
)
OT = "other-transaction"

DOCUMENTED: list[tuple[str, str, str, str]] = [
    ("Order", "ItemPrice", "Principal", "sales"),
    ("Order", "ItemPrice", "Shipping", "shipping"),
    ("Order", "ItemPrice", "GiftWrap", "gift_wrap"),
    ("Order", "ItemPrice", "Tax", "tax"),
    ("Order", "ItemPrice", "ShippingTax", "tax"),
    ("Order", "ItemPrice", "GiftWrapTax", "tax"),
    ("Liquidations", "ItemPrice", "Principal", "sales"),
    ("Liquidations", "ItemFees", "LiquidationsBrokerageFee", "fee_other"),
    *[
        (t, "ItemPrice", d, "refund")
        for t in REFUND_TYPES
        for d in ("Principal", "Shipping", "GiftWrap", "Goodwill", "ReturnShipping")
    ],
    *[(t, "ItemPrice", "RestockingFee", "restocking_fee") for t in REFUND_TYPES],
    *[
        (t, "ItemPrice", d, "tax")
        for t in REFUND_TYPES
        for d in ("Tax", "ShippingTax", "GiftWrapTax")
    ],
    ("Order_Retrocharge", "ItemPrice", "Base tax", "tax"),
    ("Order_Retrocharge", "ItemPrice", "ShippingTax", "tax"),
    *[(t, "ItemWithheldTax", d, "facilitator_tax") for t in ("Order", "Refund") for d in WITHHELD],
    *[
        (t, "Promotion", d, "promotion")
        for t in ("Order", "Refund")
        for d in ("Principal", "Shipping", "GiftWrap")
    ],
    ("Order", "Promotion", "TaxDiscount", "tax"),
    *[(t, "ItemFees", "Commission", "fee_referral") for t in ("Order", *REFUND_TYPES)],
    *[(t, "ItemFees", "RefundCommission", "refund_commission") for t in REFUND_TYPES],
    *[(t, "ItemFees", d, "fee_fba") for t in ("Order", "Refund") for d in FBA_FEES],
    *[
        (t, "ItemFees", d, "fee_closing")
        for t in ("Order", "Refund")
        for d in ("FixedClosingFee", "VariableClosingFee")
    ],
    *[("Order", "ItemFees", d, "fee_other") for d in OTHER_FEES],
    ("Order", "ItemFees", "StorageFee", "storage"),
    (OT, OT, "Current Reserve Amount", "reserve_carried_out"),
    (OT, OT, "Previous Reserve Amount Balance", "reserve_carried_in"),
    ("Current Reserve Amount", "other-amount", "Current Reserve Amount", "reserve_carried_out"),
    (
        "Previous Reserve Amount Balance",
        "other-amount",
        "Previous Reserve Amount Balance",
        "reserve_carried_in",
    ),
    (OT, OT, "Storage Fee", "storage"),
    (OT, OT, "FBA Long-Term Storage Fee", "storage"),
    (OT, OT, "StorageRenewalBilling", "storage"),
    ("Storage Fee", "other-amount", "Storage Fee", "storage"),
    (OT, OT, "RemovalComplete", "inventory_fees"),
    (OT, OT, "DisposalComplete", "inventory_fees"),
    (OT, OT, "Inbound Transportation Fee", "inventory_fees"),
    (OT, OT, "FBAInboundTransportationFee", "inventory_fees"),
    (OT, OT, "FBA Inbound Placement Service Fee", "inventory_fees"),
    (OT, OT, "Subscription Fee", "subscription"),
    ("Subscription Fee", "other-amount", "Subscription Fee", "subscription"),
    ("ServiceFee", "Cost of Advertising", "TransactionTotalAmount", "advertising"),
    (OT, "Cost of Advertising", "TransactionTotalAmount", "advertising"),
    (OT, OT, "CouponRedemptionFee", "fee_other"),
    (OT, OT, "RunLightningDealFee", "fee_other"),
    (OT, OT, "Vine Enrollment Fee", "fee_other"),
    (OT, OT, "Shipping label purchase", "shipping_labels"),
    (OT, OT, "Shipping label purchase for return", "shipping_labels"),
    (OT, OT, "Shipping label refund", "shipping_labels"),
    *[(OT, "FBA Inventory Reimbursement", r, "reimbursement") for r in REIMBURSEMENT_REASONS],
    ("SAFE-T Reimbursement", OT, "SAFE-T Reimbursement", "reimbursement"),
    (OT, OT, "SAFE-T Reimbursement", "reimbursement"),
    (OT, OT, "Manual Processing Fee Reimbursement", "reimbursement"),
    (OT, OT, "Failed disbursement", "transfer"),
    (OT, OT, "Payable to Amazon", "transfer"),
    (OT, OT, "Successful charge", "transfer"),
    ("Adjustment", "ItemPrice", "Principal", "adjustment"),
    (OT, OT, "MiscAdjustment", "adjustment"),
    (OT, OT, "Balance Adjustment", "adjustment"),
    (OT, OT, "Other", "other"),
    ("Order", "OrderFees", "ShippingChargeback", "fee_other"),
]


def test_documented_combinations_are_distinct() -> None:
    keys = [tuple(part.casefold() for part in c[:3]) for c in DOCUMENTED]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(("transaction_type", "amount_type", "description", "category"), DOCUMENTED)
def test_every_documented_combination_has_a_default_rule(
    transaction_type: str, amount_type: str, description: str, category: str
) -> None:
    rule = RULES.match_combination(transaction_type, amount_type, description)
    assert rule is not None, "no default rule"
    assert rule.category == category


def test_a_new_kind_of_line_is_left_unmapped() -> None:
    assert RULES.match_combination(OT, OT, "Something Amazon invents next year") is None
    assert RULES.match_combination("Order", "ItemPrice", "Mystery") is None


def test_the_defaults_cover_the_documented_combinations_with_few_rules() -> None:
    # The figures the docs quote; update docs/reconciliation.md when they change.
    assert len(DOCUMENTED) == 163
    assert len(RULES) == 128
    assert sum(rule.is_exact for rule in RULES) == 39


def test_every_default_rule_is_reachable() -> None:
    """No rule is shadowed by an earlier one with the same or a wider pattern."""
    for index, rule in enumerate(RULES):
        earlier = RULES.rules[:index]
        shadowing = [
            r
            for r in earlier
            if all(
                p == "*" or p.casefold() == q.casefold()
                for p, q in zip(r.combination, rule.combination, strict=True)
            )
        ]
        assert not shadowing, (
            f"{rule.combination_text} is shadowed by {shadowing[0].combination_text}"
        )


def test_the_documentation_lists_every_default_rule() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "reconciliation.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([^`]*)` \| `([^`]*)` \| `([^`]*)` \| `([^`]*)` \| `([^`]*)` \|", doc, re.M
    )
    assert [tuple(row) for row in rows] == [
        (*rule.combination, rule.account, rule.category)
        for rule in load_rules(default_rules_text())
    ]
