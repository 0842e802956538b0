"""The conformance suite every target plugin must pass, as a pytest plugin.

A plugin author adds one line to their ``conftest.py``::

    pytest_plugins = ["ml_connector.testing"]

and the suite's tests (``ml_connector/testing/conformance.py``) are collected beside theirs,
once per installed target (``--mlc-target NAME`` to choose). A target that is not installed
through an entry point (a test's own tiny plugin) is added with :func:`register_target`.
"""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from ml_connector.core.plugins import get_target, make_manager, target_names

CONFORMANCE_MODULE = Path(__file__).with_name("conformance.py")
_extra_targets: list[tuple[str, object]] = []


def register_target(name: str, plugin: object) -> None:
    """Add a target plugin that has no entry point (for example one defined in a test suite)."""
    if all(existing != name for existing, _ in _extra_targets):
        _extra_targets.append((name, plugin))


def plugin_manager() -> pluggy.PluginManager:
    return make_manager(extra_plugins=_extra_targets)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ml-connector conformance")
    group.addoption(
        "--mlc-target",
        action="append",
        default=[],
        help="run the conformance suite for this target only (repeatable; default: every installed target)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mlc_target_name" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--mlc-target") or target_names(plugin_manager())
        metafunc.parametrize("mlc_target_name", chosen, scope="module")


@pytest.fixture(scope="module")
def mlc_target(mlc_target_name: str):  # type: ignore[no-untyped-def]
    return get_target(plugin_manager(), mlc_target_name)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Collect the conformance module beside the user's tests (before -k/-m deselection runs).

    It joins a run over test folders (the whole suite, a plugin's tests) or one that names a
    target with ``--mlc-target``, not a run of single test files.
    """
    if any(item.path == CONFORMANCE_MODULE for item in items):
        return
    named_files = [arg for arg in config.args if Path(arg.split("::")[0]).is_file()]
    if named_files and not config.getoption("--mlc-target"):
        return
    module = pytest.Module.from_parent(session, path=CONFORMANCE_MODULE)
    items.extend(session.genitems(module))
