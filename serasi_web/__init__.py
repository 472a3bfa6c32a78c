"""SERASI Web: report foreign guests' stays to Indonesian immigration.

``create_app()`` builds an application; it may be called many times in one process and has no
side effects beyond reading configuration (it never migrates, prompts or touches the network).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from .hookspecs import hookimpl  # noqa: F401  (plugin authors: ``from serasi_web import hookimpl``)

# Templates, migrations, translations and static files ship inside the package, so an installed
# wheel works from any folder; the checkout's top-level folders of the same names point here.
PACKAGE_ROOT = Path(__file__).resolve().parent
CHECKOUT_ROOT = PACKAGE_ROOT.parent


def default_instance_path() -> Path:
    """Where the instance folder (SQLite database, secret key, photos) lives unless configured:
    ``SERASI_INSTANCE_PATH``, else ``instance/`` of a checkout (``make run``), else ``instance/``
    in the current folder (an installed wheel; the deployment kit sets the variable)."""
    if os.environ.get("SERASI_INSTANCE_PATH"):
        return Path(os.environ["SERASI_INSTANCE_PATH"]).resolve()
    if (CHECKOUT_ROOT / "setup.cfg").exists() and (CHECKOUT_ROOT / "serasi_web").is_dir():
        return CHECKOUT_ROOT / "instance"
    return Path.cwd() / "instance"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the SERASI Web application. ``config`` overrides every other setting."""
    app = Flask(
        __name__,
        instance_path=str((config or {}).get("INSTANCE_PATH") or default_instance_path()),
        instance_relative_config=True,
        template_folder=str(PACKAGE_ROOT / "templates"),
    )
    from .config import load_config

    app.url_map.converters["int"] = DatabaseIdConverter
    load_config(app, config)
    _init_extensions(app)
    _register_blueprints(app)

    from . import models  # noqa: F401  (registers every table)
    from .cli import build_cli
    from .plugins import register_blueprints_and_commands

    serasi_cli = build_cli()
    register_blueprints_and_commands(app, serasi_cli)
    app.cli.add_command(serasi_cli)
    return app


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number past the database's integer range is no row of
    ours (404), rather than an overflow in the query (500)."""

    def __init__(self, map, *args, **kwargs):
        from .forms import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _end_sessions_quietly(app: Flask, db) -> None:
    """End each request's database session even when its connection died after the request's
    last statement (a database restarting): Flask-SQLAlchemy's own teardown would raise from
    the ROLLBACK of closing it, and an answer already made would become a 500. Teardown
    functions run last-registered first, so this one runs before Flask-SQLAlchemy's, which then
    finds no session left."""

    @app.teardown_appcontext
    def end_session(_error):
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - nothing of this request is left to undo
            app.logger.warning("closing the database session failed (connection lost)", exc_info=True)
            db.session.registry.clear()


def _init_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from . import (
        compression,
        errors,
        i18n,
        plugins,
        rate_limits,
        security_headers,
        static_files,
        templating,
    )
    from .accounts import sessions
    from .database import configure_sqlite
    from .extensions import babel, csrf, db, htmx, login_manager, migrate

    db.init_app(app)
    _end_sessions_quietly(app, db)
    from . import replica

    replica.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(PACKAGE_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(PACKAGE_ROOT / "translations"),
    )
    htmx.init_app(app)
    rate_limits.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # our own server-side sessions do this job
    sessions.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    static_files.init_app(app)
    compression.init_app(app)
    plugins.init_app(app)
    from . import delivery, federation, jobs, notifications

    jobs.init_app(app)
    delivery.init_app(app)
    federation.init_app(app)
    notifications.init_app(app)

    if app.config["TRUSTED_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["TRUSTED_PROXY_COUNT"]
        # Client address and scheme only: the host is never taken from a header (links come
        # from PUBLIC_URL, see links.py), so a forged X-Forwarded-Host changes nothing.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _register_blueprints(app: Flask) -> None:
    from .accounts.routes import blueprint as accounts
    from .arrivals.routes import blueprint as arrivals
    from .arrivals.routes import guest_blueprint as guest_arrivals
    from .admin.routes import blueprint as admin
    from .health import blueprint as health
    from .integrations.routes import blueprint as connections
    from .lodgings.routes import blueprint as lodgings
    from .officer.routes import blueprint as officer
    from .pages import blueprint as pages
    from .privacy.routes import blueprint as privacy
    from .privacy.routes import access_log_blueprint as access_log
    from .privacy.routes import purpose_blueprint as purpose
    from .reference.routes import blueprint as reference
    from .stays.routes import blueprint as stays

    for blueprint in (pages, health, accounts, lodgings, stays, reference, officer, privacy, purpose, access_log, admin,
                      connections, arrivals, guest_arrivals):
        app.register_blueprint(blueprint)
