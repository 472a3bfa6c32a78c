"""Bundled plugin: the push API for property systems (``/api/v1``) and the operator's token pages."""
from __future__ import annotations

from serasi_web import hookimpl


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import api
    from .tokens import tokens

    register(api)
    register(tokens)
