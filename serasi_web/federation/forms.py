"""The admin's federation forms: a new peer, and a backfill's start date."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms import TOO_LONG, BaseForm, strip


class PeerForm(BaseForm):
    name = StringField(_l("Name of the sending instance"), filters=[strip], description=_l("For example: SERASI Kanim Ngurah Rai."),
                       validators=[DataRequired(_l("Name the instance that will send.")), Length(max=120, message=TOO_LONG)])
    office_name = StringField(_l("Its immigration office"), filters=[strip],
                              description=_l("The office that runs the sending instance, as officers here should read it."),
                              validators=[DataRequired(_l("Name the office that runs the sending instance.")),
                                          Length(max=160, message=TOO_LONG)])


class BackfillForm(BaseForm):
    since = DateField(_l("Send every report made since"), format="%Y-%m-%d",
                      description=_l("Reports submitted on or after this day (UTC) are sent again; the other instance keeps "
                                     "what it has and adds what it lacks."),
                      validators=[InputRequired(_l("Choose the first day to send."))])
