"""Prices back to Amazon: a target's item sales prices, pushed to the matching Amazon listings.

Target-neutral. A target that implements the optional ``item_prices`` hook (see
:mod:`ml_connector.core.hookspecs`) answers "which items' sales prices changed since then?";
:func:`push_prices` maps each item code back to the flow's SKUs (the flow's ``items`` mapping
inverted: SKU -> item code becomes item code -> SKUs) and sets each SKU's price in every flow
marketplace that sells in the price's currency, through ``patchListingsItem``.

What makes a re-run harmless:

- the watermark ``<target>_prices`` (watermark table, per flow) is the newest change time read;
  the next run asks for changes since it, minus :data:`OVERLAP` (a change committed late with
  an earlier stamp is still read);
- the ``price_push`` table keeps, per (flow, SKU, marketplace), the last price sent and how it
  ended. A price equal to it is never sent again: an accepted one is already on Amazon, a
  refused one (Amazon's validation) would be refused again, so it waits until the seller
  changes the price. So re-reading items costs nothing but the read;
- a transient failure (throttling that outlasted the retries, a lost answer, a 5xx) records
  nothing and leaves the watermark where it was, so the next run tries that listing again.
  Setting a price is idempotent at Amazon (a ``replace`` of the offer), so sending it twice
  after a lost answer is harmless.

The first run of a flow records the current prices as a baseline and sends none: there is no
"last run" to have changed since, and overwriting every Amazon price with the target's at
once is rarely what a seller wants. Each listing is then pushed when its item's price changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select

from ml_connector.core.alerts import raise_alert, resolve_alerts
from ml_connector.core.amazon.errors import ListingIssuesError
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.errors import (
    AuthError,
    InputError,
    RateLimitedError,
    RemoteError,
    TransportError,
)
from ml_connector.core.plugins import Target
from ml_connector.core.rawstore import get_watermark, set_watermark
from ml_connector.core.schema import PricePush
from ml_connector.ledger.errors import MoneyError
from ml_connector.ledger.marketplaces import Marketplace, by_id
from ml_connector.ledger.money import is_exact, quantum

OVERLAP = dt.timedelta(minutes=5)
ALERT_KIND = "price_refused"
_PRICE = PricePush.__table__  # type: ignore[attr-defined]


def price_stream(target: str) -> str:
    """The watermark stream of a target's prices (``xero_prices``)."""
    return f"{target}_prices"


@dataclass(frozen=True)
class ItemPrice:
    """One item's sales price as the target keeps it.

    ``code`` is what the flow's ``items`` mapping maps SKUs to; ``amount`` is exact (never
    rounded: a price Amazon cannot take is reported, not altered); ``updated_at`` is when the
    target last changed the item (timezone-aware), which moves the watermark.
    """

    code: str
    amount: Decimal
    currency: str
    updated_at: dt.datetime
    name: str = ""

    def __post_init__(self) -> None:
        source = f"item {self.code!r}"
        if not isinstance(self.code, str) or not self.code:
            raise InputError("an item price needs the item's code", field="code", value=self.code)
        if isinstance(self.amount, bool) or not isinstance(self.amount, Decimal):
            raise InputError(
                f"the price must be a Decimal, got {type(self.amount).__name__}",
                source=source,
                field="amount",
                value=self.amount,
            )
        if not self.amount.is_finite():
            raise InputError(
                "the price must be finite", source=source, field="amount", value=str(self.amount)
            )
        if not isinstance(self.currency, str) or len(self.currency) != 3:
            raise InputError(
                "a three-letter currency code is required",
                source=source,
                field="currency",
                value=self.currency,
            )
        if not isinstance(self.updated_at, dt.datetime) or self.updated_at.tzinfo is None:
            raise InputError(
                "the change time must be a timezone-aware datetime",
                source=source,
                field="updated_at",
                value=self.updated_at,
            )


class PriceAction(enum.StrEnum):
    """What became of one (SKU, marketplace) in a run."""

    ACCEPTED = "accepted"  # Amazon took the new price
    REFUSED = "refused"  # Amazon's validation refused it: alerted, not sent again until it changes
    UNCHANGED = "unchanged"  # same as the last price sent (or refused): nothing sent
    BASELINE = "baseline"  # first run: the current price recorded, nothing sent
    PLANNED = "planned"  # --dry-run: would be sent
    ERROR = "error"  # a transient failure: nothing recorded, the next run tries again
    OTHER_CURRENCY = "other_currency"  # the marketplace sells in another currency: not sent


@dataclass(frozen=True)
class PriceResult:
    sku: str
    marketplace_id: str
    item_code: str
    amount: Decimal
    currency: str
    action: PriceAction
    message: str = ""
    submission_id: str | None = None

    @property
    def marketplace(self) -> str:
        return by_id(self.marketplace_id).code

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "marketplace": self.marketplace,
            "marketplace_id": self.marketplace_id,
            "item_code": self.item_code,
            "amount": self.amount,
            "currency": self.currency,
            "action": str(self.action),
            "message": self.message,
            "submission_id": self.submission_id,
        }


@dataclass
class PriceReport:
    """What one run read and did. ``supported`` is False for a target without prices."""

    flow: str
    target: str
    supported: bool = True
    dry_run: bool = False
    since: dt.datetime | None = None
    watermark: dt.datetime | None = None  # where the watermark stands after the run
    read: int = 0
    unmapped_items: list[str] = field(default_factory=list)
    results: list[PriceResult] = field(default_factory=list)

    def count(self, action: PriceAction) -> int:
        return sum(1 for r in self.results if r.action == action)

    @property
    def ok(self) -> bool:
        """Nothing refused and nothing left to retry."""
        return not (self.count(PriceAction.REFUSED) or self.count(PriceAction.ERROR))

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "target": self.target,
            "supported": self.supported,
            "dry_run": self.dry_run,
            "since": self.since.isoformat() if self.since else None,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "read": self.read,
            "unmapped_items": list(self.unmapped_items),
            "counts": {str(a): self.count(a) for a in PriceAction if self.count(a)},
            "results": [r.to_dict() for r in self.results],
        }


class ListingPrices(Protocol):
    """The one SP-API call prices need (:class:`~ml_connector.core.amazon.client.SpApiClient`)."""

    def patch_listing_price(
        self, seller_id: str, sku: str, marketplace_id: str, amount: Decimal, currency: str
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PriceFlow:
    """What pushing prices needs to know of a flow (a :class:`~ml_connector.core.flows.Flow` fits)."""

    name: str
    seller_id: str
    marketplaces: tuple[str, ...]
    items: Mapping[str, str]  # SKU -> item code

    @classmethod
    def of(cls, flow: Any) -> PriceFlow:
        return cls(flow.name, flow.seller_id, tuple(flow.marketplaces), dict(flow.mapping.items))


def _tidy(amount: Decimal, currency: str) -> Decimal:
    """``13.2500`` as ``13.25``: a target's padding dropped, never a significant digit."""
    try:
        exact = is_exact(amount, currency)
    except MoneyError:
        return amount  # an unknown currency: Amazon's refusal will name it
    if exact:
        return amount.quantize(quantum(currency))
    return amount.normalize()


def skus_by_item(items: Mapping[str, str]) -> dict[str, list[str]]:
    """The flow's ``items`` mapping inverted: item code -> the SKUs sold as that item."""
    inverted: dict[str, list[str]] = {}
    for sku, code in sorted(items.items()):
        inverted.setdefault(code, []).append(sku)
    return inverted


def _last_prices(conn: Connection, flow: str) -> dict[tuple[str, str], Decimal]:
    rows = conn.execute(
        select(_PRICE.c.sku, _PRICE.c.marketplace_id, _PRICE.c.amount).where(_PRICE.c.flow == flow)
    )
    return {(row.sku, row.marketplace_id): Decimal(row.amount) for row in rows}


def _record(
    conn: Connection,
    *,
    flow: str,
    result: PriceResult,
    now: dt.datetime,
) -> None:
    """Upsert the last price of one listing (its attempt counted)."""
    key = (_PRICE.c.flow == flow, _PRICE.c.sku == result.sku)
    where = (*key, _PRICE.c.marketplace_id == result.marketplace_id)
    attempted = 0 if result.action == PriceAction.BASELINE else 1
    existing = conn.execute(select(_PRICE.c.attempts).where(*where)).first()
    values = {
        "item_code": result.item_code,
        "currency": result.currency,
        "amount": str(result.amount),
        "status": str(result.action),
        "message": result.message,
        "submission_id": result.submission_id,
        "updated_at": now,
    }
    if existing is None:
        conn.execute(
            _PRICE.insert().values(
                flow=flow,
                sku=result.sku,
                marketplace_id=result.marketplace_id,
                attempts=attempted,
                **values,
            )
        )
    else:
        conn.execute(
            _PRICE.update().where(*where).values(attempts=existing.attempts + attempted, **values)
        )


def _alert_key(result: PriceResult) -> str:
    return f"{result.sku}:{result.marketplace}"


def _send(
    amazon: ListingPrices, flow: PriceFlow, sku: str, market: Marketplace, price: ItemPrice
) -> PriceResult:
    """One ``patchListingsItem``; Amazon's refusal becomes REFUSED, a transient failure ERROR."""

    def result(action: PriceAction, message: str = "", submission: Any = None) -> PriceResult:
        return PriceResult(
            sku,
            market.marketplace_id,
            price.code,
            price.amount,
            price.currency,
            action,
            message,
            str(submission) if submission else None,
        )

    try:
        answer = amazon.patch_listing_price(
            flow.seller_id, sku, market.marketplace_id, price.amount, price.currency
        )
    except ListingIssuesError as exc:
        messages = [str(i.get("message")) for i in exc.issues if i.get("message")]
        return result(PriceAction.REFUSED, "; ".join(messages) or exc.message)
    except InputError as exc:
        # The client checks Amazon's documented rules (positive, the currency's decimals)
        # before sending; the same price would be refused by Amazon.
        return result(PriceAction.REFUSED, str(exc))
    except AuthError:
        raise  # the whole run is unauthorised, not this listing
    except (RateLimitedError, TransportError) as exc:
        return result(PriceAction.ERROR, str(exc))
    except RemoteError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            return result(PriceAction.REFUSED, exc.message)
        return result(PriceAction.ERROR, str(exc))
    return result(PriceAction.ACCEPTED, submission=answer.get("submissionId"))


def push_prices(
    engine: Engine,
    *,
    flow: Any,
    target: Target,
    session: Any,
    amazon: ListingPrices,
    clock: Clock,
    dry_run: bool = False,
) -> PriceReport:
    """Push the target's changed item prices to the flow's Amazon listings; see the module doc.

    ``flow`` is a :class:`~ml_connector.core.flows.Flow` (or a :class:`PriceFlow`); ``session``
    the target's connected session; ``amazon`` the flow's SP-API client. With ``dry_run`` the
    target is read, nothing is sent and nothing is recorded. Raises only for what concerns the
    whole run (auth revoked, a plugin answering nonsense).
    """
    flow = flow if isinstance(flow, PriceFlow) else PriceFlow.of(flow)
    report = PriceReport(flow.name, target.name, dry_run=dry_run)
    if not target.implements("item_prices"):
        report.supported = False
        return report
    stream = price_stream(target.name)
    with engine.begin() as conn:
        stored = get_watermark(conn, flow=flow.name, stream=stream)
        last = _last_prices(conn, flow.name)
    watermark = dt.datetime.fromisoformat(stored) if stored else None
    report.since = watermark - OVERLAP if watermark else None
    prices = target.item_prices(session=session, since=report.since)
    for price in prices:
        if not isinstance(price, ItemPrice):
            raise InputError(
                f"target {target.name!r}: item_prices() must return ItemPrice objects",
                field="item_prices",
                value=type(price).__name__,
            )
    report.read = len(prices)
    prices = [dataclasses.replace(p, amount=_tidy(p.amount, p.currency)) for p in prices]
    markets = [by_id(m) for m in flow.marketplaces]
    skus = skus_by_item(flow.items)
    baseline = watermark is None
    newest = watermark
    for price in sorted(prices, key=lambda p: (p.code, p.updated_at)):
        newest = max(newest, price.updated_at) if newest else price.updated_at
        if price.code not in skus:
            report.unmapped_items.append(price.code)
            continue
        for sku in skus[price.code]:
            for market in markets:
                report.results.append(
                    _one(engine, flow, sku, market, price, last, amazon, clock, baseline, dry_run)
                )
    if newest is not None and not dry_run and not report.count(PriceAction.ERROR):
        with engine.begin() as conn:
            set_watermark(
                conn, flow=flow.name, stream=stream, value=newest.isoformat(), now=utcnow(clock)
            )
        report.watermark = newest
    else:
        report.watermark = watermark
    return report


def _one(
    engine: Engine,
    flow: PriceFlow,
    sku: str,
    market: Marketplace,
    price: ItemPrice,
    last: dict[tuple[str, str], Decimal],
    amazon: ListingPrices,
    clock: Clock,
    baseline: bool,
    dry_run: bool,
) -> PriceResult:
    def plain(action: PriceAction, message: str = "") -> PriceResult:
        return PriceResult(
            sku, market.marketplace_id, price.code, price.amount, price.currency, action, message
        )

    if market.currency != price.currency:
        return plain(
            PriceAction.OTHER_CURRENCY,
            f"{market.code} sells in {market.currency}; the item is priced in {price.currency}",
        )
    previous = last.get((sku, market.marketplace_id))
    if previous is not None and previous == price.amount:
        return plain(PriceAction.UNCHANGED)
    if baseline and previous is None:
        result = plain(PriceAction.BASELINE)
    elif dry_run:
        return plain(PriceAction.PLANNED)
    else:
        result = _send(amazon, flow, sku, market, price)
    if dry_run or result.action == PriceAction.ERROR:
        return result
    now = utcnow(clock)
    with engine.begin() as conn:
        _record(conn, flow=flow.name, result=result, now=now)
        if result.action == PriceAction.REFUSED:
            raise_alert(
                conn,
                flow=flow.name,
                kind=ALERT_KIND,
                key=_alert_key(result),
                message=f"Amazon refused the price {price.amount} {price.currency} for SKU {sku} "
                f"in {market.code} (item {price.code}): {result.message}. It will not be sent "
                f"again; change the item's price and the next 'ml-connector prices push --flow "
                f"{flow.name}' sends the new one.",
                details=result.to_dict(),
                now=now,
            )
        elif result.action == PriceAction.ACCEPTED:
            resolve_alerts(conn, flow=flow.name, kind=ALERT_KIND, key=_alert_key(result), now=now)
    last[(sku, market.marketplace_id)] = price.amount
    return result
