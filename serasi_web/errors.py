"""Error pages: clear words in the user's language, never a stack trace."""
from __future__ import annotations

from flask import Flask, make_response, render_template, request
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
        app.logger.error("database error on %s", request.path, exc_info=error)
        from .extensions import db

        try:
            db.session.rollback()  # on a dead connection this can fail too
        except Exception:  # noqa: BLE001
            db.session.remove()
        title, text = MESSAGES[503]
        return _render(503, title, text)


def _render(code: int, title, text):
    if request.path.startswith("/api/") or request.path == "/healthz":
        return {"type": "about:blank", "title": str(title), "status": code, "detail": str(text)}, code, {"Content-Type": "application/problem+json"}
    return render_template("errors/error.html", code=code, title=title, text=text), code
