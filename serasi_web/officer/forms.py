"""Forms of the console (search, periods, decisions) and of supervision-team accounts.

Filter forms read the query string (GET, no CSRF token): a bad value comes back at its field
with a message, never as an error page.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import DateField, EmailField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from ..accounts.forms import strong_password
from ..forms import TOO_LONG, BaseForm, plausible_date, strip
from ..offices.services import parse_region_codes
from ..reference import regions
from .queries import REPORT_STATUSES, SearchCriteria, name_words, normalise_document_number
from .stats import MAX_PERIOD_DAYS, Period



class CountrySelect:
    """A select of the ~250 countries whose options are rendered once per language.

    WTForms renders each option through ``html_params`` (about 20 µs apiece); two country lists
    made the search page 15 ms slower than the search itself.
    """

    _options: dict[tuple[str, str, int], str] = {}

    def __call__(self, field, **kwargs):
        from flask_babel import get_locale
        from markupsafe import Markup, escape
        from wtforms.widgets import html_params

        kwargs.setdefault("id", field.id)
        key = (field.name, str(get_locale()), len(field.choices))
        options = self._options.get(key)
        if options is None:
            options = "".join(f'<option value="{escape(choice.value)}">{escape(choice.label)}</option>' for choice in field.choices)
            self._options[key] = options
        if field.data:
            chosen = f'<option value="{escape(field.data)}">'
            options = options.replace(chosen, f'<option selected value="{escape(field.data)}">', 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class FilterForm(BaseForm):
    """A GET form: values come from the query string, no CSRF token (nothing is changed)."""

    class Meta:
        csrf = False


class SearchForm(FilterForm):
    """The console's search: POSTed (CSRFProtect checks the token app-wide) and kept behind a
    search id, or read from the query string for the filters that are not personal."""

    document_number = StringField(_l("Document number"), filters=[strip], description=_l("Exact number; spaces and case do not matter."),
                                  validators=[Length(max=40, message=TOO_LONG)])
    issuing_state = SelectField(_l("Issuing state"), validators=[Optional()], widget=CountrySelect())
    name = StringField(_l("Name"), filters=[strip], description=_l("Part of the name; accents and case do not matter."),
                       validators=[Length(max=100, message=TOO_LONG)])
    nationality = SelectField(_l("Nationality"), validators=[Optional()], widget=CountrySelect())
    check_in_from = DateField(_l("Check-in from"), validators=[Optional(), plausible_date])
    check_in_to = DateField(_l("Check-in until"), validators=[Optional(), plausible_date])
    region = SelectField(_l("Regency or district"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    lodging = IntegerField(widget=HiddenField.widget, validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])

    # Personal data: sent only by POST and kept behind a search id, never in a URL.
    PERSONAL_FIELDS = ("document_number", "name")

    CRITERIA_FIELDS = ("document_number", "issuing_state", "name", "nationality", "check_in_from", "check_in_to", "region",
                       "status", "lodging")

    def set_choices(self, countries: list[tuple[str, str]], region_choices: list[tuple[str, str]]) -> None:
        from ..forms import select_choices

        anything = [("", _l("Any"))]
        self.nationality.choices = select_choices(anything + countries)
        self.issuing_state.choices = select_choices(anything + countries)
        self.region.choices = select_choices(anything + region_choices)
        self.status.choices = select_choices(anything + [
            ("reported", _l("In the house")), ("checked_out", _l("Checked out")), ("voided", _l("Voided"))])

    def validate_document_number(self, field):
        number = normalise_document_number(field.data)
        if field.data and not number:
            raise ValidationError(_l("A document number has letters or digits."))
        if len(number) > 20:
            raise ValidationError(_l("A document number has at most 20 letters and digits."))

    def validate_name(self, field):
        if field.data and sum(len(word) for word in name_words(field.data)) < 2:
            raise ValidationError(_l("Type at least 2 letters of the name."))
        if len(name_words(field.data)) > 5:
            raise ValidationError(_l("Use at most 5 words."))

    def validate_check_in_to(self, field):
        if field.data and self.check_in_from.data and field.data < self.check_in_from.data:
            raise ValidationError(_l("The end of the period is before its start."))

    def validate_status(self, field):
        if field.data and field.data not in REPORT_STATUSES:
            raise ValidationError(_l("Not a valid choice."))

    def criteria(self) -> SearchCriteria:
        """The search as typed (valid only after ``validate()``)."""
        return SearchCriteria(
            document_number=normalise_document_number(self.document_number.data),
            issuing_state=self.issuing_state.data or "",
            name=self.name.data or "",
            nationality=self.nationality.data or "",
            check_in_from=self.check_in_from.data,
            check_in_to=self.check_in_to.data,
            lodging_id=self.lodging.data,
            region_code=self.region.data or "",
            status=self.status.data or "",
        )


class PeriodForm(FilterForm):
    start = DateField(_l("From"), validators=[Optional(), plausible_date])
    end = DateField(_l("Until"), validators=[Optional(), plausible_date])

    def validate_end(self, field):
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The end of the period is before its start."))
            if (field.data - self.start.data).days + 1 > MAX_PERIOD_DAYS:
                raise ValidationError(_l("Choose at most %(days)d days.", days=MAX_PERIOD_DAYS))

    def period(self, default: Period) -> Period:
        """The chosen period (valid only after ``validate()``); one missing end makes 30 days."""
        start, end = self.start.data, self.end.data
        if start and end:
            return Period(start, end)
        if end:
            return Period(end - timedelta(days=29), end)
        if start:
            return Period(start, start + timedelta(days=29))
        return default


class SilentDaysForm(FilterForm):
    days = IntegerField(_l("Days without a report"), validators=[
        Optional(), NumberRange(min=1, max=365, message=_l("Enter a number of days from %(min)s to %(max)s."))])


class RejectForm(BaseForm):
    reason = TextAreaField(_l("Reason for rejection"), filters=[strip], description=_l("The operator sees this text."),
                           validators=[DataRequired(_l("Say why the lodging is rejected.")), Length(max=1000, message=TOO_LONG)])


class SuspendForm(BaseForm):
    reason = TextAreaField(_l("Reason for the suspension"), filters=[strip],
                           description=_l("The operator sees this text. While suspended, the lodging cannot submit reports and its receipts say so."),
                           validators=[DataRequired(_l("Say why the lodging is suspended.")), Length(max=1000, message=TOO_LONG)])


class LegalHoldForm(BaseForm):
    reason = TextAreaField(_l("Reason for the legal hold"), filters=[strip],
                           description=_l("For example the case number. The hold keeps this guest's reports past the retention period."),
                           validators=[DataRequired(_l("Say why the reports must be kept.")), Length(max=1000, message=TOO_LONG)])


class MarkSeenForm(BaseForm):
    """Mark the inbox as read up to the newest event the user was shown (not "now": an event
    that arrived meanwhile must stay unread)."""

    until = HiddenField(validators=[DataRequired()])


class SupervisionRegionsForm(BaseForm):
    region_codes = TextAreaField(
        _l("Regions: regency or district codes"),
        description=_l("One code per line, e.g. 51.03 (Badung) or 51.03.05 (Kuta Selatan). The team sees the lodgings and guests of these regions, read-only."),
        validators=[DataRequired(_l("Enter at least one region code.")), Length(max=20000, message=TOO_LONG)])

    def validate_region_codes(self, field):
        codes, problems = parse_region_codes(field.data)
        if problems:
            raise ValidationError(" ".join(problems[:10]))
        if not codes:
            raise ValidationError(_l("Enter at least one region code."))
        self._codes = codes

    def codes(self) -> list[str]:
        return getattr(self, "_codes", [])

    def fill(self, codes: list[str]) -> None:
        self.region_codes.data = "\n".join(f"{code}  # {regions.name(code)}" for code in codes)


class SupervisorForm(SupervisionRegionsForm):
    full_name = StringField(_l("Team or member name"), filters=[strip], description=_l("For example: Timpora Kuta Selatan – Polsek Kuta Selatan."),
                            validators=[DataRequired(_l("Enter a name.")), Length(max=120, message=TOO_LONG)])
    email = EmailField(_l("E-mail"), filters=[strip], validators=[DataRequired(_l("Enter an e-mail address.")), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)])
    password = PasswordField(_l("Initial password"), description=_l("Give it to the team member in person; at least 8 characters."),
                             validators=[DataRequired(_l("Choose a password.")), strong_password])


class AuditFilterForm(FilterForm):
    actor = StringField(_l("Who (e-mail)"), filters=[strip], validators=[Length(max=254, message=TOO_LONG)])
    action = SelectField(_l("What"), validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional(), plausible_date])
    end = DateField(_l("Until"), validators=[Optional(), plausible_date])

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end of the period is before its start."))
