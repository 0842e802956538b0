"""Regions and endpoints, over the one marketplace table."""

from __future__ import annotations

import pytest

from ml_connector.core.amazon.regions import (
    REGIONS,
    common_region,
    has_long_order_history,
    region,
    region_of,
    region_of_code,
)
from ml_connector.core.errors import ConfigError
from ml_connector.ledger.marketplaces import MARKETPLACES


def test_hosts_per_region() -> None:
    assert REGIONS["NA"].production_url == "https://sellingpartnerapi-na.amazon.com"
    assert REGIONS["EU"].production_url == "https://sellingpartnerapi-eu.amazon.com"
    assert REGIONS["FE"].production_url == "https://sellingpartnerapi-fe.amazon.com"
    assert REGIONS["EU"].url(sandbox=True) == "https://sandbox.sellingpartnerapi-eu.amazon.com"
    assert (REGIONS["NA"].aws_region, REGIONS["EU"].aws_region, REGIONS["FE"].aws_region) == (
        "us-east-1",
        "eu-west-1",
        "us-west-2",
    )


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("US", "NA"),
        ("CA", "NA"),
        ("MX", "NA"),
        ("BR", "NA"),
        ("UK", "EU"),
        ("GB", "EU"),
        ("DE", "EU"),
        ("IN", "EU"),
        ("TR", "EU"),
        ("AE", "EU"),
        ("JP", "FE"),
        ("AU", "FE"),
        ("SG", "FE"),
    ],
)
def test_marketplace_regions(code: str, name: str) -> None:
    assert region_of_code(code).name == name


def test_every_marketplace_has_a_region() -> None:
    for marketplace in MARKETPLACES:
        assert marketplace in region_of(marketplace.marketplace_id).marketplaces
    assert sum(len(r.marketplaces) for r in REGIONS.values()) == len(MARKETPLACES)


def test_one_region_per_call() -> None:
    assert common_region(["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]).name == "NA"
    with pytest.raises(ConfigError, match="one SP-API region"):
        common_region(["ATVPDKIKX0DER", "A1PA6795UKMFR9"])
    with pytest.raises(ConfigError):
        region("XX")


def test_long_order_history_only_in_jp_au_sg() -> None:
    long = {m.code for m in MARKETPLACES if has_long_order_history(m.marketplace_id)}
    assert long == {"JP", "AU", "SG"}
