"""What a form with ``data-keep-draft`` needs from the server for the drafts the browser keeps
(JavaScript on; static/form-drafts.js saves and puts back, static/form-requests.js deletes): a
key per user and per form, and word that the server accepted a form so the browser can forget
what was typed into it.

* ``keep_draft()`` (a template global) gives a form its attributes: ``data-keep-draft`` is made
  of HMACs under the secret key, of the user ("owner", before the ".": a page of one user
  deletes the drafts of another) and of the user and the form's path (no id, name, path or
  lodging can be read from it; another user of the same browser gets other keys), and
  ``data-draft-restore`` when the form is shown fresh (GET): a form the server answers a POST with
  (errors, values read from a document) shows what the server says, never an older draft;
  ``data-draft-script`` is the script's (versioned) address, fetched only when it has work.
* The script adds a hidden ``keep_draft`` field naming the draft (the key and the form's
  ``form_token``). A view that has accepted the form calls ``confirm_draft()`` before its
  redirect; the next page carries that name in
  ``#request-messages[data-drafts-done]`` (``drafts_done()``) and the script deletes that draft,
  with htmx or without. After logging out ``forget_all_drafts()`` makes it delete them all (the
  logout answer also sends ``Clear-Site-Data: "storage"``).

Without JavaScript nothing here is used: the server-side draft ("save as draft") is the way.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from flask import current_app, request, session, url_for
from flask_login import current_user
from markupsafe import Markup, escape

DONE_SESSION_KEY = "drafts_done"
ALL_DRAFTS = "*"
# What the script posts: the key made here (or, for a form with a bare data-keep-draft, "." and
# the form's path), ":" and the form's form_token (base64url, may be empty). Anything else posted
# is ignored.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-]{0,8}\.[A-Za-z0-9_\-/.]{1,120}:[A-Za-z0-9_\-]{0,64}")
_MAX_DONE = 5  # in the session cookie: a few names, each under 200 bytes


def _digest(*parts: str, length: int) -> str:
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(secret, "\0".join(("serasi-form-draft",) + parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:length]).rstrip(b"=").decode()


def _user_part() -> str:
    return str(current_user.get_id()) if current_user and current_user.is_authenticated else ""


def draft_key(path: str | None = None) -> str:
    """The browser's name for the draft of the form at ``path`` (this request's) of this user:
    the user's mark (empty for someone not logged in, a guest on their own form), ".", and a mark
    of the user and the form."""
    user = _user_part()
    owner = _digest("owner", user, length=6) if user else ""
    return owner + "." + _digest("key", user, path or request.path, length=12)


def keep_draft() -> Markup:
    """The attributes of a ``<form>`` whose typing the browser keeps: ``<form ... {{ keep_draft() }}>``
    (and ``{{ draft_note() }}`` from macros/forms.html above its submit button)."""
    script = url_for("static", filename="form-drafts.js")
    return Markup(f' data-keep-draft="{escape(draft_key())}" data-draft-script="{escape(script)}"'
                  + (" data-draft-restore" if request.method == "GET" else ""))


def _mark_done(key: str) -> None:
    done = [k for k in session.get(DONE_SESSION_KEY, []) if k != key]
    session[DONE_SESSION_KEY] = (done + [key])[-_MAX_DONE:]


def confirm_draft() -> None:
    """The form of this request was accepted (saved or reported): the browser may forget its draft."""
    key = request.form.get("keep_draft", "")
    if _KEY_PATTERN.fullmatch(key):
        _mark_done(key)


def forget_all_drafts() -> None:
    """Every draft of this browser goes (after logging out; call after the session is cleared)."""
    session[DONE_SESSION_KEY] = [ALL_DRAFTS]


def drafts_done() -> list[str]:
    """The drafts the browser is to delete, once: the page that shows this list is the one that
    tells the script."""
    if DONE_SESSION_KEY not in session:
        return []
    return list(session.pop(DONE_SESSION_KEY) or [])
