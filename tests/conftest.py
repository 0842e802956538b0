"""Shared fixtures: a fresh database on each backend, a ledger on it, hypothesis profiles.

``db_url`` runs a test once on SQLite (a temporary file) and once on PostgreSQL. PostgreSQL comes
from ``ML_CONNECTOR_TEST_PG_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``);
each test gets its own freshly created schema there, dropped afterwards, so tests never see each
other's tables. Without that variable the PostgreSQL runs are skipped, unless
``ML_CONNECTOR_REQUIRE_PG=1``, in which case they fail.

``new_db_url`` is the factory behind ``db_url``: call it for as many fresh databases as a test
needs (a property test wanting an empty ledger per example, say).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import make_url

from ml_connector.ledger.store import Ledger

PG_URL_VARIABLE = "ML_CONNECTOR_TEST_PG_URL"
REQUIRE_PG_VARIABLE = "ML_CONNECTOR_REQUIRE_PG"

# CI explores a fixed sequence of examples, so a landing is never decided by luck; local runs
# explore fresh ones each time and report what they find (with the seed to reproduce it).
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=60)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


def _postgres_admin_url() -> str:
    """The PostgreSQL URL to create test schemas in; skips or fails when there is none."""
    url = os.environ.get(PG_URL_VARIABLE, "").strip()
    if url:
        return url
    if os.environ.get(REQUIRE_PG_VARIABLE) == "1":
        pytest.fail(
            f"{REQUIRE_PG_VARIABLE}=1 but {PG_URL_VARIABLE} is not set: "
            "the PostgreSQL half of the suite cannot run",
            pytrace=False,
        )
    pytest.skip(f"PostgreSQL tests need {PG_URL_VARIABLE}")


class _PostgresSchemas:
    """Creates uniquely named schemas and hands out URLs whose search_path is one of them."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        self._url = url
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self._schemas: list[str] = []

    def new_url(self) -> str:
        schema = f"test_{uuid.uuid4().hex[:16]}"
        with self._engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        self._schemas.append(schema)
        # Every object the code creates unqualified (tables, functions, triggers) lands here.
        scoped = self._url.update_query_dict({"options": f"-csearch_path={schema}"})
        return scoped.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._engine.begin() as connection:
            for schema in self._schemas:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        self._engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database backend the test runs on: ``sqlite`` or ``postgres``."""
    return str(request.param)


@pytest.fixture
def new_db_url(db_backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of URLs of fresh, empty databases on the test's backend."""
    if db_backend == "sqlite":
        counter = iter(range(1_000_000))
        yield lambda: f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite3'}"
        return
    schemas = _PostgresSchemas(_postgres_admin_url())
    try:
        yield schemas.new_url
    finally:
        schemas.drop_all()


@pytest.fixture
def db_url(new_db_url: Callable[[], str]) -> str:
    """The URL of a fresh, empty database on the test's backend (SQLite file or PG schema)."""
    return new_db_url()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    """A migrated, empty :class:`Ledger` on ``db_url``."""
    with Ledger.open(db_url) as opened:
        yield opened


# The conformance suite every target must pass runs here for every installed target (Xero, Wave)
# and for the one-file example target of docs/plugins.md, registered as a third party would.
pytest_plugins = ["ml_connector.testing"]


def pytest_configure(config: pytest.Config) -> None:
    from ml_connector.testing import register_target
    from tests.core import tiny_target

    register_target("tally", tiny_target)
