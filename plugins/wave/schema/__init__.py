"""The project's copy of Wave's public GraphQL schema (see README.md beside this file)."""

from pathlib import Path

SCHEMA_PATH: Path = Path(__file__).with_name("wave.graphql")
"""Location of ``wave.graphql``, the transcribed subset of Wave's public schema."""
