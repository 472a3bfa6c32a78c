from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Optional

from ..forms import TOO_LONG, BaseForm, phone_number, strip
from .services import OFFICE_CODE_PATTERN, parse_region_codes



class OfficeForm(BaseForm):
    code = StringField(_l("Office code"), filters=[strip], description=_l("A short stable key used in CSV files, e.g. KANIM-DENPASAR."),
                       validators=[DataRequired(_l("Enter a code.")), Length(max=40, message=TOO_LONG)])
    name = StringField(_l("Office name"), filters=[strip], validators=[DataRequired(_l("Enter the office's name.")), Length(max=160, message=TOO_LONG)])
    office_class = StringField(_l("Office class"), filters=[strip], description=_l("For example: Kelas I TPI."), validators=[Length(max=80, message=TOO_LONG)])
    letterhead = TextAreaField(_l("Letterhead"), filters=[strip], description=_l("The lines printed above the office's name on receipts, one per line: ministry, directorate general, regional office."),
                               validators=[Length(max=300, message=TOO_LONG)])
    address = TextAreaField(_l("Address"), filters=[strip], validators=[Length(max=300, message=TOO_LONG)])
    phone = StringField(_l("Phone"), filters=[strip], validators=[Optional(), Length(max=40, message=TOO_LONG), phone_number])
    email = EmailField(_l("E-mail"), filters=[strip], validators=[Optional(), Email(_l("Enter a valid e-mail address.")), Length(max=254, message=TOO_LONG)])
    access_purpose_required = BooleanField(_l("Officers must give the purpose before searching, following a timeline or exporting"))
    region_codes = TextAreaField(_l("Area: region codes"), description=_l("One regency/city (e.g. 51.71) or district (e.g. 51.03.05) code per line. The most specific code wins."),
                                 validators=[Length(max=20000, message=TOO_LONG)])

    def validate_code(self, field):
        if not OFFICE_CODE_PATTERN.match(field.data or ""):
            raise ValidationError(_l("Use 2-40 letters, digits, - or _."))

    def area_codes(self) -> list[str]:
        """The normalised codes typed in (valid only after validation)."""
        return getattr(self, "_area_codes", [])

    def validate_region_codes(self, field):
        codes, problems = parse_region_codes(field.data)
        if problems:
            raise ValidationError(" ".join(problems[:10]))
        self._area_codes = codes


class OfficeImportForm(BaseForm):
    file = FileField(_l("CSV file"), description=_l("Columns: office_code, office_name, office_class, address, phone, email, region_code."),
                     validators=[FileRequired(_l("Choose a CSV file."))])
