"""The plugin manager: one per app, built in ``create_app()``, stored in ``app.extensions``.

Bundled plugins (the ``plugins`` package) register exactly like external ones, from the explicit
``DEFAULT_PLUGINS`` list; external plugins come from the ``serasi`` entry-point group. The
``DISABLED_PLUGINS`` setting names plugins to leave out (bundled module names or entry-point
names).

Failure policy (a failure nobody sees is the worst one; see ``hookspecs.py``):
- a plugin that cannot be imported, or a discovery hook (``serasi_register_*``) that raises,
  stops the start with ``PluginLoadError`` naming the plugin and the cause. The setting
  ``ALLOW_DEGRADED_START`` starts anyway, and ``/healthz`` and every admin page say so in red;
- ``serasi_validate_stay`` fails closed: a rule that raises refuses the report with a message;
- ``serasi_stay_event`` listeners are delivered through the outbox like forwarders, so a
  listener that raises is retried with backoff and shows on the admin's delivery page.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask, current_app

from . import hookspecs, plugin_types

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "plugins.lodging_types",
    "plugins.push_api",
    "plugins.ota_receiver",
    "plugins.spreadsheet_import",
    "plugins.company_mess",
    "plugins.zxing_decoder",
    "plugins.zbar_decoder",
    "plugins.mrz_ocr",
    "plugins.mrz_payload",
    "plugins.labelled_payload",
    "plugins.forwarders",
    "plugins.beds24",
    "plugins.cloudbeds",
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
    lodging_links: list[Any] = field(default_factory=list)
    # Audit actions and object types in words, from ``serasi_register_audit_labels`` (audit/labels.py).
    audit_actions: dict[str, Any] = field(default_factory=dict)
    audit_object_types: dict[str, Any] = field(default_factory=dict)

    def stay_source(self, name: str):
        return next((source for source in self.stay_sources if source.name == name), None)


class PluginLoadError(RuntimeError):
    """A plugin could not be loaded or its discovery hook failed: the app must not start silently
    without it. The message is one line naming the plugin and the cause."""


@dataclass
class _Loader:
    """Collects plugin failures while the manager is built: raised at once, or (degraded start)
    kept for ``/healthz`` and the admin pages."""

    allow_degraded: bool = False
    failures: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        if not self.allow_degraded:
            raise PluginLoadError(message)
        log.error("degraded start: %s", message)
        self.failures.append(message)


def _describe(error: BaseException) -> str:
    if isinstance(error, ModuleNotFoundError) and error.name:
        return f"the module {error.name!r} is missing (install it, e.g. pip install the plugin's requirements)"
    return f"{type(error).__name__}: {error}"


def build_plugin_manager(disabled: list[str] | tuple[str, ...] = (), extra: list[Any] | tuple[Any, ...] = (),
                         loader: _Loader | None = None) -> pluggy.PluginManager:
    loader = loader or _Loader()
    manager = pluggy.PluginManager("serasi")
    manager.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        if module_name in disabled or module_name.split(".")[-1] in disabled:
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # noqa: BLE001 - named and raised (or recorded) below
            loader.fail(f"plugin {module_name} cannot load: {_describe(error)}")
            continue
        manager.register(module, name=module_name)
    for name in disabled:
        manager.set_blocked(name)  # also keeps an entry point of that name from loading
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if manager.is_blocked(entry_point.name) or manager.get_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001
            loader.fail(f"plugin {entry_point.name} ({entry_point.value}) cannot load: {_describe(error)}")
            continue
        manager.register(plugin, name=entry_point.name)
    for plugin in extra:  # EXTRA_PLUGINS: objects or modules given in the config (tests, embedding)
        manager.register(plugin, name=_readable_name(manager, plugin))
    manager.check_pending()  # a misspelt hook name fails here, not silently later
    return manager


def _readable_name(manager: pluggy.PluginManager, plugin: Any) -> str:
    """A module's name or an object's class name (numbered when taken), for messages and the
    delivery page; pluggy's default would be the object's id()."""
    base = getattr(plugin, "__name__", None) or type(plugin).__name__
    name, number = base, 1
    while manager.get_plugin(name) is not None or manager.is_blocked(name):
        number += 1
        name = f"{base}-{number}"
    return name


def _call_each(manager: pluggy.PluginManager, hook_name: str, on_error, per_plugin=None, **kwargs) -> list[Any]:
    """Call every implementation of a hook on its own; ``on_error(plugin_name, error)`` decides
    what a failure means for this hook; ``per_plugin(plugin_name)`` gives arguments of each
    plugin's own (a ``register`` that knows whose registration it checks). Returns the non-None
    results, bundled (trylast) implementations first."""
    results = []
    # get_hookimpls() lists trylast first and tryfirst last; calling in that order lets an
    # installed plugin's registration replace a bundled one of the same key.
    for implementation in getattr(manager.hook, hook_name).get_hookimpls():
        arguments = {**kwargs, **(per_plugin(implementation.plugin_name) if per_plugin else {})}
        try:
            result = implementation.function(**{name: arguments[name] for name in implementation.argnames})
        except PluginLoadError:  # a ``register`` that refused: already one line naming the plugin
            raise
        except Exception as error:  # noqa: BLE001 - handed to the hook's failure policy
            on_error(implementation.plugin_name, error)
            continue
        if result is not None:
            results.append(result)
    return results


def _fail_start(loader: _Loader, hook_name: str):
    def on_error(plugin_name: str, error: BaseException) -> None:
        loader.fail(f"plugin {plugin_name} failed in {hook_name}: {_describe(error)}")
    return on_error


def _checked_register(add, hook_name: str, loader: _Loader):
    """``per_plugin`` for a discovery hook: a ``register`` that adds what has the hook's type
    (``plugin_types.REGISTERED``) and stops the start, naming the plugin, on anything else."""
    kind = plugin_types.REGISTERED.get(hook_name)

    def for_plugin(plugin_name: str) -> dict[str, Any]:
        def register(item: Any) -> None:
            if kind is not None and (lacks := plugin_types.missing(item, kind)):
                loader.fail(f"plugin {plugin_name} registered a {type(item).__name__} in {hook_name} that is not a "
                            f"{kind.__name__}: it lacks {', '.join(lacks)}")
            else:
                add(item)
        return {"register": register}
    return for_plugin


def _collect(manager: pluggy.PluginManager, hook_name: str, loader: _Loader | None = None) -> list[Any]:
    loader = loader or _Loader()
    found: list[Any] = []
    _call_each(manager, hook_name, _fail_start(loader, hook_name), _checked_register(found.append, hook_name, loader))
    return sorted(found, key=lambda item: getattr(item, "priority", 100))


def _collect_lodging_types(manager: pluggy.PluginManager, loader: _Loader) -> list[Any]:
    by_key: dict[str, Any] = {}
    hook_name = "serasi_register_lodging_types"
    _call_each(manager, hook_name, _fail_start(loader, hook_name),
               _checked_register(lambda t: by_key.__setitem__(t.key, t), hook_name, loader))
    return sorted(by_key.values(), key=lambda t: (t.order, t.key))


def init_app(app: Flask) -> None:
    loader = _Loader(allow_degraded=bool(app.config.get("ALLOW_DEGRADED_START")))
    manager = build_plugin_manager(app.config.get("DISABLED_PLUGINS", ()), app.config.get("EXTRA_PLUGINS", ()), loader)
    registry = Registry(
        decoders=_collect(manager, "serasi_register_decoders", loader),
        payload_parsers=_collect(manager, "serasi_register_payload_parsers", loader),
        lodging_types=_collect_lodging_types(manager, loader),
        stay_sources=_collect(manager, "serasi_register_stay_sources", loader),
        forwarders=_collect(manager, "serasi_register_forwarders", loader) + event_listeners(manager),
        lodging_links=sorted(_collect(manager, "serasi_register_lodging_links", loader), key=lambda link: (link.order, link.endpoint)),
    )
    for labels in _collect(manager, "serasi_register_audit_labels", loader):
        registry.audit_actions.update(labels.actions)
        registry.audit_object_types.update(labels.object_types)
    app.extensions["serasi.plugins"] = manager
    app.extensions["serasi.registry"] = registry
    app.extensions["serasi.plugin_failures"] = loader.failures
    # Background jobs, by task name: registered on the huey when it is first used (jobs/tasks.py).
    tasks: dict[str, Any] = {}
    _call_each(manager, "serasi_register_tasks", _fail_start(loader, "serasi_register_tasks"), register=tasks.__setitem__)
    app.extensions["serasi.plugin_tasks"] = tasks
    _merge_plugin_catalogues(app, manager, loader)
    app.extensions["serasi.plugin_migrations"] = _folders(manager, "serasi_register_migrations", "a migrations", loader)
    app.extensions["serasi.disabled_plugin_migrations"] = _disabled_migration_folders(app.config.get("DISABLED_PLUGINS", ()))


def _disabled_migration_folders(disabled) -> list[str]:
    """The ``migrations`` folders of the disabled plugins' packages (bundled or entry points; the
    folder the bundled plugins and the example plugin register), found without importing them.
    A database that ran a plugin's revisions while it was on still holds them: Alembic must know
    them, or neither ``db upgrade`` nor the start check would run (``extensions`` adds the
    folders whose revisions the database holds; a database that never had them stays without)."""
    import importlib.util

    modules = [name for name in DEFAULT_PLUGINS if name in disabled or name.split(".")[-1] in disabled]
    modules += [entry_point.value.split(":")[0] for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
                if entry_point.name in disabled]
    folders = []
    for module_name in modules:
        try:
            spec = importlib.util.find_spec(module_name)  # imports the parent package only ("plugins")
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "migrations"
            if folder.is_dir():
                folders.append(str(folder))
    return folders


def _merge_plugin_catalogues(app: Flask, manager: pluggy.PluginManager, loader: _Loader) -> None:
    """Put the folders of ``serasi_register_translations`` before the core's in Flask-Babel's
    list: it merges them in order, each over the last, so the core's own strings win."""
    folders = _folders(manager, "serasi_register_translations", "a translations", loader)
    babel = app.extensions["babel"]
    babel.translation_directories = [*folders, *babel.translation_directories]


def _folders(manager: pluggy.PluginManager, hook_name: str, what: str, loader: _Loader) -> list[str]:
    """The folders a hook registers (``register(folder)``), each checked to exist."""
    folders: list[str] = []

    def for_plugin(plugin_name: str) -> dict[str, Any]:
        def register(folder) -> None:
            if not Path(folder).is_dir():
                loader.fail(f"plugin {plugin_name} registered {what} folder that does not exist: {folder}")
            else:
                folders.append(str(folder))
        return {"register": register}

    _call_each(manager, hook_name, _fail_start(loader, hook_name), for_plugin)
    return folders


def register_blueprints_and_commands(app: Flask, cli_group) -> None:
    """Let plugins add routes and commands (after the core blueprints are in place)."""
    from .extensions import csrf

    manager = app.extensions["serasi.plugins"]
    loader = _Loader(allow_degraded=bool(app.config.get("ALLOW_DEGRADED_START")), failures=app.extensions["serasi.plugin_failures"])
    blueprints: list[Any] = []
    _call_each(manager, "serasi_register_blueprints", _fail_start(loader, "serasi_register_blueprints"), register=blueprints.append)
    for blueprint in blueprints:
        if blueprint.name.startswith("api"):
            csrf.exempt(blueprint)  # API clients authenticate every request with a token
        app.register_blueprint(blueprint)
    _call_each(manager, "serasi_register_commands", _fail_start(loader, "serasi_register_commands"), group=cli_group)
    links = app.extensions["serasi.registry"].lodging_links
    for link in list(links):
        if link.endpoint not in app.view_functions:  # url_for would fail on every lodging page
            loader.fail(f"a lodging link names the endpoint {link.endpoint!r}, which no registered blueprint provides")
            links.remove(link)


def plugin_failures(app: Flask | None = None) -> list[str]:
    """The plugins that failed to load in a degraded start (empty normally)."""
    return list((app or current_app).extensions.get("serasi.plugin_failures", ()))


def validate_stay(lodging, values: dict) -> dict[str, str]:
    """Every plugin's extra rules for a report, merged (the first message per field wins).

    Fails closed: a rule that raises refuses the report (a message for the whole form, key
    ``""``), because a check that did not run must not let a report through."""
    from flask_babel import gettext as _

    problems: dict[str, str] = {}

    def refuse(plugin_name: str, error: BaseException) -> None:
        log.error("plugin %s failed in serasi_validate_stay; the report is refused", plugin_name, exc_info=error)
        problems.setdefault("", _("A check of this report could not run, so it was not accepted. Try again later or "
                                  "tell the administrator."))

    for result in _call_each(plugin_manager(), "serasi_validate_stay", refuse, lodging=lodging, values=values):
        for name, message in dict(result).items():
            problems.setdefault(name, str(message))
    return problems


EVENT_LISTENER_PREFIX = "plugin:"


class EventListener:
    """One plugin's ``serasi_stay_event`` implementation, delivered through the outbox like a
    forwarder: it gets every event after the commit, from the worker, and one that raises is
    retried with backoff and shown on the admin's delivery page (never lost, never undoing
    the report). ``stay`` is the report as it is when the event is delivered; the event's own
    version is ``stay.version`` at the time (see the outbox payload)."""

    def __init__(self, plugin_name: str, implementation):
        self.plugin_name = plugin_name
        self.name = listener_name(plugin_name)
        self.priority = 1000
        self._function = implementation.function
        self._argnames = implementation.argnames

    def configured(self, app) -> bool:
        return True

    def deliver(self, event: dict) -> None:
        from .extensions import db
        from .stays.models import Stay

        stay = db.session.get(Stay, event["stay"]["id"])
        if stay is None:
            return  # the report was purged since: nothing left to tell
        arguments = {"event": event["event"], "stay": stay}
        self._function(**{name: arguments[name] for name in self._argnames})


def listener_name(plugin_name: str) -> str:
    """The delivery name of a plugin's listener (at most 40 characters, stable across restarts)."""
    name = EVENT_LISTENER_PREFIX + plugin_name
    if len(name) <= 40:
        return name
    import hashlib

    return name[:31] + "~" + hashlib.sha1(plugin_name.encode()).hexdigest()[:8]


def event_listeners(manager: pluggy.PluginManager) -> list[EventListener]:
    return [EventListener(implementation.plugin_name, implementation)
            for implementation in manager.hook.serasi_stay_event.get_hookimpls()]


def plugin_manager() -> pluggy.PluginManager:
    return current_app.extensions["serasi.plugins"]


def registry() -> Registry:
    return current_app.extensions["serasi.registry"]
