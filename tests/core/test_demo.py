"""The demo is the product end to end: it must reconcile and post each document exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ml_connector.core import jsoncodec
from ml_connector.core.cli import app
from ml_connector.core.demo import DemoOptions, run_demo
from ml_connector.core.plugins import get_target, make_manager, target_names


@pytest.mark.parametrize("mode", ["summary", "per-order"])
@pytest.mark.parametrize("chaos", [False, True], ids=["calm", "chaos"])
def test_the_demo_reconciles_and_posts_every_document_once(mode: str, chaos: bool) -> None:
    report = run_demo(DemoOptions(orders=60, months=2, seed=3, mode=mode, chaos=chaos))
    assert report.pull.booked == report.pull.listed > 0
    assert report.reconciliation.ok, [s.settlement_id for s in report.reconciliation.problems]
    assert {run.name for run in report.targets} == set(target_names(make_manager()))
    for run in report.targets:
        assert run.documents > 0
        assert (run.duplicates, run.missing, run.failed, run.pending) == (0, 0, 0, 0), run
        assert run.posted + run.in_doubt == run.documents
    assert report.ok


def test_the_demo_command_writes_its_books_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--orders", "40", "--targets", "xero", "--dir", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.output)
    assert outcome["ok"] is True and set(outcome["targets"]) == {"xero"}
    xero = outcome["targets"]["xero"]
    assert xero["duplicates"] == xero["missing"] == xero["failed"] == 0
    assert xero["documents_posted"] > 0 and xero["api_calls"] > 0
    for settlement in outcome["settlements"]:
        assert settlement["balanced"] is True
        assert settlement["lines_sum"] == settlement["total_amount"]  # exact decimal strings
        assert settlement["clearing_balance"] in ("0", "0.00", "0.000")
    assert (out / "demo.sqlite").exists() and (out / "outcome.json").exists()
    html = (out / "reconciliation.html").read_text(encoding="utf-8")
    assert "<svg" in html and "reconcile" in html.lower()


def test_an_unknown_mode_or_target_is_refused_by_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--mode", "weekly", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "--mode" in result.output
    result = CliRunner().invoke(app, ["demo", "--targets", "xero,sage", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "sage" in result.output


@pytest.mark.parametrize("mode", ["summary", "per-order"])
@pytest.mark.parametrize("name", target_names(make_manager()))
def test_recorded_and_dry_run_requests_keep_the_vendor_contract(
    tmp_path: Path, name: str, mode: str
) -> None:
    recorded, planned = tmp_path / "recorded", tmp_path / "planned"
    common = ["demo", "--orders", "40", "--targets", name, "--mode", mode]
    sent = CliRunner().invoke(
        app, [*common, "--dir", str(tmp_path / "a"), "--record", str(recorded)]
    )
    assert sent.exit_code == 0, sent.output
    dry = CliRunner().invoke(
        app, [*common, "--dir", str(tmp_path / "b"), "--dry-run", "--out", str(planned)]
    )
    assert dry.exit_code == 0, dry.output
    target = get_target(make_manager(), name)
    for folder in (recorded / name, planned / name):
        files = sorted(folder.glob("*.json"))
        assert files, f"nothing written to {folder}"
        for path in files:
            record = jsoncodec.loads(path.read_text(encoding="utf-8"))
            assert set(record) == {"method", "url", "headers", "body"}
            problems = target.validate_request(
                method=record["method"],
                url=record["url"],
                headers=record["headers"],
                body=record["body"],
            )
            assert problems == [], f"{path.name}: {problems}"

    # The dry run plans what the real run sent: the same writes, in the same order.
    def writes(folder: Path) -> list[tuple[str, str]]:
        records = [
            jsoncodec.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
        ]
        return [(r["method"], r["url"]) for r in records if r["method"] in ("POST", "PUT")]

    assert writes(planned / name) == writes(recorded / name)
