"""Render and push: from booked settlements in the ledger to documents in a target.

``render_flow`` renders every booked settlement of a flow (pure, so re-rendering is harmless:
the outbox keeps documents by key) and turns each unmapped reference into an alert that names
it. ``sync_target`` renders, connects and pushes. Both are what ``ml-connector sync`` and the
demo run; neither knows which target it is talking to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ml_connector.core import outbox
from ml_connector.core.alerts import list_alerts, raise_alert, resolve_alerts
from ml_connector.core.booking import BOOKED, booked_settlements
from ml_connector.core.credentials import Credentials
from ml_connector.core.emulation.clock import Clock, utcnow
from ml_connector.core.plugins import Target
from ml_connector.core.push import PushReport, push_flow
from ml_connector.core.revisions import live_entries
from ml_connector.core.targets import RenderContext, RenderProblem, TargetMapping
from ml_connector.ledger.store import Ledger


@dataclass
class RenderSummary:
    settlements: int = 0
    documents: int = 0
    added: int = 0
    problems: list[RenderProblem] = field(default_factory=list)
    changed_after_posting: list[str] = field(default_factory=list)


def render_flow(
    ledger: Ledger,
    *,
    flow: str,
    target: Target,
    mapping: TargetMapping,
    mode: str,
    home_currency: str = "USD",
    now: dt.datetime,
    settlement_ids: list[str] | None = None,
) -> RenderSummary:
    summary = RenderSummary()
    context = RenderContext(flow=flow, target=target.name, mode=mode, home_currency=home_currency)
    with ledger.engine.begin() as conn:
        settlements = [
            row.settlement_id for row in booked_settlements(conn, flow=flow) if row.status == BOOKED
        ]
    if settlement_ids is not None:
        settlements = [s for s in settlements if s in set(settlement_ids)]
    for settlement_id in settlements:
        # Reversed entries and their reversals (a rollback) are not rendered again.
        entries = live_entries(ledger.entries_with_meta("settlement_id", settlement_id))
        rendered = target.render(entries=entries, mapping=mapping, context=context)
        summary.settlements += 1
        summary.documents += len(rendered.documents)
        summary.problems.extend(rendered.problems)
        with ledger.engine.begin() as conn:
            result = outbox.enqueue(
                conn, flow=flow, target=target.name, documents=rendered.documents, now=now
            )
            summary.added += result.added
            summary.changed_after_posting.extend(result.changed_after_posting)
            for problem in rendered.problems:
                raise_alert(
                    conn,
                    flow=flow,
                    kind="unmapped_reference",
                    key=f"{target.name}:{problem.reference}:{problem.value}",
                    message=f"{target.info.title}: {problem.message}. Map it in the flow's {problem.reference} "
                    f"mapping, then run 'ml-connector sync --flow {flow}'; the documents it stopped are rendered then.",
                    details={"settlement_id": settlement_id, "entry_id": problem.entry_id},
                    now=now,
                )
            for key in result.changed_after_posting:
                raise_alert(
                    conn,
                    flow=flow,
                    kind="changed_after_posting",
                    key=key,
                    message=f"Document {key} renders differently from what was posted (a mapping changed?). "
                    f"Roll the settlement back to re-post it: ml-connector rollback {settlement_id} --flow {flow}",
                    now=now,
                )
    if settlement_ids is None:
        # A reference that no settlement lacks any more has been mapped: its alert is done.
        still_missing = {f"{target.name}:{p.reference}:{p.value}" for p in summary.problems}
        with ledger.engine.begin() as conn:
            for alert in list_alerts(conn, flow=flow):
                if (
                    alert.kind == "unmapped_reference"
                    and alert.key.startswith(f"{target.name}:")
                    and alert.key not in still_missing
                ):
                    resolve_alerts(conn, flow=flow, kind=alert.kind, key=alert.key, now=now)
    return summary


@dataclass
class TargetSync:
    render: RenderSummary
    push: PushReport


def sync_target(
    ledger: Ledger,
    *,
    flow: str,
    target: Target,
    mapping: TargetMapping,
    credentials: Credentials,
    http: httpx.Client,
    clock: Clock,
    mode: str,
    progress: Callable[[int], None] | None = None,
) -> TargetSync:
    rendered = render_flow(
        ledger, flow=flow, target=target, mapping=mapping, mode=mode, now=utcnow(clock)
    )
    session = target.connect(credentials=credentials, http=http, clock=clock)
    pushed = push_flow(
        ledger.engine, flow=flow, target=target, session=session, clock=clock, progress=progress
    )
    return TargetSync(rendered, pushed)
