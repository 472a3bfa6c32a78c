"""Reminders and notices by e-mail (in the recipient's language), each kind switchable per user."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401  (preferences and the sent log)
    from .routes import blueprint

    app.register_blueprint(blueprint)
