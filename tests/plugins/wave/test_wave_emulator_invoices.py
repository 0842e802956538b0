"""Invoices: exact totals, the create rules, approve, payments, delete, number look-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wave_emulator_harness import WaveSession, input_reasons

D = Decimal

CREATE = """
mutation ($input: InvoiceCreateInput!) {
  invoiceCreate(input: $input) {
    didSucceed inputErrors { path message code }
    invoice {
      id status invoiceNumber
      subtotal { value } discountTotal { value } taxTotal { value } total { value raw minorUnitValue }
      amountDue { value } amountPaid { value }
      items { quantity unitPrice subtotal { value } total { value } taxes { amount { value } salesTax { abbreviation } } }
    }
  }
}"""

INVOICE_ACTION = """
mutation ($input: %(input)s!) { %(name)s(input: $input) { didSucceed inputErrors { path message code } %(extra)s } }
"""


@pytest.fixture
def session() -> WaveSession:
    return WaveSession()


def create(session: WaveSession, items: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    customer = fields.pop("customerId", None) or session.create_customer()
    given_input = {
        "businessId": session.business_id,
        "customerId": customer,
        "items": items,
        **fields,
    }
    out: dict[str, Any] = session.data(CREATE, {"input": given_input})["invoiceCreate"]
    return out


def action(
    session: WaveSession, name: str, input_type: str, given_input: dict[str, Any], extra: str = ""
) -> Any:
    query = INVOICE_ACTION % {"input": input_type, "name": name, "extra": extra}
    return session.post(query, {"input": given_input})


def test_totals_with_product_default_tax(session: WaveSession) -> None:
    product = session.create_product("Mug", "19.99", defaultSalesTaxIds=[session.sales_tax_id()])
    out = create(session, [{"productId": product, "quantity": "3"}])
    invoice = out["invoice"]
    assert invoice["subtotal"]["value"] == "59.97"
    assert invoice["taxTotal"]["value"] == "4.95"  # 59.97 * 0.0825 = 4.947525
    assert invoice["total"] == {"value": "64.92", "raw": 6492, "minorUnitValue": "6492"}
    assert invoice["amountDue"]["value"] == "64.92" and invoice["amountPaid"]["value"] == "0.00"
    assert invoice["items"][0]["taxes"][0]["salesTax"]["abbreviation"] == "ST"


def test_empty_taxes_means_no_tax_and_overrides_apply(session: WaveSession) -> None:
    product = session.create_product("Mug", "19.99", defaultSalesTaxIds=[session.sales_tax_id()])
    out = create(
        session, [{"productId": product, "taxes": [], "unitPrice": "5.125", "description": "x"}]
    )
    [item] = out["invoice"]["items"]
    assert item["taxes"] == [] and item["unitPrice"] == "5.125"
    assert item["subtotal"]["value"] == "5.13"  # ties away from zero


def test_fixed_discount_reduces_the_taxed_base(session: WaveSession) -> None:
    product = session.create_product("Lamp", "100.00", defaultSalesTaxIds=[session.sales_tax_id()])
    out = create(
        session,
        [{"productId": product}],
        discounts=[{"discountType": "FIXED", "amount": "10", "name": "Promo"}],
    )
    invoice = out["invoice"]
    assert invoice["discountTotal"]["value"] == "10.00"
    assert invoice["taxTotal"]["value"] == "7.43"  # 90.00 * 0.0825 = 7.425
    assert invoice["total"]["value"] == "97.43"


@pytest.mark.parametrize(
    ("case", "reason", "path"),
    [
        ("customer", "CUSTOMER_NOT_FOUND", ["input", "customerId"]),
        ("product", "PRODUCT_NOT_FOUND", ["input", "items", "0", "productId"]),
        ("not-sold", "PRODUCT_NOT_SOLD", ["input", "items", "0", "productId"]),
        ("tax", "SALES_TAX_NOT_FOUND", ["input", "items", "0", "taxes", "0", "salesTaxId"]),
        ("discounts", "TOO_MANY_DISCOUNTS", ["input", "discounts"]),
        ("duplicate", "INVOICE_NUMBER_NOT_UNIQUE", ["input", "invoiceNumber"]),
    ],
)
def test_create_rules(session: WaveSession, case: str, reason: str, path: list[str]) -> None:
    product = session.create_product()
    item: dict[str, Any] = {"productId": product}
    fields: dict[str, Any] = {"invoiceNumber": "AMZ-1"}
    if case == "customer":
        fields["customerId"] = "QUJD"
    elif case == "product":
        item["productId"] = "QUJD"
    elif case == "not-sold":
        item["productId"] = session.create_product(
            "Packaging",
            "1.00",
            incomeAccountId=None,
            expenseAccountId=session.account_id("Amazon FBA Fees"),
        )
    elif case == "tax":
        item["taxes"] = [{"salesTaxId": "QUJD"}]
    elif case == "discounts":
        fields["discounts"] = [{"discountType": "FIXED", "amount": "1"}] * 2
    elif case == "duplicate":
        assert create(session, [item], invoiceNumber="AMZ-1")["didSucceed"]
    out = create(session, [item], **fields)
    assert out["didSucceed"] is False and out["invoice"] is None
    assert any(reason in m for m in input_reasons(out)), out
    assert path in [e["path"] for e in out["inputErrors"]]


def test_duplicate_numbers_accepted_when_uniqueness_is_switched_off() -> None:
    session = WaveSession(invoice_number_unique=False)
    product = session.create_product()
    for _ in range(2):
        assert create(session, [{"productId": product}], invoiceNumber="AMZ-7")["didSucceed"]
    assert session.emulator.state.invoice_number_counts(session.business_id) == {"AMZ-7": 2}


def test_a_line_without_product_is_a_validation_error(session: WaveSession) -> None:
    customer = session.create_customer()
    body = session.post(
        CREATE,
        {
            "input": {
                "businessId": session.business_id,
                "customerId": customer,
                "items": [{"quantity": "1"}],
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in body


def test_default_numbers_count_up_from_the_largest(session: WaveSession) -> None:
    product = session.create_product()
    numbers = [
        create(session, [{"productId": product}], **kw)["invoice"]["invoiceNumber"]
        for kw in ({}, {"invoiceNumber": "41"}, {})
    ]
    assert numbers == ["1", "41", "42"]


def test_approve_pay_and_clear_the_receivable(session: WaveSession) -> None:
    product = session.create_product("Widget", "40.00")
    invoice_id = create(session, [{"productId": product}])["invoice"]["id"]
    bank = session.account_id("Business Bank")
    pay_input = {
        "invoiceId": invoice_id,
        "paymentAccountId": bank,
        "amount": "15.00",
        "paymentDate": "2026-10-03",
        "paymentMethod": "BANK_TRANSFER",
        "exchangeRate": "1",
    }
    pay = ("invoicePaymentCreateManual", "InvoicePaymentCreateManualInput")
    draft_payment = action(session, *pay, pay_input)["data"]["invoicePaymentCreateManual"]
    assert "This value is invalid. INVOICE_IS_DRAFT" in input_reasons(draft_payment)

    approved = action(
        session,
        "invoiceApprove",
        "InvoiceApproveInput",
        {"invoiceId": invoice_id},
        "invoice { status }",
    )
    assert approved["data"]["invoiceApprove"]["invoice"] == {"status": "SAVED"}
    again = action(
        session,
        "invoiceApprove",
        "InvoiceApproveInput",
        {"invoiceId": invoice_id},
        "invoice { status }",
    )
    assert "INVOICE_NOT_DRAFT" in input_reasons(again["data"]["invoiceApprove"])[0]
    assert session.balance("Accounts Receivable") == D("40.00")

    wrong_account = action(
        session, *pay, {**pay_input, "paymentAccountId": session.account_id("Amazon Sales")}
    )
    assert (
        "INVALID_PAYMENT_ACCOUNT"
        in input_reasons(wrong_account["data"]["invoicePaymentCreateManual"])[0]
    )
    partial = action(session, *pay, pay_input, "invoicePayment { id }")["data"][
        "invoicePaymentCreateManual"
    ]
    assert partial["didSucceed"] and partial["invoicePayment"]["id"]
    action(session, *pay, {**pay_input, "amount": "25.00"})
    invoice = session.data(
        "query($b: ID!, $i: ID!){ business(id:$b){ invoice(id:$i){ status amountDue{value} amountPaid{value} } } }",
        {"b": session.business_id, "i": invoice_id},
    )["business"]["invoice"]
    assert invoice == {
        "status": "PAID",
        "amountDue": {"value": "0.00"},
        "amountPaid": {"value": "40.00"},
    }
    assert session.balance("Accounts Receivable") == D("0.00")
    assert session.balance("Business Bank") == D("40.00")


def test_delete_then_the_invoice_is_not_found(session: WaveSession) -> None:
    invoice_id = create(session, [{"productId": session.create_product()}])["invoice"]["id"]
    deleted = action(session, "invoiceDelete", "InvoiceDeleteInput", {"invoiceId": invoice_id})
    assert deleted["data"]["invoiceDelete"] == {"didSucceed": True, "inputErrors": []}
    body = session.post(
        "query($b: ID!, $i: ID!){ business(id:$b){ invoice(id:$i){ id } } }",
        {"b": session.business_id, "i": invoice_id},
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    again = action(session, "invoiceDelete", "InvoiceDeleteInput", {"invoiceId": invoice_id})
    assert again["data"]["invoiceDelete"] is None
    assert again["errors"][0]["message"] == f"Invoice '{invoice_id}' could not be found."


def test_invoice_number_filter_is_a_substring_match(session: WaveSession) -> None:
    product = session.create_product()
    for number in ("12", "112", "120", "21"):
        create(session, [{"productId": product}], invoiceNumber=number)
    listed = session.data(
        'query($b: ID!){ business(id:$b){ invoices(invoiceNumber: "12", sort: [INVOICE_NUMBER_ASC]){ edges { node { invoiceNumber } } } } }',
        {"b": session.business_id},
    )["business"]["invoices"]["edges"]
    assert [e["node"]["invoiceNumber"] for e in listed] == ["12", "112", "120"]


quantities = st.integers(min_value=1, max_value=10_000).map(lambda n: D(n).scaleb(-2))
prices = st.integers(min_value=0, max_value=1_000_000).map(lambda n: D(n).scaleb(-3))


@settings(max_examples=25, deadline=None)
@given(lines=st.lists(st.tuples(quantities, prices, st.booleans()), min_size=1, max_size=5))
def test_totals_are_exact_sums_of_rounded_lines(lines: list[tuple[Decimal, Decimal, bool]]) -> None:
    session = WaveSession()
    product = session.create_product()
    tax = session.sales_tax_id()
    items = [
        {
            "productId": product,
            "quantity": q,
            "unitPrice": p,
            "taxes": [{"salesTaxId": tax}] if taxed else [],
        }
        for q, p, taxed in lines
    ]
    invoice = create(session, items)["invoice"]
    cent = D("0.01")
    subtotals = [(q * p).quantize(cent, ROUND_HALF_UP) for q, p, _ in lines]
    taxes = [
        (s * D("0.0825")).quantize(cent, ROUND_HALF_UP) if taxed else D(0)
        for s, (_, _, taxed) in zip(subtotals, lines, strict=True)
    ]
    assert D(invoice["subtotal"]["value"]) == sum(subtotals)
    assert D(invoice["taxTotal"]["value"]) == sum(taxes)
    assert D(invoice["total"]["value"]) == sum(subtotals) + sum(taxes)
    assert [D(i["total"]["value"]) for i in invoice["items"]] == [
        s + t for s, t in zip(subtotals, taxes, strict=True)
    ]
