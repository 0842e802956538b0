"""Flows: validation, storage, removal, and declarations in TOML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ml_connector.core import flows
from ml_connector.core.database import Database, open_database
from ml_connector.core.errors import ConfigError
from ml_connector.core.rawstore import get_watermark, set_watermark
from ml_connector.core.secrets import Secret
from ml_connector.core.targets import TargetMapping
from ml_connector.core.vault import KeyRing, Vault, new_key

NOW = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def database(db_url: str) -> Database:
    return open_database(db_url)


@pytest.fixture
def vault() -> Vault:
    return Vault(KeyRing((new_key(),), "test"))


def shop(**overrides: object) -> flows.Flow:
    fields: dict[str, object] = {
        "target": "xero",
        "seller_id": "A2SELLER",
        "marketplaces": ["US", "CA"],
    }
    fields.update(overrides)
    return flows.make_flow("shop-us", **fields)  # type: ignore[arg-type]


def test_a_flow_takes_its_region_and_currency_from_its_marketplaces() -> None:
    flow = shop()
    assert flow.region == "NA"
    assert flow.marketplaces == ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2")
    assert flow.marketplace_codes() == ["US", "CA"]
    assert flow.home_currency == "USD"
    assert dict(flow.schedule) == {
        "orders": 3600,
        "finances": 86400,
        "settlements": 86400,
        "sync": 3600,
    }
    assert flow.scope("amazon") == "flow/shop-us/amazon"
    eu = flows.make_flow(
        "shop-eu", target="xero", seller_id="A", marketplaces=["A1PA6795UKMFR9", "fr"]
    )
    assert (eu.region, eu.home_currency, eu.marketplace_codes()) == ("EU", "EUR", ["DE", "FR"])


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"marketplaces": ["US", "UK"]}, "marketplaces", "one SP-API region (US: NA, UK: EU)"),
        ({"marketplaces": ["XX"]}, "marketplaces", "'XX' is neither a marketplace code nor an id"),
        ({"marketplaces": []}, "marketplaces", "at least one"),
        ({"region": "EU"}, "region", "does not serve the marketplaces (they are in NA)"),
        ({"region": "MOON"}, "region", "not one of NA, EU, FE"),
        ({"mode": "weekly"}, "mode", "'weekly' is not one of summary, per-order"),
        ({"seller_id": " "}, "seller_id", "is required"),
        ({"schedule": {"orders": "sometimes"}}, "schedule.orders", "not a duration"),
        ({"schedule": {"orders": "10s"}}, "schedule.orders", "shorter than a minute"),
        ({"schedule": {"refunds": "1h"}}, "schedule.refunds", "unknown job"),
        ({"mapping": {"acounts": {}}}, "mapping", "unknown section(s) acounts"),
        (
            {"mapping": {"accounts": {"Income:Amazon:Sales": True}}},
            "mapping.accounts.Income:Amazon:Sales",
            "must be text",
        ),
        ({"home_currency": "dollars"}, "home_currency", "ISO 4217"),
    ],
)
def test_a_wrong_field_is_named_with_its_flow(
    overrides: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        shop(**overrides)
    assert f"flow 'shop-us': {field}: " in str(caught.value)
    assert words in str(caught.value)


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="flow 'Shop US': name"):
        flows.make_flow("Shop US", target="xero", seller_id="A", marketplaces=["US"])


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (3600, 3600),
        ("90m", 5400),
        ("1h", 3600),
        ("2 d", 172800),
        ("daily", 86400),
        ("off", 0),
        (0, 0),
    ],
)
def test_cadences_read_as_seconds(value: object, seconds: int) -> None:
    assert flows.parse_cadence(value, flow="f", kind="orders") == seconds


def test_a_flow_is_stored_read_back_and_replaced_only_when_asked(database: Database) -> None:
    mapping = {"accounts": {"Income:Amazon:Sales": "200"}, "options": {"track_marketplace": "yes"}}
    flow = shop(mapping=mapping, schedule={"orders": "30m", "finances": "off"}, split_by_month=True)
    with database.engine.begin() as conn:
        assert flows.save_flow(conn, flow, now=NOW) is True
    with database.engine.begin() as conn:
        assert flows.get_flow(conn, "shop-us") == flow
        assert flows.get_flow(conn, "shop-us").mapping == TargetMapping(
            accounts={"Income:Amazon:Sales": "200"}, options={"track_marketplace": "yes"}
        )
        with pytest.raises(ConfigError, match="already exists"):
            flows.save_flow(conn, flow, now=NOW)
    changed = shop(mode="per-order")
    with database.engine.begin() as conn:
        assert flows.save_flow(conn, changed, now=NOW, replace=True) is False
        assert [f.mode for f in flows.list_flows(conn)] == ["per-order"]


def test_removing_a_flow_deletes_its_credentials_but_keeps_its_watermarks(
    database: Database, vault: Vault
) -> None:
    flow = shop()
    other = flows.make_flow("shop-us2", target="xero", seller_id="B", marketplaces=["US"])
    with database.engine.begin() as conn:
        for f in (flow, other):
            flows.save_flow(conn, f, now=NOW)
            flows.store_credentials(
                conn,
                vault,
                f,
                {"amazon": {"refresh_token": Secret("r")}, "xero": {"client_id": "c"}},
                now=NOW,
            )
        set_watermark(conn, flow="shop-us", stream="orders", value="2027-01-14T00:00:00Z", now=NOW)
    with database.engine.begin() as conn:
        assert flows.credential_names(conn, flow) == {
            "amazon": ["refresh_token"],
            "xero": ["client_id"],
        }
        flows.remove_flow(conn, "shop-us")
    with database.engine.begin() as conn:
        assert flows.find_flow(conn, "shop-us") is None
        assert flows.credential_names(conn, flow) == {"amazon": [], "xero": []}
        assert flows.credential_names(conn, other) == {
            "amazon": ["refresh_token"],
            "xero": ["client_id"],
        }
        assert get_watermark(conn, flow="shop-us", stream="orders") == "2027-01-14T00:00:00Z"
        with pytest.raises(ConfigError, match="no flow named 'shop-us'"):
            flows.remove_flow(conn, "shop-us")


def test_credentials_for_a_service_the_flow_does_not_use_are_refused(
    database: Database, vault: Vault
) -> None:
    with database.engine.begin() as conn, pytest.raises(ConfigError, match="credentials.wave"):
        flows.store_credentials(conn, vault, shop(), {"wave": {"token": "t"}}, now=NOW)


TOML = """
[flows.shop-us]
target = "xero"
seller_id = "A2SELLER"
marketplaces = ["US"]
schedule = { orders = "30m", sync = "2h" }

[flows.shop-us.mapping.accounts]
"Income:Amazon:Sales" = "200"

[flows.shop-us.credentials.amazon]
client_id = "amzn1.application-oa2-client.example"
client_secret = { env = "TEST_AMAZON_SECRET" }
refresh_token = { file = "amazon-refresh" }

[flows.shop-de]
target = "xero"
seller_id = "A2SELLER"
marketplaces = ["DE", "FR"]
mode = "per-order"
"""


def test_a_toml_file_declares_flows_with_credentials_from_env_and_files(
    tmp_path: Path, database: Database, vault: Vault
) -> None:
    (tmp_path / "amazon-refresh").write_text("Atzr|from-a-file\n")
    path = tmp_path / "flows.toml"
    path.write_text(TOML)
    declared = flows.read_flows_file(path, environ={"TEST_AMAZON_SECRET": "from-the-env"})
    assert [d.flow.name for d in declared] == ["shop-us", "shop-de"]
    assert "from-a-file" not in repr(declared) and "from-the-env" not in repr(declared)
    with database.engine.begin() as conn:
        assert flows.apply_declarations(conn, vault, declared, now=NOW) == (
            ["shop-us", "shop-de"],
            [],
        )
    with database.engine.begin() as conn:
        us = flows.get_flow(conn, "shop-us")
        assert us.cadence("orders") == 1800 and us.cadence("sync") == 7200
        assert us.mapping.accounts == {"Income:Amazon:Sales": "200"}
        stored = {k: v.reveal() for k, v in vault.load(conn, us.scope("amazon")).items()}
        assert stored["client_secret"] == "from-the-env"
        assert stored["refresh_token"] == "Atzr|from-a-file"
        assert flows.apply_declarations(conn, vault, declared, now=NOW) == (
            [],
            ["shop-us", "shop-de"],
        )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "[flows.a]\ntarget='xero'\nseller_id='S'\nmarketplaces=['US']\nschedule={orders=1.5}\n",
            "flow 'a': schedule.orders: Decimal('1.5') is not a whole duration",
        ),
        (
            "[flows.a]\ntarget='xero'\nseller_id='S'\nmarketplaces=['US']\ncolour='red'\n",
            "flow 'a': colour: unknown key",
        ),
        (
            "[flows.a]\ntarget='xero'\nseller_id='S'\nmarketplaces=['US']\n[flows.a.credentials.amazon]\nrefresh_token={env='UNSET_VARIABLE_X'}\n",
            "credentials.amazon.refresh_token: environment variable UNSET_VARIABLE_X is not set",
        ),
        (
            "[flows.a]\ntarget='xero'\nseller_id='S'\nmarketplaces=['US']\n[flows.a.credentials.amazon]\nrefresh_token={file='missing'}\n",
            "credentials.amazon.refresh_token: cannot read",
        ),
        ("[flow.a]\n", "unknown top-level key(s) flow"),
        ("[flows.a\n", "not valid TOML"),
    ],
)
def test_a_bad_declaration_names_the_file_flow_and_field(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "flows.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        flows.read_flows_file(path, environ={})
    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)
