"""Bundled plugin: the push API for property systems (``/api/v1``) and the operator's token pages."""
from __future__ import annotations

from pathlib import Path

from flask_babel import lazy_gettext as _l

from serasi_web import hookimpl
from serasi_web.lodgings.types import LodgingLink


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import api
    from .tokens import tokens

    register(api)
    register(tokens)


@hookimpl(trylast=True)
def serasi_register_lodging_links(register):
    register(LodgingLink(_l("API tokens"), "tokens.index", order=10))


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@hookimpl(trylast=True)
def serasi_register_migrations(register):
    from . import models  # noqa: F401  (its table joins the metadata only when the plugin is on)

    register(MIGRATIONS)
