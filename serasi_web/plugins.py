"""The plugin manager: one per app, built in ``create_app()``, stored in ``app.extensions``.

Bundled plugins (the ``plugins`` package) register exactly like external ones, from the explicit
``DEFAULT_PLUGINS`` list; external plugins come from the ``serasi`` entry-point group. The
``DISABLED_PLUGINS`` setting names plugins to leave out (bundled module names or entry-point
names).
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

import pluggy
from flask import Flask, current_app

from . import hookspecs

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "plugins.lodging_types",
    "plugins.push_api",
    "plugins.spreadsheet_import",
    "plugins.company_mess",
    "plugins.zxing_decoder",
    "plugins.zbar_decoder",
    "plugins.mrz_payload",
    "plugins.labelled_payload",
    "plugins.forwarders",
)
ENTRY_POINT_GROUP = "serasi"


@dataclass
class Registry:
    """What the discovery hooks registered, each list sorted by priority (or order)."""

    decoders: list[Any] = field(default_factory=list)
    payload_parsers: list[Any] = field(default_factory=list)
    lodging_types: list[Any] = field(default_factory=list)
    stay_sources: list[Any] = field(default_factory=list)
    forwarders: list[Any] = field(default_factory=list)

    def stay_source(self, name: str):
        return next((source for source in self.stay_sources if source.name == name), None)


def build_plugin_manager(disabled: list[str] | tuple[str, ...] = (), extra: list[Any] | tuple[Any, ...] = ()) -> pluggy.PluginManager:
    manager = pluggy.PluginManager("serasi")
    manager.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        if module_name in disabled or module_name.split(".")[-1] in disabled:
            continue
        manager.register(importlib.import_module(module_name), name=module_name)
    for name in disabled:
        manager.set_blocked(name)  # also keeps an entry point of that name from loading
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:  # EXTRA_PLUGINS: objects or modules given in the config (tests, embedding)
        manager.register(plugin)
    manager.check_pending()  # a misspelt hook name fails here, not silently later
    return manager


def _call_each(manager: pluggy.PluginManager, hook_name: str, **kwargs) -> list[Any]:
    """Call every implementation of a hook on its own, so that one broken plugin only loses its
    own contribution; returns the non-None results, bundled (trylast) implementations first."""
    results = []
    # get_hookimpls() lists trylast first and tryfirst last; calling in that order lets an
    # installed plugin's registration replace a bundled one of the same key.
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():
        try:
            result = implementation.function(**{name: kwargs[name] for name in implementation.argnames})
        except Exception:  # noqa: BLE001 - a plugin's failure is logged, never fatal
            log.exception("plugin %s failed in %s", implementation.plugin_name, hook_name)
            continue
        if result is not None:
            results.append(result)
    return results


def _collect(manager: pluggy.PluginManager, hook_name: str) -> list[Any]:
    found: list[Any] = []
    _call_each(manager, hook_name, register=found.append)
    return sorted(found, key=lambda item: getattr(item, "priority", 100))


def _collect_lodging_types(manager: pluggy.PluginManager) -> list[Any]:
    by_key: dict[str, Any] = {}
    _call_each(manager, "serasi_register_lodging_types", register=lambda t: by_key.__setitem__(t.key, t))
    return sorted(by_key.values(), key=lambda t: (t.order, t.key))


def init_app(app: Flask) -> None:
    manager = build_plugin_manager(app.config.get("DISABLED_PLUGINS", ()), app.config.get("EXTRA_PLUGINS", ()))
    registry = Registry(
        decoders=_collect(manager, "serasi_register_decoders"),
        payload_parsers=_collect(manager, "serasi_register_payload_parsers"),
        lodging_types=_collect_lodging_types(manager),
        stay_sources=_collect(manager, "serasi_register_stay_sources"),
        forwarders=_collect(manager, "serasi_register_forwarders"),
    )
    app.extensions["serasi.plugins"] = manager
    app.extensions["serasi.registry"] = registry


def register_blueprints_and_commands(app: Flask, cli_group) -> None:
    """Let plugins add routes and commands (after the core blueprints are in place)."""
    from .extensions import csrf

    manager = app.extensions["serasi.plugins"]
    blueprints: list[Any] = []
    _call_each(manager, "serasi_register_blueprints", register=blueprints.append)
    for blueprint in blueprints:
        if blueprint.name.startswith("api"):
            csrf.exempt(blueprint)  # API clients authenticate every request with a token
        app.register_blueprint(blueprint)
    _call_each(manager, "serasi_register_commands", group=cli_group)


def validate_stay(lodging, values: dict) -> dict[str, str]:
    """Every plugin's extra rules for a report, merged (the first message per field wins)."""
    problems: dict[str, str] = {}
    for result in _call_each(plugin_manager(), "serasi_validate_stay", lodging=lodging, values=values):
        for name, message in dict(result).items():
            problems.setdefault(name, str(message))
    return problems


def fire_stay_event(event: str, stay) -> None:
    """Tell plugins that a report changed (after commit); a failing plugin is only logged."""
    _call_each(plugin_manager(), "serasi_stay_event", event=event, stay=stay)


def plugin_manager() -> pluggy.PluginManager:
    return current_app.extensions["serasi.plugins"]


def registry() -> Registry:
    return current_app.extensions["serasi.registry"]
