"""A browser for Kemendagri region codes (admins use it to build office areas)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from . import regions

blueprint = Blueprint("reference", __name__, url_prefix="/regions")


@blueprint.route("/")
@login_required
def browse():
    code = regions.normalise(request.args.get("code", ""))
    region = regions.get(code) if code else None
    if code and region is None:
        abort(404)
    trail = [regions.get(c) for c in reversed(regions.ancestors(code))] if region else []
    return render_template("reference/regions.html", region=region, trail=trail, children=regions.children(code or None))
