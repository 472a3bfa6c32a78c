"""The operator's API tokens: one lodging each, shown once, stored hashed, revocable."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from serasi_web.accounts.models import Role
from serasi_web.accounts.services import may_submit_reports
from serasi_web.auth import role_required
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.forms import TOO_LONG, BaseForm, strip
from serasi_web.htmx import see_other
from serasi_web.integrations.models import ApiToken
from serasi_web.lodgings.services import get_own_lodging_or_404

from .auth import hash_token

tokens = Blueprint("tokens", __name__)
TOKEN_PREFIX = "srs_"


class TokenForm(BaseForm):
    name = StringField(_l("System using the token"), filters=[strip], description=_l("For example: front desk PMS, HR roster."),
                       validators=[DataRequired(_l("Name the system that will use the token.")), Length(max=80, message=TOO_LONG)])


def create_token(lodging, name: str, user) -> str:
    """Make a token for ``lodging``; returns the secret, which is never stored or shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(lodging_id=lodging.id, name=name, prefix=secret[:10], token_hash=hash_token(secret),
                            created_by_id=getattr(user, "id", None)))
    db.session.commit()
    return secret


@tokens.route("/lodgings/<int:lodging_id>/api-tokens", methods=["GET", "POST"])
@role_required(Role.OPERATOR)
def index(lodging_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        if not may_submit_reports(current_user):
            # A token submits reports: the same rule as the report form.
            form.name.errors.append(_("Confirm your e-mail address before creating API tokens (the link is in the e-mail we sent you)."))
        else:
            new_secret = create_token(lodging, form.name.data, current_user)
            form = TokenForm(formdata=None)
    rows = db.session.execute(select(ApiToken).where(ApiToken.lodging_id == lodging.id).order_by(ApiToken.created_at.desc())).scalars().all()
    return render_template("push_api/tokens.html", lodging=lodging, tokens=rows, form=form, new_secret=new_secret)


@tokens.route("/lodgings/<int:lodging_id>/api-tokens/<int:token_id>/revoke", methods=["POST"])
@role_required(Role.OPERATOR)
def revoke(lodging_id: int, token_id: int):
    lodging = get_own_lodging_or_404(current_user, lodging_id)
    row = db.session.execute(select(ApiToken).where(ApiToken.id == token_id, ApiToken.lodging_id == lodging.id)).scalar_one_or_none()
    if row is None:
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
        flash(_("The token %(prefix)s… is revoked; the system using it is locked out.", prefix=row.prefix), "info")
    return see_other(url_for("tokens.index", lodging_id=lodging.id))
