"""Invoices in the Xero emulator: numbering, dedup rules, arithmetic, statuses, validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_xero_emulator_support import XeroEnv, body, invoice

from ml_connector.core import jsoncodec


@pytest.fixture
def env() -> XeroEnv:
    return XeroEnv.create()


def only_invoice(response: object) -> dict:
    [found] = body(response)["Invoices"]  # type: ignore[arg-type]
    return found


def test_create_then_read_by_id_and_by_number(env: XeroEnv) -> None:
    created = only_invoice(env.send("PUT", "/Invoices", {"Invoices": [invoice()]}))
    assert created["Total"] == Decimal("39.98") and created["AmountDue"] == Decimal("39.98")
    assert created["Date"] == "/Date(1791158400000+0000)/"
    assert created["DateString"] == "2026-10-05T00:00:00"
    by_id = only_invoice(env.send("GET", f"/Invoices/{created['InvoiceID']}"))
    by_number = only_invoice(env.send("GET", "/Invoices/AMZ-1001"))
    assert by_id["InvoiceID"] == by_number["InvoiceID"] == created["InvoiceID"]
    assert env.send("GET", "/Invoices/NO-SUCH").status_code == 404


def test_missing_accrec_number_is_generated(env: XeroEnv) -> None:
    created = only_invoice(env.send("PUT", "/Invoices", {"Invoices": [invoice(None)]}))
    assert created["InvoiceNumber"] == "INV-0001"


def test_duplicate_accrec_number_is_refused_on_put(env: XeroEnv) -> None:
    assert env.send("PUT", "/Invoices", {"Invoices": [invoice()]}).status_code == 200
    again = env.send("PUT", "/Invoices", {"Invoices": [invoice()]})
    assert again.status_code == 400
    error = body(again)
    assert error["ErrorNumber"] == 10 and error["Type"] == "ValidationException"
    assert error["Message"] == "A validation exception occurred"
    [element] = error["Elements"]
    assert element["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert env.emulator.count_by("Invoice", "InvoiceNumber")["AMZ-1001"] == 1


def test_post_with_an_existing_number_updates_it(env: XeroEnv) -> None:
    first = only_invoice(env.send("PUT", "/Invoices", {"Invoices": [invoice(Status="DRAFT")]}))
    changed = invoice(Status="DRAFT", Reference="corrected")
    changed["LineItems"][0]["Quantity"] = 3
    second = only_invoice(env.send("POST", "/Invoices", {"Invoices": [changed]}))
    assert second["InvoiceID"] == first["InvoiceID"]
    assert second["Total"] == Decimal("59.97") and second["Reference"] == "corrected"
    assert len(env.emulator.state.objects("Invoice")) == 1


def test_accpay_numbers_need_not_be_unique(env: XeroEnv) -> None:
    bill = invoice("BILL-7", Type="ACCPAY", Contact={"Name": "Amazon Services LLC"})
    assert env.send("PUT", "/Invoices", {"Invoices": [bill, bill]}).status_code == 200
    assert env.emulator.count_by("Invoice", "InvoiceNumber")["BILL-7"] == 2


def test_client_supplied_invoice_id_is_not_honoured(env: XeroEnv) -> None:
    own = invoice(InvoiceID="a0925a79-43ef-11e8-8156-da7279fdb1da")
    answer = env.send("PUT", "/Invoices", {"Invoices": [own]}, params={"summarizeErrors": "false"})
    assert answer.status_code == 200
    refused = only_invoice(answer)
    assert refused["HasErrors"] is True and refused["StatusAttributeString"] == "ERROR"
    assert "cannot be set" in refused["ValidationErrors"][0]["Message"]
    assert env.emulator.state.objects("Invoice") == []


def test_summarize_errors_false_saves_the_valid_ones(env: XeroEnv) -> None:
    batch = {"Invoices": [invoice("A-1"), invoice("A-1"), invoice("A-2")]}
    answer = env.send("PUT", "/Invoices", batch, params={"summarizeErrors": "false"})
    assert answer.status_code == 200
    states = [(i["InvoiceNumber"], i["StatusAttributeString"]) for i in body(answer)["Invoices"]]
    assert states == [("A-1", "OK"), ("A-1", "ERROR"), ("A-2", "OK")]
    assert sorted(env.emulator.count_by("Invoice", "InvoiceNumber")) == ["A-1", "A-2"]


def test_summarize_errors_default_saves_nothing(env: XeroEnv) -> None:
    batch = {"Invoices": [invoice("B-1"), invoice("B-2", Type="NOPE")]}
    answer = env.send("PUT", "/Invoices", batch)
    assert answer.status_code == 400
    [element] = body(answer)["Elements"]
    assert "Type" in element["ValidationErrors"][0]["Message"]
    assert env.emulator.state.objects("Invoice") == []
    assert env.emulator.state.objects("Contact")[0]["Name"] == "Amazon.com Customers"


def test_unit_amounts_round_to_two_places_unless_unitdp_4(env: XeroEnv) -> None:
    line = {
        "Description": "x",
        "Quantity": 3,
        "UnitAmount": Decimal("3.3333"),
        "AccountCode": "200",
        "TaxType": "NONE",
    }
    plain = only_invoice(
        env.send("PUT", "/Invoices", {"Invoices": [invoice("U-1", LineItems=[line])]})
    )
    assert plain["LineItems"][0]["UnitAmount"] == Decimal("3.33")
    assert plain["Total"] == Decimal("9.99")
    four = only_invoice(
        env.send(
            "PUT",
            "/Invoices",
            {"Invoices": [invoice("U-2", LineItems=[line])]},
            params={"unitdp": "4"},
        )
    )
    assert four["LineItems"][0]["UnitAmount"] == Decimal("3.3333")
    assert four["Total"] == Decimal("10.00")
    shown_plain = only_invoice(env.send("GET", f"/Invoices/{four['InvoiceID']}"))
    assert shown_plain["LineItems"][0]["UnitAmount"] == Decimal("3.33")
    shown_four = only_invoice(
        env.send("GET", f"/Invoices/{four['InvoiceID']}", params={"unitdp": "4"})
    )
    assert shown_four["LineItems"][0]["UnitAmount"] == Decimal("3.3333")


def test_amounts_are_written_back_exactly(env: XeroEnv) -> None:
    answer = env.send("PUT", "/Invoices", {"Invoices": [invoice()]})
    text = answer.text
    assert '"Total":39.98' in text and '"Quantity":2.0000' in text
    assert isinstance(jsoncodec.loads(text)["Invoices"][0]["Total"], Decimal)


def test_tax_is_rounded_per_line_then_summed(env: XeroEnv) -> None:
    # 8.25% of 0.30 is 0.02475 -> 0.02 per line; three lines give 0.06, not round(0.07425)=0.07.
    lines = [
        {
            "Description": f"l{i}",
            "Quantity": 1,
            "UnitAmount": Decimal("0.30"),
            "AccountCode": "200",
            "TaxType": "OUTPUT",
        }
        for i in range(3)
    ]
    taxed = only_invoice(
        env.send("PUT", "/Invoices", {"Invoices": [invoice("T-1", LineItems=lines)]})
    )
    assert [line["TaxAmount"] for line in taxed["LineItems"]] == [Decimal("0.02")] * 3
    assert taxed["TotalTax"] == Decimal("0.06")
    assert taxed["Total"] == Decimal("0.96")


@settings(max_examples=40, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=1, max_value=10_000_00), min_size=1, max_size=6),
    inclusive=st.booleans(),
)
def test_totals_are_sums_of_rounded_lines(cents: list[int], inclusive: bool) -> None:
    env = XeroEnv.create()
    lines = [
        {
            "Description": "p",
            "Quantity": 1,
            "UnitAmount": Decimal(c).scaleb(-2),
            "AccountCode": "200",
            "TaxType": "OUTPUT",
        }
        for c in cents
    ]
    kind = "Inclusive" if inclusive else "Exclusive"
    made = only_invoice(
        env.send(
            "PUT",
            "/Invoices",
            {"Invoices": [invoice("P-1", LineItems=lines, LineAmountTypes=kind)]},
        )
    )
    line_tax = sum((line["TaxAmount"] for line in made["LineItems"]), Decimal(0))
    line_amounts = sum((line["LineAmount"] for line in made["LineItems"]), Decimal(0))
    assert made["TotalTax"] == line_tax
    assert made["Total"] == made["SubTotal"] + made["TotalTax"]
    assert made["Total"] == (line_amounts if inclusive else line_amounts + line_tax)
    assert all(
        line["TaxAmount"] == line["TaxAmount"].quantize(Decimal("0.01"))
        for line in made["LineItems"]
    )


def test_archived_account_is_removed_with_a_warning(env: XeroEnv) -> None:
    line = {
        "Description": "old fee",
        "Quantity": 1,
        "UnitAmount": Decimal("5.00"),
        "AccountCode": "476",
    }
    draft = invoice("W-1", Status="DRAFT", LineItems=[line])
    saved = only_invoice(env.send("PUT", "/Invoices", {"Invoices": [draft]}))
    assert saved["StatusAttributeString"] == "WARNING"
    assert saved["Warnings"] == [
        {
            "Message": "Account code '476' has been removed as it does not match a recognised account."
        }
    ]
    assert "AccountCode" not in saved["LineItems"][0]
    authorised = env.send("PUT", "/Invoices", {"Invoices": [invoice("W-2", LineItems=[line])]})
    assert authorised.status_code == 400
    assert body(authorised)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Account must be valid."}
    ]


def test_invalid_tax_type_is_refused(env: XeroEnv) -> None:
    bad = invoice("X-1")
    bad["LineItems"][0]["TaxType"] = "GST15"
    answer = env.send("PUT", "/Invoices", {"Invoices": [bad]})
    assert answer.status_code == 400
    message = body(answer)["Elements"][0]["ValidationErrors"][0]["Message"]
    assert message == (
        "The TaxType code GST15 does not exist or cannot be used for this type of transaction."
    )


def test_lock_dates_refuse_documents_on_or_before_them(env: XeroEnv) -> None:
    env.emulator.set_lock_dates(end_of_year=dt.date(2026, 10, 5))
    answer = env.send("PUT", "/Invoices", {"Invoices": [invoice()]})
    assert answer.status_code == 400
    assert body(answer)["Elements"][0]["ValidationErrors"] == [
        {
            "Message": "The document date cannot be before the end of year lock date, currently set at 05-Oct-2026"
        }
    ]
    later = invoice("L-2", Date="2026-10-06")
    assert env.send("PUT", "/Invoices", {"Invoices": [later]}).status_code == 200
    organisation = body(env.send("GET", "/Organisation"))["Organisations"][0]
    assert organisation["EndOfYearLockDate"] == "/Date(1791158400000+0000)/"


def test_status_transitions(env: XeroEnv) -> None:
    authorised = only_invoice(env.send("PUT", "/Invoices", {"Invoices": [invoice("S-1")]}))
    draft = only_invoice(
        env.send("PUT", "/Invoices", {"Invoices": [invoice("S-2", Status="DRAFT")]})
    )
    refused = env.send(
        "POST", f"/Invoices/{authorised['InvoiceID']}", {"Invoices": [{"Status": "DELETED"}]}
    )
    assert body(refused)["Elements"][0]["ValidationErrors"] == [
        {"Message": "Invoice not of valid status for modification"}
    ]
    voided = only_invoice(
        env.send(
            "POST",
            "/Invoices",
            {"Invoices": [{"InvoiceID": authorised["InvoiceID"], "Status": "VOIDED"}]},
        )
    )
    assert voided["Status"] == "VOIDED" and voided["AmountDue"] == Decimal("0.00")
    deleted = only_invoice(
        env.send(
            "POST",
            "/Invoices",
            {"Invoices": [{"InvoiceID": draft["InvoiceID"], "Status": "DELETED"}]},
        )
    )
    assert deleted["Status"] == "DELETED"
    final = env.send(
        "POST",
        "/Invoices",
        {"Invoices": [{"InvoiceID": authorised["InvoiceID"], "Status": "AUTHORISED"}]},
    )
    assert final.status_code == 400


def test_schema_violations_are_validation_exceptions(env: XeroEnv) -> None:
    as_text = invoice("V-1")
    as_text["LineItems"][0]["UnitAmount"] = "19.99"  # money must be a JSON number
    too_long = invoice("N" * 256)
    answer = env.send("PUT", "/Invoices", {"Invoices": [as_text, too_long]})
    assert answer.status_code == 400
    messages = [e["ValidationErrors"][0]["Message"] for e in body(answer)["Elements"]]
    assert messages[0].startswith("LineItems[0].UnitAmount: '19.99' is not of type 'number'")
    assert messages[1] == "InvoiceNumber: must be at most 255 characters long (got 256)"
    shapeless = env.send("PUT", "/Invoices", [invoice()])
    assert shapeless.status_code == 400
    assert "array 'Invoices'" in body(shapeless)["Elements"][0]["ValidationErrors"][0]["Message"]
    broken = env.api.put(
        "/Invoices", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and body(broken)["Type"] == "PostDataInvalidException"


def test_body_over_3_5_mb_is_refused(env: XeroEnv) -> None:
    huge = invoice("H-1", Reference="x" * 3_600_000)
    assert env.send("PUT", "/Invoices", {"Invoices": [huge]}).status_code == 413
