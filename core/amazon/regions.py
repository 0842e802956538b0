"""SP-API regions: which host serves which marketplace, in production and in the sandbox.

Marketplaces themselves (id, country code, currency, region) live in one table,
:mod:`ml_connector.ledger.marketplaces`; this module only adds the endpoints. Hosts are from
Amazon's developer guide, "Selling Partner API endpoints" and "sandbox endpoints"
(``shared/reference/amazon/FACTS.md`` §2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ml_connector.core.errors import ConfigError
from ml_connector.ledger.marketplaces import MARKETPLACES, Marketplace, by_code, by_id


@dataclass(frozen=True, slots=True)
class Region:
    name: str  # NA, EU or FE
    aws_region: str
    host: str

    @property
    def production_url(self) -> str:
        return f"https://{self.host}"

    @property
    def sandbox_url(self) -> str:
        return f"https://sandbox.{self.host}"

    def url(self, *, sandbox: bool = False) -> str:
        return self.sandbox_url if sandbox else self.production_url

    @property
    def marketplaces(self) -> tuple[Marketplace, ...]:
        return tuple(m for m in MARKETPLACES if m.region == self.name)


REGIONS: dict[str, Region] = {
    "NA": Region("NA", "us-east-1", "sellingpartnerapi-na.amazon.com"),
    "EU": Region("EU", "eu-west-1", "sellingpartnerapi-eu.amazon.com"),
    "FE": Region("FE", "us-west-2", "sellingpartnerapi-fe.amazon.com"),
}

# The Orders API keeps orders from 2016 on for these marketplaces and only two years elsewhere
# (orders models, info.description).
LONG_ORDER_HISTORY_CODES = frozenset({"JP", "AU", "SG"})


def region(name: str) -> Region:
    found = REGIONS.get(name.upper())
    if found is None:
        raise ConfigError(f"unknown SP-API region {name!r}; expected one of {sorted(REGIONS)}")
    return found


def region_of(marketplace_id: str) -> Region:
    """The region whose endpoint serves ``marketplace_id``."""
    return REGIONS[by_id(marketplace_id).region]


def region_of_code(code: str) -> Region:
    """The region serving a marketplace country code (``UK``; ``GB`` is accepted)."""
    return REGIONS[by_code(code).region]


def common_region(marketplace_ids: Iterable[str]) -> Region:
    """The one region serving all of ``marketplace_ids``; a call cannot span two endpoints."""
    regions = {region_of(marketplace_id).name for marketplace_id in marketplace_ids}
    if len(regions) != 1:
        raise ConfigError(
            f"marketplaces must share one SP-API region for a call, got {sorted(regions) or 'none'}"
        )
    return REGIONS[regions.pop()]


def has_long_order_history(marketplace_id: str) -> bool:
    """True for JP, AU and SG, whose orders are kept from 2016; elsewhere only two years."""
    return by_id(marketplace_id).code in LONG_ORDER_HISTORY_CODES
