"""Fixtures for the report tests: a fresh SQLite database, with or without the fixed book."""

from __future__ import annotations

from pathlib import Path

import pytest
from reports_fixtures import book_all, new_database

from ml_connector.core.database import Database


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return new_database(tmp_path)


@pytest.fixture
def books(database: Database) -> Database:
    """The fixed book: four booked settlements, one held, one with an unmapped line."""
    book_all(database)
    return database
