"""Language selection: Indonesian by default, English on request.

Order: the footer switch (a cookie), the logged-in user's saved choice, the browser's
Accept-Language, then Indonesian.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user

LANGUAGE_COOKIE = "serasi_lang"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
# The guests' self check-in pages (GUEST_LANGUAGES) may offer more: a catalogue and a name here.
GUEST_LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English", "zh": "中文"}
GUEST_BLUEPRINT = "guest_arrivals"


def languages_here() -> list[str]:
    """The languages this request's page may be shown in: the guests' pages have their own list."""
    if has_request_context() and request.blueprint == GUEST_BLUEPRINT:
        return current_app.config["GUEST_LANGUAGES"]
    return current_app.config["LANGUAGES"]


def select_locale() -> str:
    languages = languages_here()
    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
