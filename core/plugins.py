"""Finding and calling target plugins.

Targets are found through the ``ml_connector`` entry-point group, built-in ones included (they
are declared in ``pyproject.toml`` exactly as a third-party package would). The manager refuses,
at start-up, an implementation that matches no hookspec and names the plugin. Calls go to one
target at a time through :class:`Target`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import pluggy

from ml_connector.core import hookspecs
from ml_connector.core.errors import ConfigError
from ml_connector.core.targets import TargetInfo

ENTRY_POINT_GROUP = "ml_connector"


class PluginError(ConfigError):
    """A plugin that cannot be loaded or does not honour the hookspecs."""


def make_manager(
    extra_plugins: Iterable[tuple[str, object]] = (), *, load_entry_points: bool = True
) -> pluggy.PluginManager:
    """A plugin manager with every installed target registered and validated.

    ``extra_plugins`` are ``(name, plugin)`` pairs registered beside the entry points (tests use
    it to add a plugin defined in the test itself).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party plugin must not hide behind a traceback
            raise PluginError(
                f"could not load a plugin from entry-point group {ENTRY_POINT_GROUP!r}: {exc}"
            ) from exc
    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"plugin {exc.plugin!r} implements a hook that has no hookspec: {exc}"
        ) from exc
    return pm


class Target:
    """One target plugin, with hooks that call it alone."""

    def __init__(self, pm: pluggy.PluginManager, name: str) -> None:
        plugin = pm.get_plugin(name)
        if plugin is None:
            raise PluginError(
                f"no target named {name!r}; installed: {', '.join(target_names(pm)) or 'none'}"
            )
        self.name = name
        self._pm = pm
        self._plugin = plugin
        self._others = [p for p in pm.get_plugins() if p is not plugin]

    def _call(self, hook: str, **kwargs: Any) -> Any:
        # Not pm.subset_hook_caller: it drops a plugin only if ``hasattr(plugin, hook)``, which
        # misses an implementation registered under ``specname`` (``emulated_target``), so
        # another target's emulator could answer for this one.
        impls = [
            impl
            for impl in getattr(self._pm.hook, hook).get_hookimpls()
            if impl.plugin is self._plugin
        ]
        result = impls[-1].function(**{a: kwargs[a] for a in impls[-1].argnames}) if impls else None
        if result is None:
            raise PluginError(f"target {self.name!r} does not implement hook {hook!r}")
        return result

    @cached_property
    def info(self) -> TargetInfo:
        info = self._call("target_info")
        if not isinstance(info, TargetInfo):
            raise PluginError(f"target {self.name!r}: target_info() must return a TargetInfo")
        return info

    def implements(self, hook: str) -> bool:
        return any(
            impl.plugin is self._plugin for impl in getattr(self._pm.hook, hook).get_hookimpls()
        )

    def connect(self, **kw: Any) -> Any:
        return self._call("connect", **kw)

    def render(self, **kw: Any) -> Any:
        return self._call("render", **kw)

    def push(self, **kw: Any) -> Any:
        return self._call("push", **kw)

    def look_up(self, **kw: Any) -> Any:
        return self._call("look_up", **kw)

    def undo(self, **kw: Any) -> Any:
        return self._call("undo", **kw)

    def emulator(self, **kw: Any) -> Any:
        return self._call("emulator", **kw)

    def item_prices(self, **kw: Any) -> list[Any]:
        """The target's changed item prices; a target without the optional hook has none."""
        if not self.implements("item_prices"):
            return []
        return list(self._call("item_prices", **kw))

    def oauth_client(self) -> Any:
        """The target's OAuth endpoints (optional hook; see :meth:`implements`)."""
        return self._call("oauth_client")

    def validate_request(self, **kw: Any) -> list[str]:
        if not self.implements("validate_request"):
            return []
        return list(self._call("validate_request", **kw))


def target_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of the registered plugins that describe themselves as targets."""
    names = []
    for impl in pm.hook.target_info.get_hookimpls():
        name = pm.get_name(impl.plugin)
        if name is not None:
            names.append(name)
    return sorted(names)


def get_target(pm: pluggy.PluginManager, name: str) -> Target:
    return Target(pm, name)
