"""Prices back to Amazon: the engine against the Xero emulator and the Amazon emulator.

Both emulators share one FakeClock; every patch is counted from what reached Amazon's emulator
and its listings' state, never from our own records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ml_connector.core import jsoncodec
from ml_connector.core.alerts import list_alerts
from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.emulator import AmazonEmulator
from ml_connector.core.amazon.lwa import LwaCredentials
from ml_connector.core.amazon.regions import region_of
from ml_connector.core.cli import app, prices_cmd
from ml_connector.core.credentials import Credentials
from ml_connector.core.database import Database, open_database
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.errors import InputError
from ml_connector.core.flows import make_flow, save_flow, store_credentials
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.prices import (
    ALERT_KIND,
    ItemPrice,
    PriceAction,
    PriceFlow,
    PriceReport,
    push_prices,
)
from ml_connector.core.rawstore import get_watermark
from ml_connector.core.secrets import Secret
from ml_connector.core.targets import EmulatedTarget
from ml_connector.core.vault import KEY_VARIABLE, new_key, open_vault
from ml_connector.ledger.marketplaces import by_code
from ml_connector.plugins.xero.client import XeroClient

START = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
US = by_code("US").marketplace_id
CA = by_code("CA").marketplace_id
MUG, TEE, BOTTLE = "SKU-MUG-01", "SKU-TEE-BLK-M", "SKU-BOTTLE-750"  # the Xero emulator's items
GHOST = "GHOST-SKU-1"  # mapped to a Xero item but listed on no Amazon marketplace


class World:
    """An emulated seller and Xero organisation joined by a flow, with every patch recorded."""

    def __init__(self, *, fail_patches: int = 0) -> None:
        self.clock = FakeClock(START)
        self.amazon = AmazonEmulator(
            seed=5, orders=10, months=1, clock=self.clock, marketplaces=["US", "CA"]
        )
        self.target = get_target(make_manager(), "xero")
        self.xero: EmulatedTarget = self.target.emulator(
            seed=5, clock=self.clock, chaos=Chaos.off()
        )
        self.database: Database = open_database("sqlite://")
        catalog = self.amazon.seller.catalog
        self.mug_sku, self.tee_sku = catalog[0].sku, catalog[1].sku
        self.flow = PriceFlow(
            name="shop",
            seller_id=self.amazon.credentials.seller_id,
            marketplaces=(US, CA),
            items={self.mug_sku: MUG, self.tee_sku: TEE, GHOST: BOTTLE},
        )
        self.patches: list[httpx.Request] = []
        self.fail_patches = fail_patches
        self.amazon_http = httpx.Client(transport=httpx.MockTransport(self._amazon))
        self.xero_http = httpx.Client(transport=httpx.MockTransport(self.xero.handle))
        self.session: XeroClient = self.target.connect(
            credentials=Credentials(self.xero.credentials), http=self.xero_http, clock=self.clock
        )
        lwa = self.amazon.credentials
        self.spapi = SpApiClient(
            base_url=region_of(US).production_url,
            credentials=LwaCredentials(
                lwa.client_id, Secret(lwa.client_secret), Secret(lwa.refresh_token)
            ),
            http=self.amazon_http,
            clock=self.clock,
            seed=5,
        )

    def _amazon(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            if self.fail_patches:
                self.fail_patches -= 1
                return httpx.Response(503, json={"errors": [{"code": "ServiceUnavailable"}]})
            self.patches.append(request)
        return self.amazon.handle(request)

    def run(self, *, dry_run: bool = False) -> PriceReport:
        return push_prices(
            self.database.engine,
            flow=self.flow,
            target=self.target,
            session=self.session,
            amazon=self.spapi,
            clock=self.clock,
            dry_run=dry_run,
        )

    def set_xero_price(self, code: str, price: Decimal, **extra: Any) -> None:
        """Change an item in Xero through its API, an hour later, as a bookkeeper would."""
        self.clock.advance(3600)
        # unitdp=4, or Xero would round a four-decimal price to two on the way in.
        status, body = self.session.request(
            "POST",
            "Items",
            params={"unitdp": "4"},
            body={"Items": [{"Code": code, "SalesDetails": {"UnitPrice": price}, **extra}]},
            idempotency_key=f"test:{code}:{price}:{self.clock.now()}",
        )
        assert status == 200 and not body["Items"][0].get("HasErrors"), body

    def amazon_price(self, sku: str, marketplace_id: str = US) -> Decimal | None:
        return self.amazon.listings_api.listings[(sku, marketplace_id)].price

    def alerts(self) -> list[Any]:
        with self.database.engine.connect() as conn:
            return [a for a in list_alerts(conn, flow="shop") if a.kind == ALERT_KIND]


def test_the_first_run_records_a_baseline_and_sends_nothing() -> None:
    world = World()
    before = world.amazon_price(world.mug_sku)
    report = world.run()
    assert world.patches == []
    assert report.read == 3
    assert report.count(PriceAction.BASELINE) == 3  # mug, tee and the ghost SKU in US
    assert report.count(PriceAction.OTHER_CURRENCY) == 3  # CA sells in CAD, Xero prices in USD
    assert world.amazon_price(world.mug_sku) == before
    with world.database.engine.connect() as conn:
        assert get_watermark(conn, flow="shop", stream="xero_prices") is not None


def test_a_changed_price_is_patched_once_and_a_rerun_sends_nothing() -> None:
    world = World()
    world.run()
    world.set_xero_price(MUG, Decimal("15.49"))
    report = world.run()
    accepted = [r.sku for r in report.results if r.action == PriceAction.ACCEPTED]
    assert accepted == [world.mug_sku]
    assert {r.action for r in report.results} <= {
        PriceAction.ACCEPTED,
        PriceAction.UNCHANGED,
        PriceAction.OTHER_CURRENCY,
    }
    assert len(world.patches) == 1
    patch = world.patches[0]
    assert patch.url.path.endswith(f"/items/{world.flow.seller_id}/{world.mug_sku}")
    assert patch.url.params.get_list("marketplaceIds") == [US]
    body = jsoncodec.loads(patch.content)
    offer = body["patches"][0]["value"][0]
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == Decimal("15.49")
    assert offer["currency"] == "USD" and offer["marketplace_id"] == US
    assert world.amazon_price(world.mug_sku) == Decimal("15.49")
    assert world.amazon_price(world.mug_sku, CA) != Decimal("15.49")  # CAD listing untouched
    # The overlap re-reads the item; the same price is not sent again, now or later.
    again = world.run()
    assert again.read == 1 and again.count(PriceAction.UNCHANGED) == 1
    world.clock.advance(86400)
    world.run()
    assert len(world.patches) == 1


def test_one_item_sold_under_two_skus_sets_both_listings() -> None:
    world = World()
    world.flow = PriceFlow(
        world.flow.name, world.flow.seller_id, (US,), {world.mug_sku: MUG, world.tee_sku: MUG}
    )
    world.run()
    world.set_xero_price(MUG, Decimal("9.99"))
    report = world.run()
    assert sorted(r.sku for r in report.results if r.action == PriceAction.ACCEPTED) == sorted(
        [world.mug_sku, world.tee_sku]
    )
    assert world.amazon_price(world.mug_sku) == world.amazon_price(world.tee_sku) == Decimal("9.99")


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-4.00"), Decimal("15.495")])
def test_a_price_amazon_refuses_is_alerted_once_and_not_retried(price: Decimal) -> None:
    world = World()
    world.run()
    before = world.amazon_price(world.mug_sku)
    world.set_xero_price(MUG, price)
    first = world.run()
    refused = [r for r in first.results if r.action == PriceAction.REFUSED]
    assert [(r.sku, r.amount) for r in refused] == [(world.mug_sku, price)]
    assert not first.ok
    assert world.amazon_price(world.mug_sku) == before  # never rounded, never half-applied
    (alert,) = world.alerts()
    assert world.mug_sku in alert.message and str(price) in alert.message
    assert refused[0].message and refused[0].message in alert.message
    # The item changes again (its name, not its price): the same price is not tried again.
    world.set_xero_price(MUG, price, Name="Ceramic mug 12oz (blue)")
    second = world.run()
    assert second.count(PriceAction.UNCHANGED) == 1 and second.ok
    with world.database.engine.connect() as conn:
        attempts = conn.exec_driver_sql(
            "SELECT attempts, status FROM price_push WHERE sku = ?", (world.mug_sku,)
        ).all()
    assert [tuple(a) for a in attempts] == [(1, "refused")]
    # A new price is sent, and Amazon taking it closes the alert.
    world.set_xero_price(MUG, Decimal("16.00"))
    third = world.run()
    assert third.count(PriceAction.ACCEPTED) == 1
    assert world.amazon_price(world.mug_sku) == Decimal("16.00")
    assert world.alerts() == []


def test_amazons_own_refusal_is_reported_with_its_message_and_not_resent() -> None:
    world = World()
    world.run()
    world.set_xero_price(BOTTLE, Decimal("26.00"))  # mapped from a SKU Amazon does not list
    report = world.run()
    (refused,) = [r for r in report.results if r.action == PriceAction.REFUSED]
    assert refused.sku == GHOST and "not listed" in refused.message
    assert len(world.patches) == 1  # Amazon saw it once...
    (alert,) = world.alerts()
    assert GHOST in alert.message and "26.00" in alert.message and "not listed" in alert.message
    world.clock.advance(3600)
    world.run()
    assert len(world.patches) == 1  # ...and never again for that price


def test_a_transient_failure_keeps_the_watermark_and_is_sent_next_run() -> None:
    world = World(fail_patches=50)  # more 503s than the client's retries
    world.run()
    with world.database.engine.connect() as conn:
        mark = get_watermark(conn, flow="shop", stream="xero_prices")
    world.set_xero_price(TEE, Decimal("21.00"))
    failed = world.run()
    assert failed.count(PriceAction.ERROR) == 1 and not failed.ok
    with world.database.engine.connect() as conn:
        assert get_watermark(conn, flow="shop", stream="xero_prices") == mark
    assert world.alerts() == []  # a transient failure is not the seller's to fix
    world.fail_patches = 0
    world.clock.advance(7 * 86400)  # long after: the watermark, not the overlap, brings it back
    again = world.run()
    assert again.count(PriceAction.ACCEPTED) == 1
    assert world.amazon_price(world.tee_sku) == Decimal("21.00")


def test_a_dry_run_reads_but_neither_sends_nor_records() -> None:
    world = World()
    world.run()
    world.set_xero_price(MUG, Decimal("12.00"))
    planned = world.run(dry_run=True)
    assert planned.count(PriceAction.PLANNED) == 1 and world.patches == []
    assert world.run().count(PriceAction.ACCEPTED) == 1  # the dry run recorded nothing


def test_a_target_without_prices_has_none_to_push() -> None:
    world = World()
    wave = get_target(make_manager(), "wave")
    report = push_prices(
        world.database.engine,
        flow=world.flow,
        target=wave,
        session=None,
        amazon=world.spapi,
        clock=world.clock,
    )
    assert not report.supported and report.results == [] and report.ok
    assert wave.item_prices(session=None, since=None) == []


def test_an_item_price_refuses_float_money_and_naive_times() -> None:
    with pytest.raises(InputError, match="item 'MUG'.*amount"):
        ItemPrice("MUG", 1.5, "USD", START)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="updated_at"):
        ItemPrice("MUG", Decimal("1.50"), "USD", dt.datetime(2026, 1, 1))


# -- the command ---------------------------------------------------------------------------------


def test_prices_push_command_pushes_a_changed_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, new_key().decode())
    world = World()
    url = f"sqlite:///{tmp_path / 'books.sqlite'}"
    flow = make_flow(
        "shop",
        target="xero",
        seller_id=world.flow.seller_id,
        marketplaces=["US"],
        mapping={"items": {world.mug_sku: MUG}},
    )
    lwa = world.amazon.credentials
    with open_database(url).engine.begin() as conn:
        save_flow(conn, flow, now=START)
        store_credentials(
            conn,
            open_vault(),
            flow,
            {
                "amazon": {
                    "client_id": lwa.client_id,
                    "client_secret": lwa.client_secret,
                    "refresh_token": lwa.refresh_token,
                },
                "xero": world.xero.credentials,
            },
            now=START,
        )
    handlers = {"amazon": world._amazon, "xero": world.xero.handle}
    monkeypatch.setattr(
        prices_cmd,
        "default_http",
        lambda service: httpx.Client(transport=httpx.MockTransport(handlers[service])),
    )
    monkeypatch.setattr(prices_cmd, "SystemClock", lambda: world.clock)
    runner = CliRunner()
    first = runner.invoke(app, ["prices", "push", "--flow", "shop", "--db", url])
    assert first.exit_code == 0, first.output
    assert "baseline" in first.output
    world.set_xero_price(MUG, Decimal("13.25"))
    dry = runner.invoke(app, ["prices", "push", "--flow", "shop", "--db", url, "--dry-run"])
    assert dry.exit_code == 0 and "planned" in dry.output and world.patches == []
    pushed = runner.invoke(app, ["prices", "push", "--flow", "shop", "--db", url, "--json"])
    assert pushed.exit_code == 0, pushed.output
    answer = jsoncodec.loads(pushed.output)
    assert answer["counts"] == {"accepted": 1}
    assert answer["results"][0]["amount"] == "13.25"
    assert world.amazon_price(world.mug_sku) == Decimal("13.25") and len(world.patches) == 1
    refused = runner.invoke(app, ["prices", "push", "--flow", "missing", "--db", url])
    assert refused.exit_code == 1 and "missing" in refused.output
