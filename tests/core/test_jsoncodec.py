from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_connector.core import jsoncodec


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12
    )
)
def test_any_decimal_survives_a_round_trip_exactly(amount: Decimal) -> None:
    decoded = jsoncodec.loads(jsoncodec.dumps({"amount": amount}))["amount"]
    assert decoded == amount
    assert str(decoded) == str(amount) or isinstance(decoded, int)


def test_numbers_with_a_fraction_decode_as_decimal_never_float() -> None:
    decoded = jsoncodec.loads('{"a": 0.1, "b": 12.30, "c": 3}')
    assert decoded == {"a": Decimal("0.1"), "b": Decimal("12.30"), "c": 3}
    assert isinstance(decoded["b"], Decimal)
    assert str(decoded["b"]) == "12.30"


def test_floats_are_refused_when_encoding() -> None:
    with pytest.raises(TypeError, match="float"):
        jsoncodec.dumps({"nested": [1, {"x": 0.5}]})


def test_decimal_strings_turns_money_into_text() -> None:
    assert jsoncodec.decimal_strings({"a": [Decimal("-1.50")], "b": 2}) == {"a": ["-1.50"], "b": 2}
