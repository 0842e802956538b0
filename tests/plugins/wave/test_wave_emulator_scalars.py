"""The Decimal, Date and DateTime scalars behave the same under graphql-core 3.2 and 3.3.

graphql-core 3.3 stopped reading the legacy hooks assigned after ``build_ast_schema``, so
variables reached resolvers unparsed (a ``str`` price compared with ``0``) and results went out
unserialized. These tests run on whichever graphql-core is installed; CI's pin allows both.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import graphql
import pytest
from wave_emulator_harness import WaveSession, input_reasons

from ml_connector.plugins.wave import contract
from ml_connector.plugins.wave.emulator.schema import wire_wave_scalars

ECHO_SDL = """
scalar Decimal
scalar Date
scalar DateTime
type Query { echo(amount: Decimal, on: Date, at: DateTime): Echo }
type Echo { amount: Decimal on: Date at: DateTime kinds: [String!]! }
"""
ECHO = """
query ($amount: Decimal, $on: Date, $at: DateTime) {
  echo(amount: $amount, on: $on, at: $at) { amount on at kinds }
}"""
GRAPHQL_URL = "https://gql.waveapps.com/graphql/public"
HEADERS = {"Authorization": "Bearer token", "Content-Type": "application/json"}


def _echo(_root: object, _info: object, **args: Any) -> dict[str, Any]:
    # Hands the parsed arguments back, so the output side re-serializes what the input parsed.
    kinds = [f"{name}:{type(value).__name__}" for name, value in sorted(args.items())]
    return {**args, "kinds": kinds}


@pytest.fixture(scope="module")
def echo_schema() -> graphql.GraphQLSchema:
    schema = graphql.build_schema(ECHO_SDL)
    wire_wave_scalars(schema)
    query = schema.query_type
    assert query is not None
    query.fields["echo"].resolve = _echo
    return schema


def run(schema: graphql.GraphQLSchema, source: str, **variables: Any) -> graphql.ExecutionResult:
    return graphql.graphql_sync(schema, source, variable_values=variables)


@pytest.mark.parametrize(
    ("amount", "wire"),
    [("14.99", "14.99"), (" -0.50 ", "-0.50"), (15, "15"), (Decimal("2.50000"), "2.50000")],
)
def test_variables_reach_resolvers_parsed_and_results_go_out_as_strings(
    echo_schema: graphql.GraphQLSchema, amount: object, wire: str
) -> None:
    result = run(
        echo_schema, ECHO, amount=amount, on="2026-02-28", at="2026-10-01T08:30:00.250+02:00"
    )
    assert result.errors is None
    assert result.data == {
        "echo": {
            "amount": wire,
            "on": "2026-02-28",
            "at": "2026-10-01T06:30:00.250Z",
            "kinds": ["amount:Decimal", "at:datetime", "on:date"],
        }
    }


@pytest.mark.parametrize(
    ("literal", "wire"), [("14.99", "14.99"), ('"14.990"', "14.990"), ("-3", "-3")]
)
def test_literals_reach_resolvers_parsed(
    echo_schema: graphql.GraphQLSchema, literal: str, wire: str
) -> None:
    source = f'{{ echo(amount: {literal}, on: "2026-01-31", at: "2026-01-31T00:00:00Z") {{ amount on at kinds }} }}'
    result = run(echo_schema, source)
    assert result.errors is None
    assert result.data == {
        "echo": {
            "amount": wire,
            "on": "2026-01-31",
            "at": "2026-01-31T00:00:00.000Z",
            "kinds": ["amount:Decimal", "at:datetime", "on:date"],
        }
    }


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        ({"amount": True}, "Decimal cannot represent a bool: True"),
        ({"amount": "1e3"}, "Decimal cannot represent value: '1e3'"),
        ({"amount": "NaN"}, "Decimal cannot represent value: 'NaN'"),
        ({"amount": Decimal("Infinity")}, "Decimal cannot represent a non-finite value"),
        ({"on": "2026-02-30"}, "Date cannot represent value: '2026-02-30'"),
        ({"at": "2026-10-01T08:30:00"}, "DateTime cannot represent value"),
    ],
)
def test_bad_variables_are_refused_before_any_resolver_runs(
    echo_schema: graphql.GraphQLSchema, variables: dict[str, Any], reason: str
) -> None:
    result = run(echo_schema, ECHO, **variables)
    assert result.data is None
    assert result.errors is not None and len(result.errors) == 1
    assert reason in result.errors[0].message


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("amount: [1]", "Decimal literals must be numbers or strings."),
        ("amount: {a: 1}", "Decimal literals must be numbers or strings."),
        ("on: 20260101", "Expected a string literal."),
        ("at: [1]", "Expected a string literal."),
    ],
)
def test_bad_literals_fail_validation_at_their_location(
    echo_schema: graphql.GraphQLSchema, argument: str, message: str
) -> None:
    source = f"{{ echo({argument}) {{ kinds }} }}"
    errors = graphql.validate(echo_schema, graphql.parse(source))
    assert [(e.message, e.locations) for e in errors] == [
        (message, [graphql.SourceLocation(1, source.index(":") + 3)])
    ]


def test_results_that_are_not_the_scalar_are_errors_not_passed_through() -> None:
    schema = graphql.build_schema(ECHO_SDL)
    wire_wave_scalars(schema)
    query = schema.query_type
    assert query is not None
    wrong = {"amount": "14.99", "on": dt.datetime(2026, 1, 1), "at": dt.datetime(2026, 1, 1)}
    query.fields["echo"].resolve = lambda *_args, **_kwargs: wrong
    result = run(schema, "{ echo { amount on at } }")
    assert result.data == {"echo": {"amount": None, "on": None, "at": None}}
    assert sorted(e.message for e in result.errors or []) == [
        "Date cannot serialize value: datetime.datetime(2026, 1, 1, 0, 0)",
        "DateTime cannot serialize value: datetime.datetime(2026, 1, 1, 0, 0)",
        "Decimal cannot serialize value: '14.99'",
    ]


# ---------------------------------------------------------------------- through the emulator


PRODUCT_CREATE = (
    "mutation($input: ProductCreateInput!){ productCreate(input:$input)"
    "{ didSucceed inputErrors{path message code} product{ unitPrice createdAt } } }"
)


@pytest.mark.parametrize(
    ("price", "stored"), [("14.99", "14.99"), (15, "15"), ("0.123456", "0.12346")]
)
def test_a_product_price_variable_is_a_decimal_in_the_emulator(price: object, stored: str) -> None:
    session = WaveSession()
    given = {
        "businessId": session.business_id,
        "name": "Widget",
        "unitPrice": price,
        "incomeAccountId": session.account_id("Amazon Sales"),
    }
    out = session.data(PRODUCT_CREATE, {"input": given})["productCreate"]
    assert out["didSucceed"] is True, out
    assert out["product"]["unitPrice"] == stored
    assert out["product"]["createdAt"].endswith("Z")
    assert dt.datetime.fromisoformat(out["product"]["createdAt"]).tzinfo is not None


def test_a_negative_price_string_is_an_input_error_not_a_server_error() -> None:
    session = WaveSession()
    given = {
        "businessId": session.business_id,
        "name": "Widget",
        "unitPrice": "-1.00",
        "incomeAccountId": session.account_id("Amazon Sales"),
    }
    out = session.data(PRODUCT_CREATE, {"input": given})["productCreate"]
    assert out["didSucceed"] is False
    assert any("NEGATIVE_AMOUNT" in reason for reason in input_reasons(out))


# ---------------------------------------------------------------------- the contract checker


def _problems(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    body = {"query": query, "variables": variables or {}}
    return contract.validate_request("POST", GRAPHQL_URL, HEADERS, body)


@pytest.mark.parametrize("literal", ["14.99", '"14.99"', "15"])
def test_the_contract_accepts_the_decimal_literals_the_emulator_accepts(literal: str) -> None:
    session = WaveSession()
    template = (
        'mutation { productCreate(input: {businessId: "BUSINESS", name: "W", unitPrice: PRICE,'
        ' incomeAccountId: "ACCOUNT"}) { didSucceed } }'
    )
    query = (
        template.replace("BUSINESS", session.business_id)
        .replace("ACCOUNT", session.account_id("Amazon Sales"))
        .replace("PRICE", literal)
    )
    assert _problems(query) == []
    assert session.data(query) == {"productCreate": {"didSucceed": True}}


@pytest.mark.parametrize(
    ("price", "reason"),
    [("abc", "Decimal cannot represent value: 'abc'"), (True, "Decimal cannot represent a bool")],
)
def test_the_contract_refuses_the_decimal_variables_the_emulator_refuses(
    price: object, reason: str
) -> None:
    variables = {"input": {"businessId": "B", "name": "W", "unitPrice": price}}
    problems = _problems(PRODUCT_CREATE, variables)
    assert len(problems) == 1 and reason in problems[0]
    body = WaveSession().post(PRODUCT_CREATE, variables)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert reason in body["errors"][0]["message"]
