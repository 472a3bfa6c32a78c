from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Optional

from ..forms import TOO_LONG, BaseForm, phone_number, select_choices, strip
from .models import OfficeLevel
from .services import OFFICE_CODE_PATTERN, levels_offered, parse_region_codes

LEVEL_LABELS = {
    OfficeLevel.OFFICE: _l("Office: the lodgings routed to it"),
    OfficeLevel.REGIONAL: _l("Regional office (Kanwil): every lodging in its area (provinces)"),
    OfficeLevel.NATIONAL: _l("National: every lodging"),
}


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
    # On a regional or national instance only (``levels_for``); elsewhere they are removed.
    level = SelectField(_l("What its officers see"), choices=[], invalid_choice_message=_l("Choose what its officers see."),
                        description=_l("A regional office's area may hold province codes (e.g. 51 for Bali)."))
    federation_peer_id = SelectField(_l("Stands for the instance"), coerce=int, choices=[], invalid_choice_message=_l("Choose the instance."),
                                     description=_l("The lodgings this instance mirrored here belong to this office, wherever they are."))

    def offer_levels(self, instance_level: str, peers) -> None:
        """Offer the levels this instance honours and its federation peers; on an office's
        instance the two fields are removed (every office is an office there)."""
        if instance_level == "office":
            del self.level
            del self.federation_peer_id
            return
        self.level.choices = select_choices((level.value, LEVEL_LABELS[level]) for level in levels_offered(instance_level))
        self.federation_peer_id.choices = select_choices([(0, _l("None"))] + [(peer.id, peer.name) for peer in peers])

    def validate_code(self, field):
        if not OFFICE_CODE_PATTERN.match(field.data or ""):
            raise ValidationError(_l("Use 2-40 letters, digits, - or _."))

    def area_codes(self) -> list[str]:
        """The normalised codes typed in (valid only after validation)."""
        return getattr(self, "_area_codes", [])

    def validate_region_codes(self, field):
        provinces = "level" in self._fields and self.level.data == OfficeLevel.REGIONAL
        codes, problems = parse_region_codes(field.data, provinces=provinces)
        if problems:
            raise ValidationError(" ".join(problems[:10]))
        self._area_codes = codes


class OfficeImportForm(BaseForm):
    file = FileField(_l("CSV file"), description=_l("Columns: office_code, office_name, office_class, address, phone, email, region_code, level, peer "
                                                "(level and peer may be left out: the offices keep theirs)."),
                     validators=[FileRequired(_l("Choose a CSV file."))])
