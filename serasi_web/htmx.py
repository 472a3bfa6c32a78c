"""htmx helpers: one view serves a full page or the fragment htmx asked for.

Built on flask-htmx (its ``HTMX`` object reads the request headers). Every response that can
be a page or a fragment carries ``Vary: HX-Request`` so caches never mix them, and a history
restore always gets the full page.
"""
from __future__ import annotations

from flask import Response, make_response, redirect, render_template
from flask_htmx import HTMX

htmx = HTMX()


def wants_fragment() -> bool:
    """True when htmx asked for a fragment.

    Boosted links and forms (``hx-boost``) and history restores want the whole page.
    """
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(page_template: str, fragment_template: str, **context) -> Response:
    """Render the fragment for htmx, the page (which includes the fragment) otherwise."""
    response = make_response(render_template(fragment_template if wants_fragment() else page_template, **context))
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """303 after a POST: the browser (and htmx) follow it with a GET."""
    return redirect(location, code=303)
