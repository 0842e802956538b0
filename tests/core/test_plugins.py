import re
import types
from pathlib import Path

import pytest
import tiny_target

from ml_connector.core import hookspecs
from ml_connector.core.hookspecs import hookimpl
from ml_connector.core.plugins import PluginError, get_target, make_manager, target_names

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _hookspec_names() -> list[str]:
    return [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and getattr(value, "ml_connector_spec", None) is not None
    ]


def test_every_hookspec_is_documented_with_a_heading_and_an_example() -> None:
    names = _hookspec_names()
    assert len(names) >= 8
    text = DOCS.read_text()
    for name in names:
        assert re.search(rf"^### `{name}`$", text, re.MULTILINE), (
            f"docs/plugins.md lacks a section for {name}"
        )
        section = text.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert "```python" in section, f"the {name} section of docs/plugins.md has no example"


def test_every_hookspec_has_a_docstring_contract() -> None:
    for name in _hookspec_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.split()) >= 15, f"hookspec {name} needs a docstring that states its contract"


def test_an_implementation_without_a_hookspec_is_refused_naming_the_plugin() -> None:
    broken = types.ModuleType("broken_target")

    @hookimpl
    def rendr(entries, mapping, context):  # a typo of "render"
        return None

    broken.rendr = rendr  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="broken"):
        make_manager(extra_plugins=[("broken", broken)], load_entry_points=False)


def test_calls_go_to_the_named_target_only() -> None:
    other = types.ModuleType("other_target")

    @hookimpl
    def target_info():  # noqa: ANN202
        raise AssertionError("the other target must not be called")

    other.target_info = target_info  # type: ignore[attr-defined]
    pm = make_manager(
        extra_plugins=[("tally", tiny_target), ("other", other)], load_entry_points=False
    )
    assert get_target(pm, "tally").info.name == "tally"


def test_built_in_targets_register_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    declared = {ep.name for ep in entry_points(group="ml_connector")}
    assert {"xero", "wave"} <= declared
    pm = make_manager()
    assert set(target_names(pm)) >= {
        name for name in declared if get_target(pm, name).implements("target_info")
    }


def test_unknown_target_names_the_installed_ones() -> None:
    pm = make_manager(extra_plugins=[("tally", tiny_target)], load_entry_points=False)
    with pytest.raises(PluginError, match="tally"):
        get_target(pm, "nonesuch")
