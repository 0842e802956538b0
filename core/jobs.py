"""The runners behind a flow's scheduled jobs: what ``orders``, ``settlements`` and ``sync`` do.

Each runner takes a :class:`~ml_connector.core.scheduler.JobContext` and returns a one-line
summary. They hold no scheduling logic, so the embedded scheduler (``ml-connector run``) and a
queue worker call exactly the same functions. Credentials come from the vault through the
context; any token a plugin refreshes is saved (encrypted, committed) before it is used.

Amazon credentials of a flow: ``client_id``, ``client_secret``, ``refresh_token`` and,
optionally, ``url`` (an SP-API endpoint other than the region's, e.g. an emulator or the sandbox)
and ``lwa_url`` (the token endpoint). Target credentials are whatever the target plugin reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ml_connector.core.amazon.client import SpApiClient
from ml_connector.core.amazon.lwa import LWA_TOKEN_URL, LwaCredentials
from ml_connector.core.amazon.pull import pull_orders, pull_settlements
from ml_connector.core.amazon.regions import region
from ml_connector.core.flows import AMAZON
from ml_connector.core.plugins import get_target, make_manager
from ml_connector.core.secrets import Secret
from ml_connector.core.sync import sync_target
from ml_connector.ledger.rules import default_rules

if TYPE_CHECKING:
    from ml_connector.core.scheduler import JobContext

HTTP_TIMEOUT_SECONDS = 60.0
HttpFactory = Callable[[str], httpx.Client]


def default_http(service: str) -> httpx.Client:
    """A plain client for ``service``; tests and the demo substitute emulator transports."""
    return httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)


def amazon_client(context: JobContext, http: httpx.Client) -> SpApiClient:
    """An SP-API client for the flow's seller, at its region's endpoint unless ``url`` says."""
    credentials = context.credentials(AMAZON)
    return SpApiClient(
        base_url=credentials.get("url") or region(context.flow.region).production_url,
        credentials=LwaCredentials(
            client_id=credentials.require("client_id"),
            client_secret=Secret(credentials.require("client_secret")),
            refresh_token=Secret(credentials.require("refresh_token")),
        ),
        http=http,
        clock=context.clock,
        lwa_url=credentials.get("lwa_url") or LWA_TOKEN_URL,
    )


def orders_runner(http_factory: HttpFactory = default_http) -> Callable[[JobContext], str]:
    """Store every order of the flow's marketplaces changed since the ``orders`` watermark."""

    def run(context: JobContext) -> str:
        with http_factory(AMAZON) as http:
            client = amazon_client(context, http)
            pulled = pull_orders(
                context.database,
                client,
                flow=context.flow.name,
                clock=context.clock,
                marketplace_ids=list(context.flow.marketplaces),
            )
        return f"{pulled.seen} order(s) seen, {pulled.stored} new version(s) stored"

    return run


def settlements_runner(http_factory: HttpFactory = default_http) -> Callable[[JobContext], str]:
    """Download and book every settlement report newer than the ``settlements`` watermark."""

    def run(context: JobContext) -> str:
        with http_factory(AMAZON) as http:
            client = amazon_client(context, http)
            pulled = pull_settlements(
                context.database,
                client,
                flow=context.flow.name,
                rules=default_rules(),
                mode=context.flow.mode,
                clock=context.clock,
                marketplace_ids=list(context.flow.marketplaces),
            )
        return (
            f"{pulled.listed} report(s) listed, {pulled.booked} settlement(s) booked, "
            f"{pulled.waiting} waiting (see 'ml-connector alerts')"
        )

    return run


def sync_runner(http_factory: HttpFactory = default_http) -> Callable[[JobContext], str]:
    """Render every booked settlement of the flow and push the documents to its target."""

    def run(context: JobContext) -> str:
        flow = context.flow
        target = get_target(make_manager(), flow.target)
        credentials = context.credentials(flow.target)
        with http_factory(flow.target) as http:
            result = sync_target(
                context.database.ledger,
                flow=flow.name,
                target=target,
                mapping=flow.mapping,
                credentials=credentials,
                http=http,
                clock=context.clock,
                mode=flow.mode,
            )
        rendered, pushed = result.render, result.push
        return (
            f"{rendered.settlements} settlement(s) rendered, {rendered.added} new document(s), "
            f"{len(rendered.problems)} unmapped; push: {_counts(vars(pushed))}"
        )

    return run


def _counts(values: Mapping[str, Any]) -> str:
    shown = [
        f"{k} {v}" for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)
    ]
    return ", ".join(shown) or "nothing to push"


def default_runners(
    http_factory: HttpFactory = default_http,
) -> dict[str, Callable[[JobContext], str]]:
    """The runner of every job kind ``ml-connector run`` schedules.

    ``finances`` has none yet: financial events reach the books through the settlement reports
    and, for settlements older than 90 days, the one-off ``ml-connector amazon backfill``.
    """
    return {
        "orders": orders_runner(http_factory),
        "settlements": settlements_runner(http_factory),
        "sync": sync_runner(http_factory),
    }
