"""The Wave client: every operation valid against the schema, errors in HTTP 200, auth, retries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import graphql
import httpx
import pytest
from wave_plugin_support import connected

from ml_connector.core import jsoncodec
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation import Chaos, FakeClock, Fault
from ml_connector.core.errors import AuthError, RateLimitedError, TransportError
from ml_connector.core.transport import request_record
from ml_connector.plugins.wave import contract, operations
from ml_connector.plugins.wave.auth import REFRESH_MARGIN_SECONDS, WaveAuth
from ml_connector.plugins.wave.client import WaveClient, WaveGraphQLError
from ml_connector.plugins.wave.emulator import ACCESS_TOKEN_SECONDS
from ml_connector.plugins.wave.schema import SCHEMA_PATH


@pytest.mark.parametrize("name", sorted(operations.ALL))
def test_every_operation_validates_against_the_schema_copy(name: str) -> None:
    schema = graphql.build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    document = graphql.parse(operations.ALL[name])
    assert graphql.validate(schema, document) == []
    assert contract.validate_document(operations.ALL[name]) == []


def test_every_mutation_asks_for_did_succeed_and_input_errors() -> None:
    for name, document in operations.ALL.items():
        if document.lstrip().startswith("mutation"):
            assert "didSucceed" in document and "inputErrors" in document, name


def test_an_error_inside_http_200_raises_with_waves_message_and_code() -> None:
    _target, client, _sent = connected()
    with pytest.raises(WaveGraphQLError) as raised:
        client.execute("query { business(id: 1) { nosuchfield } }")
    assert raised.value.codes == ("GRAPHQL_VALIDATION_FAILED",)
    assert raised.value.applied is False
    assert "nosuchfield" in raised.value.message


def test_a_refused_mutation_is_a_failed_result_with_the_input_errors_never_data() -> None:
    _target, client, _sent = connected()
    result = client.mutate(
        operations.MONEY_TRANSACTION_CREATE,
        "moneyTransactionCreate",
        {
            "businessId": client.business_id,
            "externalId": "x-1",
            "date": "2026-10-01",
            "description": "unbalanced",
            "anchor": {
                "accountId": _account(client, "Amazon Clearing"),
                "amount": Decimal("10.00"),
                "direction": "DEPOSIT",
            },
            "lineItems": [
                {
                    "accountId": _account(client, "Amazon Sales"),
                    "amount": Decimal("9.99"),
                    "balance": "CREDIT",
                }
            ],
        },
    )
    assert not result.succeeded and result.node is None
    assert "LINE_ITEMS_DO_NOT_BALANCE" in result.message
    assert "input.lineItems" in result.message


def _account(client: WaveClient, name: str) -> str:
    return next(a["id"] for a in client.pages(operations.ACCOUNTS, "accounts") if a["name"] == name)


def test_the_token_is_refreshed_before_it_expires_not_after_a_refusal() -> None:
    clock = FakeClock()
    _target, client, sent = connected(clock=clock)
    assert client.auth.refreshes == 1
    client.execute(operations.BUSINESS, {"businessId": client.business_id})
    clock.advance(ACCESS_TOKEN_SECONDS - REFRESH_MARGIN_SECONDS + 1)  # inside the margin
    before = len(sent)
    client.execute(operations.BUSINESS, {"businessId": client.business_id})
    assert client.auth.refreshes == 2
    paths = [r.url.path for r in sent[before:]]
    assert paths == ["/oauth2/token/", "/graphql/public"], "refresh first, then one call"


def test_an_early_revocation_costs_one_refresh_and_one_retry() -> None:
    chaos = Chaos(seed=1, per_mille={Fault.EXPIRE_TOKEN: 1000})
    clock = FakeClock()
    target, client, _sent = connected(clock=clock)
    target.state.chaos = chaos
    with pytest.raises(AuthError) as raised:
        client.execute(operations.BUSINESS, {"businessId": client.business_id})
    assert client.auth.refreshes == 2  # the first refusal refreshed once; the second gave up
    assert "ml-connector auth wave" in str(raised.value)


def _scripted(answers: list[httpx.Response]) -> tuple[WaveClient, FakeClock, list[httpx.Request]]:
    clock = FakeClock()
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/oauth2/"):
            token = {"access_token": "access-1234567", "expires_in": 7200, "businessId": "B"}
            return httpx.Response(200, content=jsoncodec.dumps(token))
        seen.append(request)
        return answers.pop(0)

    credentials = Credentials(
        {"client_id": "c", "client_secret": "s" * 12, "refresh_token": "r" * 12}
    )
    http = httpx.Client(transport=httpx.MockTransport(handle))
    auth = WaveAuth(credentials, http, clock)
    return WaveClient(http, auth, clock, business_id="B"), clock, seen


def _data(value: Any) -> httpx.Response:
    return httpx.Response(200, content=jsoncodec.dumps({"data": value}))


def test_429_waits_for_retry_after_on_the_clock_then_succeeds() -> None:
    client, clock, seen = _scripted(
        [httpx.Response(429, headers={"Retry-After": "7"}), _data({"business": None})]
    )
    start = clock.now()
    assert client.execute(operations.BUSINESS, {"businessId": "B"}) == {"business": None}
    assert clock.now() - start == 7
    assert len(seen) == 2


def test_429_without_retry_after_backs_off_with_jitter_and_gives_up_bounded() -> None:
    client, clock, seen = _scripted([httpx.Response(429) for _ in range(5)])
    start = clock.now()
    with pytest.raises(RateLimitedError):
        client.execute(operations.BUSINESS, {"businessId": "B"})
    assert len(seen) == client.retry.max_attempts
    assert 0.5 + 1 + 2 + 4 <= clock.now() - start <= 1 + 2 + 4 + 8


def test_a_5xx_is_retried_and_the_html_body_is_no_problem() -> None:
    client, _clock, seen = _scripted(
        [httpx.Response(502, text="<html>Bad Gateway</html>"), _data({"business": None})]
    )
    client.execute(operations.BUSINESS, {"businessId": "B"})
    assert len(seen) == 2


def test_a_lost_answer_to_a_read_is_retried_but_to_a_mutation_is_not() -> None:
    chaos = Chaos(seed=2, per_mille={Fault.TIMEOUT: 1000})
    target, client, _sent = connected()
    target.state.chaos = chaos
    with pytest.raises(TransportError) as lost:
        client.mutate(
            operations.CUSTOMER_CREATE,
            "customerCreate",
            {"businessId": client.business_id, "name": "X"},
        )
    assert "may have been applied" in lost.value.message
    assert chaos.injected[Fault.TIMEOUT] == 1
    with pytest.raises(TransportError):
        client.execute(operations.BUSINESS, {"businessId": client.business_id})
    assert chaos.injected[Fault.TIMEOUT] == 1 + client.retry.max_attempts


def test_paging_reads_every_page_until_total_pages() -> None:
    _target, client, sent = connected()
    client.page_size = 4
    before = len(sent)
    accounts = client.pages(operations.ACCOUNTS, "accounts")
    pages = len(sent) - before
    assert len(accounts) > 12
    assert pages == -(-len(accounts) // 4)
    assert len({a["id"] for a in accounts}) == len(accounts)
    pages_sent = [jsoncodec.loads(r.content)["variables"]["page"] for r in sent[before:]]
    assert pages_sent == list(range(1, pages + 1))


def test_every_request_the_client_sent_validates_against_the_schema() -> None:
    _target, client, sent = connected()
    client.names("customers")
    client.names("products")
    client.pages(operations.INVOICES_BY_NUMBER, "invoices", {"invoiceNumber": "AMZ-1"})
    assert sent
    for request in sent:
        record = request_record(request)
        assert (
            contract.validate_request(
                record["method"], record["url"], record["headers"], record["body"]
            )
            == []
        )


def test_the_contract_refuses_an_unknown_field_and_a_bad_variable() -> None:
    headers = {"authorization": "Bearer x", "content-type": "application/json"}
    url = "https://gql.waveapps.com/graphql/public"
    assert contract.validate_request("POST", url, headers, {"query": "query { nosuch }"})
    bad = {
        "query": operations.MONEY_TRANSACTION_CREATE,
        "variables": {"input": {"businessId": "B", "externalId": "e", "date": "2026-10-01"}},
    }
    problems = contract.validate_request("POST", url, headers, bad)
    assert any("variables" in p for p in problems), problems
    assert contract.validate_request(
        "POST", url, {}, {"query": operations.BUSINESS, "variables": {"businessId": "B"}}
    )


def test_reprs_and_errors_hold_no_secret() -> None:
    client, _clock, _seen = _scripted([_data({"business": None})])
    client.execute(operations.BUSINESS, {"businessId": "B"})
    for shown in (repr(client), repr(client.auth), repr(client.auth.access_token())):
        assert "access-1234567" not in shown and "rrrrrrrr" not in shown
