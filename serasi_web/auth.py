"""Role checks for views."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles: str):
    """Require a logged-in user with one of ``roles``; others get 404 (nothing to see here)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def console_required(view):
    """The office console: officers, supervision teams and an admin also given an office; anyone
    else gets 404. Running the instance alone shows no guest data (UU PDP: need to know)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.sees_guest_data:
            abort(404)
        return view(*args, **kwargs)

    return wrapped
