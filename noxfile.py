"""Developer sessions: ``nox -s tests``, ``tests_pg``, ``lint``, ``typecheck``, ``bench``."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

BENCH_DIR = Path("tests/bench")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite on SQLite (PostgreSQL cases skip unless ML_CONNECTOR_TEST_PG_URL is set)."""
    session.install("-e", ".[dev]")
    env = {k: v for k, v in os.environ.items() if k != "ML_CONNECTOR_TEST_PG_URL"}
    session.run("pytest", *session.posargs, env=env | {"ML_CONNECTOR_REQUIRE_PG": "0"})


@nox.session
def tests_pg(session: nox.Session) -> None:
    """The database tests on PostgreSQL at ML_CONNECTOR_TEST_PG_URL (required)."""
    if not os.environ.get("ML_CONNECTOR_TEST_PG_URL"):
        session.error(
            "set ML_CONNECTOR_TEST_PG_URL, e.g. postgresql+psycopg://postgres@127.0.0.1/postgres"
        )
    session.install("-e", ".[dev]")
    session.run("pytest", "-k", "postgres", *session.posargs, env={"ML_CONNECTOR_REQUIRE_PG": "1"})


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy: strict on the ledger (pyproject.toml sets the per-package strictness)."""
    session.install("-e", ".[dev]")
    session.run("mypy", "ledger", "core")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark script in tests/bench, one after another, in this one run."""
    session.install("-e", ".[dev]")
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        session.log(f"== {script.name}")
        session.run("python", str(script), *session.posargs)
