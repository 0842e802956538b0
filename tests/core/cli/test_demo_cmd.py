"""``ml-connector demo --dry-run``: says nothing was posted, never that documents are in targets."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ml_connector.core.cli import app


def test_a_dry_run_demo_does_not_claim_documents_were_posted(tmp_path: Path) -> None:
    out = tmp_path / "requests"
    result = CliRunner().invoke(
        app,
        ["demo", "--orders", "20", "--targets", "xero", "--dry-run", "--out", str(out),
         "--dir", str(tmp_path / "demo")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted((out / "xero").glob("*.json"))
    assert "nothing was posted (dry run)" in result.output
    assert "in its target once" not in result.output
