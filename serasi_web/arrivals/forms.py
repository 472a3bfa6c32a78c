"""Forms of self check-in: the guest's start (consent, dates, e-mail), the operator's settings."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..forms import TOO_LONG, BaseForm, plausible_date, select_choices, strip
from ..reference.permits import PURPOSES
from ..stays.forms import DATE_FORMATS, DATETIME_FORMATS, StayFields, one_of


class StartForm(BaseForm):
    """The first page a guest sees: the privacy notice's consent and the stay's dates."""

    consent = BooleanField(_l("I have read the privacy notice and agree that my details are sent to this lodging, which reports them to the immigration office."),
                           validators=[DataRequired(_l("Tick the box to agree, or go to the reception instead."))])
    check_in_at = DateTimeLocalField(_l("Arrival (check-in)"), format=DATETIME_FORMATS, description=_l("Local time of the lodging."),
                                     validators=[InputRequired(_l("Enter the date and time of your arrival.")), plausible_date])
    planned_check_out = DateField(_l("Planned check-out"), format=DATE_FORMATS, validators=[Optional()])
    purpose = SelectField(_l("Purpose"), choices=[], validate_choice=False,
                          validators=[DataRequired(_l("Choose the purpose of the stay.")), one_of(PURPOSES, _l("Choose the purpose of the stay."))])
    email = EmailField(_l("E-mail (optional)"), filters=[strip], description=_l("We send you the link to your check-in's page; nothing else."),
                       validators=[Optional(), Email(_l("Enter an e-mail address such as name@example.com.")), Length(max=254, message=TOO_LONG)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.purpose.choices = select_choices([("", _l("Choose ..."))] + list(PURPOSES.items()))


class ApprovalForm(StayFields):
    """The operator's confirmation of the stay: check-in (the 24 hours count from it), room."""


class RejectForm(BaseForm):
    reason = TextAreaField(_l("Reason (shown to the guest)"), filters=[strip], validators=[Length(max=500, message=TOO_LONG)])


class SettingsForm(BaseForm):
    notify_by_email = BooleanField(_l("E-mail me when guests have checked themselves in"))
    expiry_hours = IntegerField(_l("Delete check-ins not approved after (hours)"), default=72,
                                validators=[InputRequired(_l("Enter a number of hours.")),
                                            NumberRange(min=1, max=720, message=_l("Enter a number from 1 to 720."))])
