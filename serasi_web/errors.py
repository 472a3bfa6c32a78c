"""Error pages: clear words in the user's language, never a stack trace."""
from __future__ import annotations

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You may not do this.")),
    404: (_l("Not found"), _l("This page does not exist, or it is not yours to see.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("Too large"), _l("The upload is too large.")),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("The error was logged. Your data was not changed; please try again.")),
    503: (_l("Temporarily unavailable"), _l("The database cannot be reached right now. Please try again in a minute.")),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(400, _l("Form expired"), _l("The form could not be accepted because its security token is missing or old. Go back, reload the page and send it again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        title, text = MESSAGES.get(error.code or 500, (error.name, error.description))
        response = _render(error.code or 500, title, text)
        allow = dict(error.get_headers()).get("Allow")
        if allow:  # a 405 names the methods the address accepts (RFC 9110)
            response = make_response(response)
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(error):
        from .extensions import db
        from .replica import retry_on_primary

        retry = retry_on_primary()
        if retry is not None:
            db.session.rollback()
            return retry
        app.logger.error("database error on %s", request.path, exc_info=error)

        try:
            db.session.rollback()  # on a dead connection this can fail too
        except Exception:  # noqa: BLE001
            db.session.remove()
        return database_unavailable()


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _render(code: int, title, text):
    if _is_api():
        return {"type": "about:blank", "title": str(title), "status": code, "detail": str(text)}, code, {"Content-Type": "application/problem+json"}
    try:
        return render_template("errors/error.html", code=code, title=title, text=text), code
    except (OperationalError, InterfaceError):  # base.html reads current_user: the database went away
        return database_unavailable()


def database_unavailable():
    """The 503 answer while the database cannot be reached. Nothing in making it may touch the
    database: no base.html (it reads ``current_user``), no context processors, no user's saved
    language (the language cookie or Accept-Language decide); otherwise the error handler fails
    the same way and the user gets a bare 500."""
    from .extensions import db
    from .i18n import LANGUAGE_COOKIE

    try:
        db.session.remove()
    except Exception:  # noqa: BLE001 - the connection is gone; nothing of it is left to undo
        db.session.registry.clear()
    headers = {"Retry-After": "30", "Cache-Control": "no-store"}
    title, text = MESSAGES[503]
    languages = current_app.config["LANGUAGES"]
    language = request.cookies.get(LANGUAGE_COOKIE)
    if language not in languages:
        language = request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        if _is_api():
            return ({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": str(text)}, 503,
                    {**headers, "Content-Type": "application/problem+json"})
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(
            lang=language, title=str(title), text=str(text), again=str(_l("Try again")),
            request_path=request.full_path.rstrip("?") if request.method == "GET" else request.path)
    if request.headers.get("HX-Request"):  # htmx swaps a 503 (base.html's responseHandling): the whole page, not a fragment
        headers |= {"HX-Retarget": "body", "HX-Reswap": "innerHTML", "HX-Push-Url": "false"}
    return page, 503, {**headers, "Content-Type": "text/html; charset=utf-8", "Vary": "HX-Request"}
