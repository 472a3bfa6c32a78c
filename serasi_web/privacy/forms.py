"""The form that records a data subject's request."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..database import utcnow
from ..forms import MAX_PAGE, TOO_LONG, BaseForm, plausible_date, select_choices, strip
from ..officer.forms import CountrySelect
from ..officer.queries import normalise_document_number

CHANNEL_LABELS = {"email": _l("E-mail"), "letter": _l("Letter"), "in_person": _l("In person at the office"), "other": _l("Other")}


class SubjectRequestForm(BaseForm):
    document_number = StringField(_l("Document number"), filters=[strip], description=_l("As in the guest's travel document."),
                                  validators=[DataRequired(_l("Enter the document number.")), Length(max=40, message=TOO_LONG)])
    issuing_state = SelectField(_l("Issuing state"), validators=[DataRequired(_l("Choose the issuing state."))], widget=CountrySelect())
    received_on = DateField(_l("Received on"), validators=[InputRequired(_l("Enter the date the request arrived.")), plausible_date])
    channel = SelectField(_l("Received by"), validators=[DataRequired(_l("Choose how the request arrived."))])
    reference = StringField(_l("Reference (optional)"), filters=[strip], description=_l("The letter's or e-mail's own number."),
                            validators=[Length(max=120, message=TOO_LONG)])

    def set_choices(self, countries: list[tuple[str, str]]) -> None:
        self.issuing_state.choices = select_choices([("", _l("Choose"))] + countries)
        self.channel.choices = select_choices([("", _l("Choose"))] + list(CHANNEL_LABELS.items()))

    def validate_document_number(self, field):
        number = normalise_document_number(field.data)
        if not number:
            raise ValidationError(_l("A document number has letters or digits."))
        if len(number) > 20:
            raise ValidationError(_l("A document number has at most 20 letters and digits."))

    def validate_received_on(self, field):
        # The latest date anywhere in Indonesia (WIT, UTC+9) may be a day ahead of UTC.
        if field.data and field.data > (utcnow() + timedelta(hours=9)).date():
            raise ValidationError(_l("The request cannot arrive in the future."))


class PurposeForm(BaseForm):
    purpose = SelectField(_l("Purpose of access"), validators=[DataRequired(_l("Choose why you need these data."))])
    text = StringField(_l("In a few words"), filters=[strip], description=_l("For example the case number or what is checked."),
                       validators=[Length(max=200, message=TOO_LONG)])
    next = HiddenField()

    def set_choices(self) -> None:
        from .purpose import PURPOSES

        self.purpose.choices = select_choices([("", _l("Choose"))] + list(PURPOSES.items()))

    def validate_text(self, field):
        if self.purpose.data == "other" and not field.data:
            raise ValidationError(_l("Describe the purpose."))


class AccessLogFilterForm(BaseForm):
    """Sent by POST: a guest's name or document number never goes into a URL or an access log."""

    actor = StringField(_l("Staff member (e-mail)"), filters=[strip], validators=[Length(max=254, message=TOO_LONG)])
    guest = StringField(_l("Guest (name or document number)"), filters=[strip], validators=[Length(max=100, message=TOO_LONG)])
    lodging_id = SelectField(_l("Lodging"), coerce=int, validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional(), plausible_date])
    end = DateField(_l("Until"), validators=[Optional(), plausible_date])
    page = HiddenField(default="1")

    def set_choices(self, lodgings) -> None:
        self.lodging_id.choices = select_choices([(0, _l("Every lodging"))] + [(lodging.id, lodging.name) for lodging in lodgings])

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end of the period is before its start."))

    def page_number(self) -> int:
        text = (self.page.data or "1").strip()
        return min(max(1, int(text)), MAX_PAGE) if text.isdigit() and len(text) < 6 else 1
