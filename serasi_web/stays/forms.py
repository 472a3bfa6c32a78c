"""The guest report form, the group form, check-out, correction and void forms."""
from __future__ import annotations

import re
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, HiddenField, RadioField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import TOO_LONG, BaseForm, form_token, plausible_date, select_choices, strip
from ..reference import countries
from ..reference.permits import DOCUMENT_TYPES, PURPOSES, SEXES, STAY_PERMITS

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]  # the last two for browsers without a date picker
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.,][^\W\d_]*)*$", re.UNICODE)  # letters of any script, with accents
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9]{3,20}$")
_PERMIT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/.\-]{0,39}$")
_VISA_INDEX = re.compile(r"^[A-Z][0-9]{1,2}[A-Z]?$")


def upper_compact(value):
    """Document numbers: upper case, without spaces (as printed in the MRZ)."""
    return re.sub(r"\s+", "", value).upper() if isinstance(value, str) else value


def upper_strip(value):
    return value.strip().upper() if isinstance(value, str) else value


def person_name(form, field):
    if field.data and not _NAME.match(field.data):
        raise ValidationError(_l("Use letters only (accents are fine), with spaces, hyphens or apostrophes."))


def known_country(form, field):
    if field.data and not countries.is_known(field.data):
        raise ValidationError(_l("Choose a country from the list."))


def one_of(options: dict, message):
    def check(form, field):
        if field.data and field.data not in options:
            raise ValidationError(message)

    return check


@lru_cache(maxsize=8)
def country_choices(locale: str):
    """Built once per language: 264 choices per select, two selects per report form."""
    from flask_babel import force_locale

    with force_locale(locale):
        return select_choices([("", str(_l("Choose ...")))] + countries.choices(locale))


class GuestFields(BaseForm):
    """Identity, travel document and permit: what differs between members of a group."""

    surname = StringField(_l("Surname"), filters=[strip], validators=[DataRequired(_l("Enter the surname.")), Length(max=100, message=TOO_LONG), person_name])
    given_names = StringField(_l("Given names"), filters=[strip], description=_l("Leave empty if the passport shows only one name."), validators=[Length(max=100, message=TOO_LONG), person_name])
    sex = RadioField(_l("Sex"), choices=select_choices(SEXES.items()), validate_choice=False, validators=[DataRequired(_l("Choose the sex.")), one_of(SEXES, _l("Choose the sex."))])
    date_of_birth = DateField(_l("Date of birth"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the date of birth."))])
    place_of_birth = StringField(_l("Place of birth"), filters=[strip], validators=[Length(max=100, message=TOO_LONG)])
    nationality = SelectField(_l("Nationality"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the nationality.")), known_country])
    document_type = SelectField(_l("Document type"), choices=select_choices(DOCUMENT_TYPES.items()), validate_choice=False, default="passport",
                                validators=[DataRequired(_l("Choose the document type.")), one_of(DOCUMENT_TYPES, _l("Choose the document type."))])
    document_number = StringField(_l("Document number"), filters=[upper_compact], validators=[DataRequired(_l("Enter the document number."))])
    issuing_state = SelectField(_l("Issuing state"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the issuing state.")), known_country])
    document_expiry = DateField(_l("Document expiry date"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the expiry date."))])
    entry_date = DateField(_l("Date of entry"), format=DATE_FORMATS, validators=[InputRequired(_l("Enter the date of entry into Indonesia."))])
    port_of_entry = StringField(_l("Place of entry (TPI)"), filters=[strip],
                                description=_l("The airport, seaport or land border post where the passport was stamped, for example Ngurah Rai Airport."), validators=[Length(max=100, message=TOO_LONG)])
    visa_index = StringField(_l("Visa index (the code on the visa)"), filters=[upper_strip],
                             description=_l("The short code printed on the visa or e-visa, for example C1 (visit visa), B1 (visa on arrival) or E33G (remote worker); the stay permit is suggested from it."), validators=[Length(max=12, message=TOO_LONG)])
    stay_permit = SelectField(_l("Stay permit"), choices=[], validate_choice=False, description=_l("Needed to submit the report; a draft can be saved without it."), validators=[Optional(), one_of(STAY_PERMITS, _l("Choose a stay permit from the list."))])
    permit_number = StringField(_l("Permit number"), filters=[upper_compact], validators=[Length(max=40, message=TOO_LONG)])
    permit_valid_until = DateField(_l("Permit valid until"), format=DATE_FORMATS, validators=[Optional()])
    # Filled only by capture (a photo of the entry-permit sticker): a hidden field, shown read-only
    # when it holds something, so nobody tabs into or types a QR code's text.
    entry_stamp_qr = HiddenField(_l("Entry-stamp QR"), filters=[strip], validators=[Length(max=4000, message=TOO_LONG)])
    accompanying_stay_id = SelectField(_l("Accompanying adult"), choices=[], validate_choice=False, description=_l("For a guest under 18: the adult they travel with."))
    form_token = HiddenField(filters=[form_token])

    def __init__(self, *args, locale: str = "id", **kwargs):
        super().__init__(*args, **kwargs)
        self.nationality.choices = country_choices(locale)
        self.issuing_state.choices = country_choices(locale)
        self.stay_permit.choices = select_choices([("", _l("Choose ..."))] + list(STAY_PERMITS.items()))
        self.stay_permit.flags.marked_required = True  # to submit (a draft may wait): see report_problems
        self.accompanying_stay_id.choices = select_choices([("", _l("None"))])

    def validate_document_number(self, field):
        if field.data and not _DOCUMENT_NUMBER.match(field.data):
            raise ValidationError(_l("Use 3 to 20 letters and digits only (no symbols)."))

    def validate_permit_number(self, field):
        if field.data and not _PERMIT_NUMBER.match(field.data):
            raise ValidationError(_l("Use letters, digits and / . - only."))

    def validate_visa_index(self, field):
        if field.data and not _VISA_INDEX.match(field.data):
            raise ValidationError(_l("A visa index looks like C1, B1 or E33G."))


class StayFields(BaseForm):
    """Dates and room of the stay: shared by the members of a group."""

    check_in_at = DateTimeLocalField(_l("Check-in"), format=DATETIME_FORMATS, description=_l("Local time of the lodging."),
                                     validators=[InputRequired(_l("Enter the check-in date and time.")), plausible_date])
    planned_check_out = DateField(_l("Planned check-out"), format=DATE_FORMATS, validators=[Optional()])
    room = StringField(_l("Room"), filters=[strip], validators=[Length(max=40, message=TOO_LONG)])
    purpose = SelectField(_l("Purpose"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the purpose of the stay.")), one_of(PURPOSES, _l("Choose the purpose of the stay."))])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=2000, message=TOO_LONG)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.purpose.choices = select_choices([("", _l("Choose ..."))] + list(PURPOSES.items()))


class StayForm(GuestFields, StayFields):
    """The whole report of one guest."""


class GroupForm(StayFields):
    name = StringField(_l("Group name"), filters=[strip], description=_l("For example the family name; only for you."), validators=[Length(max=120, message=TOO_LONG)])


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[DataRequired(_l("Give a reason.")), Length(max=1000, message=TOO_LONG)])


class VoidForm(ReasonForm):
    """Voiding a report; for an adult with minors linked to them, what becomes of the minors."""

    minors = RadioField(_l("The minors travelling with this guest"), choices=select_choices([
        ("void", _l("Void their reports too (they did not stay either)")),
        ("move", _l("They stay: the adult below accompanies them now")),
    ]), validate_choice=False)
    new_adult_id = SelectField(_l("Adult who accompanies them now"), choices=[], validate_choice=False,
                               description=_l("Only for \"they stay\": a guest of 18 or over in this lodging."))


class CorrectionForm(StayForm):
    reason = TextAreaField(_l("Reason for the correction"), filters=[strip], validators=[DataRequired(_l("Give a reason for the correction.")), Length(max=1000, message=TOO_LONG)])


class CheckOutForm(BaseForm):
    checked_out_at = DateTimeLocalField(_l("Check-out date and time"), format=DATETIME_FORMATS, description=_l("Local time of the lodging."),
                                        validators=[InputRequired(_l("Enter the check-out date and time.")), plausible_date])

