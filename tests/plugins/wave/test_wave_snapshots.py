"""Snapshots of what the Wave renderer makes of one small generated seller, in both modes.

The files under ``snapshots/`` were reviewed by eye once: customers and products before the
invoices that name them, one invoice per order on the mapped income accounts, money
transactions anchored on the marketplace's clearing account with balanced line items and an
``externalId`` from the Amazon id. Any change to what we would send shows up here as a diff.
Regenerate with ``UPDATE_SNAPSHOTS=1`` and review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wave_plugin_support import booked, context

import ml_connector.plugins.wave as wave
from ml_connector.core import jsoncodec
from ml_connector.core.emulation import Chaos, FakeClock
from ml_connector.core.targets import Rendered
from ml_connector.plugins.wave.render import render_entries

SNAPSHOTS = Path(__file__).parent / "snapshots"
SEED, ORDERS = 21, 6


def snapshot_of(rendered: Rendered) -> str:
    return jsoncodec.dumps(
        {
            "documents": [
                {
                    "key": doc.key,
                    "kind": doc.kind,
                    "idempotency_key": doc.idempotency_key,
                    "natural_key": doc.natural_key,
                    "depends_on": list(doc.depends_on),
                    "totals": {c: str(t) for c, t in doc.totals.items()},
                    "payload": dict(doc.payload),
                }
                for doc in rendered.documents
            ],
            "problems": [vars(p) for p in rendered.problems],
        },
        indent=2,
    )


@pytest.mark.parametrize("mode", ["summary", "per-order"])
def test_snapshot(mode: str) -> None:
    mapping = wave.emulated_target(seed=1, clock=FakeClock(), chaos=Chaos.off()).mapping
    entries = [e for settlement in booked(SEED, mode, ORDERS) for e in settlement]
    rendered = render_entries(entries, mapping, context(mode))
    assert not rendered.problems
    path = SNAPSHOTS / f"{mode.replace('-', '_')}_small_seller.json"
    actual = snapshot_of(rendered) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run once with UPDATE_SNAPSHOTS=1 and review it"
    assert actual == path.read_text(encoding="utf-8")
