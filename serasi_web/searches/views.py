"""Opening a saved search from its address, the same way on every page that has one."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from ..htmx import see_other
from .models import SavedSearch
from .services import is_expired, own_search


def open_saved_search(kind: str, search_id: str, search_again_url: str) -> SavedSearch:
    """The current user's search ``search_id`` made on the page ``kind``. Anyone else's (or an
    unknown id) answers 404; an expired one of one's own goes back to the empty form with a
    message (both by aborting the request)."""
    saved = own_search(current_user, kind, search_id)
    if saved is None:
        abort(404)
    if is_expired(saved):
        flash(_("That search has expired; search again."), "info")
        abort(see_other(search_again_url))
    return saved
