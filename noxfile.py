"""Developer sessions: ``nox -s tests``, ``tests_pg``, ``lint``, ``typecheck``, ``bench``."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

BENCH_DIR = Path("tests/bench")
# The folders setup.py maps onto ``ml_connector.<name>`` (mypy must see the same module names).
PACKAGE_FOLDERS = ("ledger", "core", "plugins")


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
    """mypy on ``ml_connector.{ledger,core,plugins}``, strict as pyproject.toml sets it.

    mypy applies ``strict = true`` even from a per-module override to every module, so core and
    plugins are held to the ledger's strictness too.

    The folders install as ``ml_connector.*`` through setuptools' editable finder, which mypy
    cannot follow: run on the bare folders, mypy names them ``ledger.*``/``core.*`` (so the
    ``ml_connector.ledger.*`` override never matches) and every ``ml_connector`` import is
    silently ``Any``. A throwaway tree of links gives mypy the installed names instead.
    """
    session.install("-e", ".[dev]")
    root = Path(session.create_tmp()) / "mypy_path"
    package = root / "ml_connector"
    package.mkdir(parents=True, exist_ok=True)
    for folder in PACKAGE_FOLDERS:
        link = package / folder
        if link.is_symlink():  # a reused session may come from another checkout
            link.unlink()
        link.symlink_to(Path(__file__).parent.resolve() / folder, target_is_directory=True)
    packages = [arg for folder in PACKAGE_FOLDERS for arg in ("-p", f"ml_connector.{folder}")]
    session.run("mypy", *packages, *session.posargs, env={"MYPYPATH": str(root)})


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark script in tests/bench, one after another, in this one run."""
    session.install("-e", ".[dev]")
    for script in sorted(BENCH_DIR.glob("bench_*.py")):
        session.log(f"== {script.name}")
        session.run("python", str(script), *session.posargs)
