"""The operator's API tokens: one lodging each, shown once, stored hashed, revocable, each with
an expiry (30, 90 or 365 days; no token lives for ever) and a scope (read and write, or read only)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from serasi_web.accounts.models import Role
from serasi_web.accounts.services import may_submit_reports
from serasi_web.auth import role_required
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.forms import TOO_LONG, BaseForm, select_choices, strip
from serasi_web.htmx import see_other
from serasi_web.lodgings.services import get_own_lodging_or_404

from .auth import hash_token
from .models import ApiToken

tokens = Blueprint("tokens", __name__, template_folder="templates")  # its page: templates/push_api/tokens.html
TOKEN_PREFIX = "srs_"
# No "never": a token copied into a forgotten system would act on passport data for ever. A year
# is the longest; the operator makes a new token before the old one ends.
VALIDITY_DAYS = (30, 90, 365)
DEFAULT_VALIDITY_DAYS = 90
READ, WRITE = "read", "write"
SCOPES = (WRITE, READ)


def scope_label(scope: str) -> str:
    return _("Read only") if scope == READ else _("Read and write")


class TokenForm(BaseForm):
    name = StringField(_l("System using the token"), filters=[strip], description=_l("For example: front desk PMS, HR roster."),
                       validators=[DataRequired(_l("Name the system that will use the token.")), Length(max=80, message=TOO_LONG)])
    valid_days = SelectField(_l("Valid for"), default=str(DEFAULT_VALIDITY_DAYS),
                             description=_l("After this the token stops working; create a new one before then."),
                             choices=select_choices([(30, _l("30 days")), (90, _l("90 days")), (365, _l("1 year"))]),
                             validators=[DataRequired(_l("Choose how long the token is valid."))])
    scope = RadioField(_l("What the system may do"), default=WRITE,
                       choices=select_choices([(WRITE, _l("Read and write: report, correct, check out and void guests")),
                                               (READ, _l("Read only: list and read the lodging's reports"))]),
                       validators=[DataRequired(_l("Choose what the system may do."))])


def create_token(lodging, name: str, user, valid_days: int = DEFAULT_VALIDITY_DAYS, scope: str = WRITE) -> str:
    """Make a token for ``lodging`` valid ``valid_days`` from now; returns the secret, which is
    never stored or shown again."""
    if scope not in SCOPES:
        raise ValueError(f"unknown token scope {scope!r}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(ApiToken(lodging_id=lodging.id, name=name, prefix=secret[:10], token_hash=hash_token(secret),
                            created_by_id=getattr(user, "id", None), created_at=now, expires_at=now + timedelta(days=valid_days),
                            scope=scope))
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
            new_secret = create_token(lodging, form.name.data, current_user, int(form.valid_days.data), form.scope.data)
            form = TokenForm(formdata=None)
    rows = db.session.execute(select(ApiToken).where(ApiToken.lodging_id == lodging.id).order_by(ApiToken.created_at.desc())).scalars().all()
    return render_template("push_api/tokens.html", lodging=lodging, tokens=rows, form=form, new_secret=new_secret, now=utcnow(),
                           scope_label=scope_label)


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
