"""API calls per target and mode for 1,000 orders, beside the naive one call per object.

Run: ``python tests/bench/bench_targets.py [orders]`` (default 1,000; ``nox -s bench`` runs it).

For each installed target and each posting mode, :func:`ml_connector.core.demo.run_demo` pulls,
books and posts a generated seller into the target's emulator (simulated clock). Columns:

- documents: objects created in the target; the naive client makes one call per document;
- calls: API calls the engine actually made to the target (token, reads and look-ups included);
- demo s: simulated seconds the push took, waiting on the target's limits as the client does;
- min s: the shortest wall time the target's *published* rate limits allow for ``calls``
  requests (every window filled as early as it allows; request latency not counted);
- naive min s: the same for one call per document.

A target that publishes no limit shows "none": its minimum is not bounded by a published number.
"""

from __future__ import annotations

import sys
from collections import deque

from rich.console import Console
from rich.table import Table

from ml_connector.core.demo import DemoOptions, run_demo
from ml_connector.core.plugins import get_target, make_manager, target_names
from ml_connector.core.targets import RateLimits

MODES = ("summary", "per-order")


def shortest_seconds(calls: int, limits: RateLimits) -> float | None:
    """When the last of ``calls`` sequential requests can start under sliding-window limits.

    Greedy: each call goes at the earliest moment every window allows (the ``L``-th call before it
    is at least the window's length earlier). None when the target publishes no limit at all.
    """
    windows = [
        (length, limit)
        for length, limit in (
            (1, limits.per_second),
            (60, limits.per_minute),
            (86400, limits.per_day),
        )
        if limit
    ]
    if not windows:
        return None
    history: deque[float] = deque(maxlen=max(limit for _, limit in windows))
    moment = 0.0
    for _ in range(calls):
        for length, limit in windows:
            if len(history) >= limit:
                moment = max(moment, history[-limit] + length)
        history.append(moment)
    return moment if calls else 0.0


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:,.0f}"


def main(argv: list[str]) -> int:
    orders = int(argv[1]) if len(argv) > 1 else 1000
    manager = make_manager()
    table = Table(title=f"Target API calls for {orders:,} orders (simulated clock)")
    for column in (
        "target",
        "mode",
        "documents",
        "calls",
        "demo s",
        "min s (published limits)",
        "naive calls",
        "naive min s",
        "dups",
    ):
        table.add_column(column, justify="left" if column in ("target", "mode") else "right")
    failed = False
    for name in target_names(manager):
        limits = get_target(manager, name).info.rate_limits
        for mode in MODES:
            report = run_demo(DemoOptions(orders=orders, mode=mode, targets=[name]))
            (run,) = report.targets
            failed = failed or not run.ok or not report.reconciliation.ok
            table.add_row(
                name,
                mode,
                f"{run.documents:,}",
                f"{run.api_calls:,}",
                f"{run.simulated_seconds:,.0f}",
                _seconds(shortest_seconds(run.api_calls, limits)),
                f"{run.documents:,}",
                _seconds(shortest_seconds(run.documents, limits)),
                str(run.duplicates),
            )
    Console(width=140).print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
