"""The Xero plugin's hooks: registration, push outcomes, look-up, undo, mapping, contract."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from xero_entries import MAPPING, PER_ORDER, SUMMARY, small_seller, small_seller_per_order

import ml_connector.plugins.xero as xero
from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import FakeClock
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.targets import Dedup, Document, Lookup, Outcome
from ml_connector.core.transport import request_record
from ml_connector.plugins.xero.mapping import suggest_from_chart
from ml_connector.plugins.xero.render import COLLECTION, ID_FIELD, render_entries

TOKEN_PATH = "/connect/token"


class MiniXero:
    """Just enough of Xero for the hooks' logic: per-object answers, ACCREC number uniqueness,
    ``where`` on Reference/Narration, void and delete. Behaviours can be overridden per test."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in COLLECTION.values()}
        self.requests: list[httpx.Request] = []
        self.ids = (f"00000000-0000-0000-0000-{n:012d}" for n in itertools.count(1))
        self.refuse: Callable[[str, dict[str, Any]], list[str]] = lambda collection, obj: []
        self.warn: Callable[[str, dict[str, Any]], list[str]] = lambda collection, obj: []
        self.drop_last_journal_line = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(
                200, json={"access_token": "a", "refresh_token": "r2", "expires_in": 1800}
            )
        self.requests.append(request)
        parts = request.url.path.split("/")[3:]
        collection = parts[0]
        body = jsoncodec.loads(request.content) if request.content else None
        if request.method == "PUT":
            return self.create(collection, body[collection])
        if request.method == "POST" and len(parts) == 2:
            return self.update(collection, parts[1], body)
        if request.method == "GET" and len(parts) == 2:
            obj = self.store[collection].get(parts[1])
            return self.answer({collection: [obj]}) if obj else httpx.Response(404)
        return self.answer({collection: self.search(collection, request.url.params)})

    @staticmethod
    def answer(body: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(status, content=jsoncodec.dumps(body))

    def create(self, collection: str, objects: list[dict[str, Any]]) -> httpx.Response:
        kind = next(k for k, c in COLLECTION.items() if c == collection)
        results = []
        for sent in objects:
            obj = dict(sent)
            errors = list(self.refuse(collection, obj))
            number = obj.get("InvoiceNumber")
            if number and any(
                i.get("InvoiceNumber") == number for i in self.store[collection].values()
            ):
                errors.append("Invoice # must be unique.")
            if errors:
                obj.update(HasErrors=True, ValidationErrors=[{"Message": m} for m in errors])
                results.append(obj)
                continue
            obj[ID_FIELD[kind]] = next(self.ids)
            if self.drop_last_journal_line and collection == "ManualJournals":
                obj["JournalLines"] = obj["JournalLines"][:-1]
            if warnings := self.warn(collection, obj):
                obj["Warnings"] = [{"Message": m} for m in warnings]
            self.store[collection][obj[ID_FIELD[kind]]] = obj
            results.append(obj)
        return self.answer({collection: results})

    def update(self, collection: str, object_id: str, body: dict[str, Any]) -> httpx.Response:
        obj = self.store[collection].get(object_id)
        if obj is None:
            return httpx.Response(404)
        change = body[collection][0] if collection in body else body
        obj["Status"] = change["Status"]
        return self.answer({collection: [obj]})

    def search(self, collection: str, params: httpx.QueryParams) -> list[dict[str, Any]]:
        found = list(self.store[collection].values())
        if numbers := params.get("InvoiceNumbers"):
            found = [o for o in found if o.get("InvoiceNumber") in numbers.split(",")]
        where = params.get("where", "")
        if m := re.fullmatch(r'Reference=="(.*)"', where):
            found = [o for o in found if o.get("Reference") == m.group(1)]
        if m := re.fullmatch(r'Narration\.Contains\("(.*)"\)', where):
            found = [o for o in found if m.group(1) in o.get("Narration", "")]
        return found


def session_for(fake: MiniXero) -> Any:
    credentials = Credentials(
        {"client_id": "cid", "client_secret": "sec", "refresh_token": "r1", "tenant_id": "t1"}
    )
    http = httpx.Client(transport=httpx.MockTransport(fake.handle))
    return xero.connect(credentials=credentials, http=http, clock=FakeClock())


def documents(mode: str = "summary") -> list[Document]:
    if mode == "summary":
        return list(render_entries(small_seller(), MAPPING, SUMMARY).documents)
    return list(render_entries(small_seller_per_order(), MAPPING, PER_ORDER).documents)


# -- registration and description ----------------------------------------------------------------


def test_the_plugin_registers_and_describes_itself() -> None:
    pm = make_manager(extra_plugins=[("xero", xero)], load_entry_points=False)
    target = get_target(pm, "xero")
    info = target.info
    assert info.name == "xero" and info.wire == "REST JSON"
    assert info.batch_size == 50
    assert info.dedup["invoice"] is Dedup.NATURAL_KEY
    assert {
        info.dedup[k] for k in ("manual_journal", "payment", "bank_transfer", "bank_transaction")
    } == {Dedup.LOOKUP}
    assert (info.rate_limits.per_minute, info.rate_limits.per_day, info.rate_limits.concurrent) == (
        60,
        5000,
        5,
    )
    for hook in ("connect", "render", "push", "look_up", "undo", "validate_request", "emulator"):
        assert target.implements(hook), hook


# -- push -------------------------------------------------------------------------------------------


def test_push_creates_each_kind_and_sends_bodies_that_keep_the_contract() -> None:
    fake = MiniXero()
    docs = documents("per-order")
    outcomes = xero.push(session=session_for(fake), documents=docs)
    assert [o.outcome for o in outcomes] == [Outcome.CREATED] * len(docs)
    assert {o.key for o in outcomes} == {d.key for d in docs}
    for request in fake.requests:
        record = request_record(request)
        assert (
            xero.validate_request(
                method=record["method"],
                url=record["url"],
                headers=record["headers"],
                body=record["body"],
            )
            == []
        )
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert [r.url.path.rsplit("/", 1)[-1] for r in puts] == [
        "Invoices",
        "ManualJournals",
        "Payments",
        "BankTransfers",
    ]
    assert "summarizeErrors" not in puts[-1].url.params  # PUT /BankTransfers does not take it


def test_per_object_errors_fail_only_their_document_with_xeros_words() -> None:
    fake = MiniXero()
    fake.refuse = lambda collection, obj: (
        ["Account must be valid."] if obj.get("InvoiceNumber", "").endswith("2") else []
    )
    invoices = [d for d in documents("per-order") if d.kind == "invoice"]
    first, second = xero.push(session=session_for(fake), documents=invoices)
    assert first.outcome is Outcome.CREATED
    assert (second.outcome, second.message) == (Outcome.FAILED, "Account must be valid.")


def test_a_duplicate_invoice_number_is_an_existing_invoice() -> None:
    fake = MiniXero()
    session = session_for(fake)
    invoices = [d for d in documents("per-order") if d.kind == "invoice"]
    created = xero.push(session=session, documents=invoices)
    again = xero.push(session=session, documents=invoices)
    assert [o.outcome for o in again] == [Outcome.EXISTS, Outcome.EXISTS]
    assert [o.target_id for o in again] == [o.target_id for o in created]
    assert len(fake.store["Invoices"]) == 2


def test_a_journal_whose_line_xero_removed_is_failed_and_voided() -> None:
    fake = MiniXero()
    fake.drop_last_journal_line = True
    fake.warn = lambda collection, obj: [
        "Account code '630' has been removed as it does not match a recognised account."
    ]
    journal = next(d for d in documents() if d.kind == "manual_journal")
    (outcome,) = xero.push(session=session_for(fake), documents=[journal])
    assert outcome.outcome is Outcome.FAILED
    assert "has been removed" in outcome.message and "voided" in outcome.message
    (stored,) = fake.store["ManualJournals"].values()
    assert stored["Status"] == "VOIDED"


def test_a_lost_answer_is_unknown_and_a_throttle_that_lasts_is_retry() -> None:
    journal = next(d for d in documents() if d.kind == "manual_journal")

    def lost(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return MiniXero().handle(request)
        raise httpx.ReadTimeout("lost", request=request)

    session = session_for(MiniXero())
    session.http = httpx.Client(transport=httpx.MockTransport(lost))
    (outcome,) = xero.push(session=session, documents=[journal])
    assert outcome.outcome is Outcome.UNKNOWN

    session.http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "1"}))
    )
    (outcome,) = xero.push(session=session, documents=[journal])
    assert outcome.outcome is Outcome.RETRY


# -- look up and undo ----------------------------------------------------------------------------------


def test_look_up_finds_every_kind_by_the_reference_we_embedded() -> None:
    fake = MiniXero()
    session = session_for(fake)
    docs = documents("per-order")
    for document in docs:
        assert xero.look_up(session=session, document=document).status is Lookup.ABSENT
    outcomes = {o.key: o for o in xero.push(session=session, documents=docs)}
    for document in docs:
        result = xero.look_up(session=session, document=document)
        assert result.status is Lookup.FOUND
        assert result.target_id == outcomes[document.key].target_id


def test_undo_voids_or_deletes_and_a_second_undo_answers_exists() -> None:
    fake = MiniXero()
    session = session_for(fake)
    docs = documents("per-order")
    outcomes = {o.key: o for o in xero.push(session=session, documents=docs)}
    for document in reversed(docs):
        target_id = outcomes[document.key].target_id
        first = xero.undo(session=session, document=document, target_id=target_id)
        assert first.outcome is Outcome.CREATED, first.message
        second = xero.undo(session=session, document=document, target_id=target_id)
        assert second.outcome is Outcome.EXISTS
    statuses = {c: {o["Status"] for o in objs.values()} for c, objs in fake.store.items() if objs}
    assert statuses == {
        "Invoices": {"VOIDED"},
        "ManualJournals": {"VOIDED"},
        "Payments": {"DELETED"},
        "BankTransfers": {"DELETED"},
    }
    for document in docs:
        assert xero.look_up(session=session, document=document).status is Lookup.ABSENT


# -- mapping and contract ----------------------------------------------------------------------------


CHART = [
    {
        "Code": "200",
        "Name": "Amazon Sales",
        "Type": "SALES",
        "Class": "REVENUE",
        "Status": "ACTIVE",
    },
    {
        "Code": "260",
        "Name": "Other Revenue",
        "Type": "REVENUE",
        "Class": "REVENUE",
        "Status": "ACTIVE",
    },
    {
        "Code": "201",
        "Name": "Shipping Income",
        "Type": "REVENUE",
        "Class": "REVENUE",
        "Status": "ACTIVE",
    },
    {
        "Code": "404",
        "Name": "Amazon Referral Fees",
        "Type": "EXPENSE",
        "Class": "EXPENSE",
        "Status": "ACTIVE",
    },
    {
        "Code": "405",
        "Name": "FBA Fees",
        "Type": "DIRECTCOSTS",
        "Class": "EXPENSE",
        "Status": "ACTIVE",
    },
    {
        "Code": "406",
        "Name": "Old FBA Fees",
        "Type": "EXPENSE",
        "Class": "EXPENSE",
        "Status": "ARCHIVED",
    },
    {
        "Code": "610",
        "Name": "Accounts Receivable",
        "Type": "CURRENT",
        "Class": "ASSET",
        "SystemAccount": "DEBTORS",
        "Status": "ACTIVE",
    },
    {"Code": "090", "Name": "Amazon Payouts", "Type": "BANK", "Class": "ASSET", "Status": "ACTIVE"},
    {
        "Code": "091",
        "Name": "Amazon Clearing US",
        "Type": "BANK",
        "Class": "ASSET",
        "Status": "ACTIVE",
    },
    {
        "Code": "092",
        "Name": "Amazon Clearing GBP",
        "Type": "BANK",
        "Class": "ASSET",
        "CurrencyCode": "GBP",
        "Status": "ACTIVE",
    },
]


def test_a_mapping_is_suggested_from_names_and_types_never_guessed() -> None:
    contacts = [
        {"ContactID": "11111111-2222-3333-4444-555555555555", "Name": "Amazon.com customer"}
    ]
    categories = [
        {"Name": "Region", "Status": "ACTIVE", "Options": [{"Name": "North", "Status": "ACTIVE"}]},
        {
            "Name": "Channel",
            "Status": "ACTIVE",
            "Options": [
                {"Name": "US", "Status": "ACTIVE"},
                {"Name": "Amazon.co.uk", "Status": "ACTIVE"},
            ],
        },
    ]
    mapping = suggest_from_chart(CHART, contacts, categories)
    assert mapping.accounts["Income:Amazon:Sales"] == "200"
    assert mapping.accounts["Income:Amazon:Shipping"] == "201"
    assert mapping.accounts["Expenses:Amazon:ReferralFees"] == "404"
    assert mapping.accounts["Expenses:Amazon:FBAFees"] == "405"
    assert mapping.accounts["Assets:Amazon:Receivable"] == "610"
    assert mapping.accounts["Assets:Bank:AmazonPayouts"] == "090"
    assert mapping.accounts["Assets:Amazon:Clearing:US"] == "091"
    assert mapping.accounts["Assets:Amazon:Clearing:UK"] == "092"
    assert "Expenses:Amazon:StorageFees" not in mapping.accounts  # no such account: not guessed
    assert "Assets:Amazon:Clearing:DE" not in mapping.accounts
    assert mapping.contacts == {"US": "11111111-2222-3333-4444-555555555555"}
    assert mapping.options == {"track_marketplace": "true", "tracking_category": "Channel"}
    assert mapping.tracking == {"US": "US", "UK": "Amazon.co.uk"}


def test_validate_request_reports_contract_breaches() -> None:
    url = "https://api.xero.com/api.xro/2.0/Invoices?summarizeErrors=false"
    body = {"Invoices": [{"Type": "ACCREC", "LineItems": [{"LineAmount": "12.30"}]}]}
    problems = xero.validate_request(method="PUT", url=url, headers={}, body=body)
    assert any("xero-tenant-id" in p for p in problems)
    assert any("LineAmount" in p and "number" in p for p in problems)
    good = {"Invoices": [{"Type": "ACCREC", "LineItems": [{"LineAmount": Decimal("12.30")}]}]}
    assert (
        xero.validate_request(method="PUT", url=url, headers={"xero-tenant-id": "t"}, body=good)
        == []
    )
    assert xero.validate_request(
        method="PUT", url="https://api.xero.com/api.xro/2.0/Nope", headers={}, body={}
    ) == ["PUT /api.xro/2.0/Nope: no such operation in xero_accounting.yaml"]


@pytest.mark.parametrize("kind", sorted(COLLECTION))
def test_every_kind_has_an_endpoint_in_the_contract(kind: str) -> None:
    url = f"https://api.xero.com/api.xro/2.0/{COLLECTION[kind]}"
    assert (
        xero.validate_request(method="GET", url=url, headers={"xero-tenant-id": "t"}, body=None)
        == []
    )
