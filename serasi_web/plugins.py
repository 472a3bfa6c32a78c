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
from typing import Any, Callable

import pluggy
from flask import Flask, current_app

from . import hookspecs

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "plugins.zxing_decoder",
    "plugins.zbar_decoder",
    "plugins.mrz_payload",
    "plugins.labelled_payload",
)
ENTRY_POINT_GROUP = "serasi"


@dataclass
class Registry:
    """What the discovery hooks registered, each list sorted by priority."""

    decoders: list[Any] = field(default_factory=list)
    payload_parsers: list[Any] = field(default_factory=list)


def build_plugin_manager(disabled: list[str] | tuple[str, ...] = ()) -> pluggy.PluginManager:
    manager = pluggy.PluginManager("serasi")
    manager.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        if module_name in disabled or module_name.split(".")[-1] in disabled:
            continue
        manager.register(importlib.import_module(module_name), name=module_name)
    for name in disabled:
        manager.set_blocked(name)  # also keeps an entry point of that name from loading
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    manager.check_pending()  # a misspelt hook name fails here, not silently later
    return manager


def _collect(manager: pluggy.PluginManager, hook_name: str) -> list[Any]:
    found: list[Any] = []
    hook: Callable = getattr(manager.hook, hook_name)
    # Call each implementation on its own so that one broken plugin only loses its own items.
    for implementation in hook.get_hookimpls():
        try:
            implementation.function(register=found.append)
        except Exception:  # noqa: BLE001 - a plugin's failure is logged, never fatal
            log.exception("plugin %s failed in %s", implementation.plugin_name, hook_name)
    return sorted(found, key=lambda item: getattr(item, "priority", 100))


def init_app(app: Flask) -> None:
    manager = build_plugin_manager(app.config.get("DISABLED_PLUGINS", ()))
    registry = Registry(
        decoders=_collect(manager, "serasi_register_decoders"),
        payload_parsers=_collect(manager, "serasi_register_payload_parsers"),
    )
    app.extensions["serasi.plugins"] = manager
    app.extensions["serasi.registry"] = registry


def plugin_manager() -> pluggy.PluginManager:
    return current_app.extensions["serasi.plugins"]


def registry() -> Registry:
    return current_app.extensions["serasi.registry"]
