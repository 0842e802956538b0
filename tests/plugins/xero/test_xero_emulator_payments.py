"""Payments, bank transactions, transfers, contacts and items in the Xero emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_xero_emulator_support import XeroEnv, body, invoice


@pytest.fixture
def env() -> XeroEnv:
    return XeroEnv.create()


def make_invoice(env: XeroEnv, number: str = "AMZ-1001") -> dict:
    return body(env.send("PUT", "/Invoices", {"Invoices": [invoice(number)]}))["Invoices"][0]


def pay(env: XeroEnv, number: str, amount: str, code: str = "091", **params: str) -> object:
    payment = {
        "Invoice": {"InvoiceNumber": number},
        "Account": {"Code": code},
        "Date": "2026-10-20",
        "Amount": Decimal(amount),
    }
    return env.send("PUT", "/Payments", {"Payments": [payment]}, params=params)


def test_payments_reduce_what_is_due_until_paid(env: XeroEnv) -> None:
    made = make_invoice(env)
    assert pay(env, "AMZ-1001", "10.00").status_code == 200
    partial = body(env.send("GET", f"/Invoices/{made['InvoiceID']}"))["Invoices"][0]
    assert partial["AmountPaid"] == Decimal("10.00") and partial["AmountDue"] == Decimal("29.98")
    assert partial["Status"] == "AUTHORISED"
    assert pay(env, "AMZ-1001", "29.98").status_code == 200
    paid = body(env.send("GET", f"/Invoices/{made['InvoiceID']}"))["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == Decimal("0.00")
    assert paid["FullyPaidOnDate"] == "/Date(1792454400000+0000)/"
    assert len(paid["Payments"]) == 2


def test_payment_larger_than_due_or_to_a_non_bank_account_is_refused(env: XeroEnv) -> None:
    make_invoice(env)
    too_much = pay(env, "AMZ-1001", "40.00")
    assert too_much.status_code == 400
    assert (
        "exceeds the amount outstanding"
        in body(too_much)["Elements"][0]["ValidationErrors"][0]["Message"]
    )
    to_sales = pay(env, "AMZ-1001", "1.00", code="200")
    assert "cannot take payments" in body(to_sales)["Elements"][0]["ValidationErrors"][0]["Message"]
    to_enabled = pay(env, "AMZ-1001", "1.00", code="150")
    assert to_enabled.status_code == 200


def test_payments_have_no_dedup(env: XeroEnv) -> None:
    make_invoice(env)
    pay(env, "AMZ-1001", "5.00")
    pay(env, "AMZ-1001", "5.00")
    assert env.emulator.count_by("Payment", lambda p: p["Invoice"]["InvoiceNumber"]) == {
        "AMZ-1001": 2
    }


def test_deleting_a_payment_puts_the_amount_back(env: XeroEnv) -> None:
    made = make_invoice(env)
    [payment] = body(pay(env, "AMZ-1001", "39.98"))["Payments"]
    void_paid = env.send(
        "POST", "/Invoices", {"Invoices": [{"InvoiceID": made["InvoiceID"], "Status": "VOIDED"}]}
    )
    assert void_paid.status_code == 400
    deleted = env.send("POST", f"/Payments/{payment['PaymentID']}", {"Status": "DELETED"})
    assert body(deleted)["Payments"][0]["Status"] == "DELETED"
    back = body(env.send("GET", f"/Invoices/{made['InvoiceID']}"))["Invoices"][0]
    assert back["Status"] == "AUTHORISED" and back["AmountDue"] == Decimal("39.98")
    assert back["Payments"] == []


def test_payment_needs_an_authorised_invoice(env: XeroEnv) -> None:
    env.send("PUT", "/Invoices", {"Invoices": [invoice("D-1", Status="DRAFT")]})
    answer = pay(env, "D-1", "1.00")
    assert body(answer)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Payments can only be made against Authorised documents"}
    ]


def test_bank_transactions_receive_and_spend(env: XeroEnv) -> None:
    spend = {
        "Type": "SPEND",
        "Contact": {"Name": "Amazon Services LLC"},
        "BankAccount": {"Code": "091"},
        "Date": "2026-10-05",
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": "FBA fees",
                "Quantity": 1,
                "UnitAmount": Decimal("12.34"),
                "AccountCode": "401",
            }
        ],
    }
    first = env.send("PUT", "/BankTransactions", {"BankTransactions": [spend]})
    assert body(first)["BankTransactions"][0]["Total"] == Decimal("12.34")
    env.send("PUT", "/BankTransactions", {"BankTransactions": [spend]})
    assert len(env.emulator.state.objects("BankTransaction")) == 2
    not_bank = dict(spend, BankAccount={"Code": "200"})
    assert env.send("PUT", "/BankTransactions", {"BankTransactions": [not_bank]}).status_code == 400


def test_bank_transfer_between_bank_accounts(env: XeroEnv) -> None:
    transfer = {
        "FromBankAccount": {"Code": "091"},
        "ToBankAccount": {"Code": "090"},
        "Amount": Decimal("1234.56"),
        "Date": "2026-10-06",
    }
    made = body(env.send("PUT", "/BankTransfers", {"BankTransfers": [transfer]}))["BankTransfers"][
        0
    ]
    assert made["Amount"] == Decimal("1234.56") and made["FromBankAccount"]["Code"] == "091"
    same = dict(transfer, ToBankAccount={"Code": "091"})
    assert env.send("PUT", "/BankTransfers", {"BankTransfers": [same]}).status_code == 400
    env.send(
        "POST",
        "/BankTransfers",
        {"BankTransfers": [{"BankTransferID": made["BankTransferID"], "Status": "DELETED"}]},
    )
    assert body(env.send("GET", "/BankTransfers"))["BankTransfers"] == []


def test_seeded_chart_and_tracking(env: XeroEnv) -> None:
    accounts = body(env.send("GET", "/Accounts"))["Accounts"]
    by_code = {a["Code"]: a for a in accounts}
    assert by_code["091"]["Name"] == "Amazon Clearing US" and by_code["091"]["Type"] == "BANK"
    assert by_code["090"]["Name"] == "Business Bank" and by_code["090"]["Type"] == "BANK"
    assert by_code["476"]["Status"] == "ARCHIVED"
    banks = body(env.send("GET", "/Accounts", params={"where": 'Type=="BANK"'}))["Accounts"]
    assert {a["Code"] for a in banks} == {"090", "091", "092", "093", "094", "095"}
    [marketplace] = body(env.send("GET", "/TrackingCategories"))["TrackingCategories"]
    assert [o["Name"] for o in marketplace["Options"]] == ["US", "CA", "UK", "DE", "JP"]


def test_contacts_by_name_and_unique_names(env: XeroEnv) -> None:
    found = body(env.send("GET", "/Contacts", params={"where": 'Name=="Amazon Services LLC"'}))
    assert [c["Name"] for c in found["Contacts"]] == ["Amazon Services LLC"]
    taken = env.send("PUT", "/Contacts", {"Contacts": [{"Name": "Amazon Services LLC"}]})
    assert taken.status_code == 400
    assert (
        "must be unique across all active contacts"
        in body(taken)["Elements"][0]["ValidationErrors"][0]["Message"]
    )
    made = env.send("PUT", "/Contacts", {"Contacts": [{"Name": "Amazon EU S.a r.l."}]})
    assert body(made)["Contacts"][0]["ContactStatus"] == "ACTIVE"


def test_item_price_update_shows_in_modified_since(env: XeroEnv) -> None:
    env.clock.advance(60)
    stamp = "Sat, 15 Jan 2027 08:00:30 GMT"  # between the seed and the update below
    update = {"Items": [{"Code": "SKU-MUG-01", "SalesDetails": {"UnitPrice": Decimal("15.49")}}]}
    changed = body(env.send("POST", "/Items", update))["Items"][0]
    assert changed["SalesDetails"]["UnitPrice"] == Decimal("15.49")
    recent = body(env.send("GET", "/Items", headers={"If-Modified-Since": stamp}))["Items"]
    assert [i["Code"] for i in recent] == ["SKU-MUG-01"]
    assert len(body(env.send("GET", "/Items"))["Items"]) == 3
    by_code = body(env.send("GET", "/Items/SKU-MUG-01"))["Items"][0]
    assert by_code["ItemID"] == changed["ItemID"]
