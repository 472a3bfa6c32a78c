from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, Label, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..forms import TOO_LONG, BaseForm, digits_only, phone_number, select_choices, strip
from ..reference import regions
from .nik import nik_problem
from .types import lodging_type, lodging_types

# The words of an individual host's form (private residence): (label, hint, message when empty).
RESIDENCE_WORDING = {
    "name": (_l("Name of the residence"), _l("How you and the office will know this home, e.g. Rumah Jalan Melati 5."),
             _l("Give the residence a name.")),
    "person_in_charge": (_l("Host's full name"), _l("As on the host's KTP."), _l("Enter the host's full name.")),
}

# (field name, parent field name, level, label of the empty choice)
REGION_FIELDS = (
    ("province_code", None, regions.LEVEL_PROVINCE),
    ("regency_code", "province_code", regions.LEVEL_REGENCY),
    ("district_code", "regency_code", regions.LEVEL_DISTRICT),
    ("village_code", "district_code", regions.LEVEL_VILLAGE),
)


class LodgingForm(BaseForm):
    # In the order of the page (the error summary lists problems in this order): the type first,
    # as it decides the wording and which identifiers are asked.
    lodging_type = SelectField(_l("Lodging type"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the lodging type."))])
    name = StringField(_l("Lodging name"), filters=[strip], validators=[DataRequired(_l("Enter the lodging's name.")), Length(max=160, message=TOO_LONG)])
    nib = StringField(_l("Business identification number (NIB)"), filters=[strip], description=_l("13 digits, from OSS (oss.go.id). Needed for hotels, guest houses, kos and other commercial lodgings; not for a private residence."), validators=[digits_only(13, _l("The NIB has 13 digits."))])  # no Optional(): it would skip validate_nib
    # Only for an individual host (removed from the form otherwise, see __init__).
    host_nik = StringField(_l("Host's NIK"), filters=[strip], description=_l("The 16-digit national identity number on the host's KTP. Only you and the immigration office see it."),
                           validators=[DataRequired(_l("Enter the host's NIK."))])
    room_count = IntegerField(_l("Number of rooms"), validators=[Optional(), NumberRange(min=1, max=10000, message=_l("Enter a number from %(min)d to %(max)d."))])
    person_in_charge = StringField(_l("Person in charge"), filters=[strip], validators=[DataRequired(_l("Enter the name of the person in charge.")), Length(max=120, message=TOO_LONG)])
    street_address = TextAreaField(_l("Street address"), filters=[strip], description=_l("Street, number, RT/RW, building."), validators=[DataRequired(_l("Enter the street address.")), Length(max=300, message=TOO_LONG)])
    # Choices depend on the chosen parent (see populate_region_choices), which also drops a
    # value that does not belong to its parent; so "required" is the only check left.
    province_code = SelectField(_l("Province"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the province."))])
    regency_code = SelectField(_l("Regency or city"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the regency or city."))])
    district_code = SelectField(_l("District"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the district."))])
    village_code = SelectField(_l("Village"), choices=[], validate_choice=False, validators=[DataRequired(_l("Choose the village."))])
    postal_code = StringField(_l("Postal code"), filters=[strip], description=_l("Suggested from the village; change it if yours differs."), validators=[Optional(), digits_only(5, _l("A postal code has 5 digits."))])
    phone = StringField(_l("Phone"), filters=[strip], validators=[DataRequired(_l("Enter a phone number.")), Length(max=30, message=TOO_LONG), phone_number])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lodging_type.choices = select_choices([("", _l("Choose ..."))] + [(t.key, t.label) for t in lodging_types()])
        self.populate_region_choices()
        chosen = lodging_type(self.lodging_type.data or "")
        self.individual_host = bool(chosen and chosen.individual_host)
        if self.individual_host:
            # A person's own home: no business number and no room count, the host's NIK instead.
            del self.nib
            del self.room_count
            for name, (label, description, required_message) in RESIDENCE_WORDING.items():
                field = self[name]
                field.label = Label(field.id, label)
                field.description = description
                field.validators = [DataRequired(required_message)] + [v for v in field.validators if not isinstance(v, DataRequired)]
            return
        del self.host_nik
        if chosen is not None:
            # Marked as it is checked (validate_nib): required for a commercial type only.
            self.nib.flags.marked_required = chosen.commercial
            self.nib.description = (_l("13 digits, from OSS (oss.go.id). No NIB yet? Register the business at oss.go.id "
                                       "(free; a small business usually gets its NIB the same day), then come back and save. "
                                       "A room let in your own home is a private residence and needs none.")
                                    if chosen.commercial else _l("Not needed for this lodging type; give it if you have one."))

    def populate_region_choices(self) -> None:
        """Offer the children of each chosen parent; drop a choice that does not fit its parent."""
        parent_code = None
        for field_name, parent_name, _level in REGION_FIELDS:
            field = getattr(self, field_name)
            options = regions.children(parent_code) if (parent_name is None or parent_code) else ()
            field.choices = select_choices([("", _l("Choose ..."))] + [(region.code, region.name) for region in options])
            if field.data and field.data not in {region.code for region in options}:
                field.data = ""
            parent_code = field.data or None

    def suggest_postal_code(self, overwrite: bool = False) -> None:
        village = regions.get(self.village_code.data) if self.village_code.data else None
        if village and village.postal_code and (overwrite or not self.postal_code.data):
            self.postal_code.data = village.postal_code

    def validate_lodging_type(self, field):
        if field.data and lodging_type(field.data) is None:
            raise ValidationError(_l("Choose a lodging type from the list."))

    def extra_field_names(self) -> list[str]:
        """The fields the chosen lodging type adds (see ``lodging_form_class``)."""
        return list(getattr(self, "_extra_names", ()))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        chosen = lodging_type(self.lodging_type.data or "")
        if chosen and chosen.validate:
            values = {name: field.data for name, field in self._fields.items()}
            for name, message in (chosen.validate(values) or {}).items():
                if name in self._fields:
                    self._fields[name].errors = list(self._fields[name].errors) + [str(message)]
                    valid = False
        return valid

    def validate_host_nik(self, field):
        problem = nik_problem(field.data) if field.data else None
        if problem:
            raise ValidationError(problem)

    def validate_nib(self, field):
        chosen = lodging_type(self.lodging_type.data or "")
        if chosen and chosen.commercial and not field.data:
            raise ValidationError(_l("A commercial lodging must give its NIB."))


def lodging_form_class(type_key: str | None):
    """LodgingForm plus the extra fields of the chosen lodging type (a plugin's, e.g. company mess)."""
    chosen = lodging_type(type_key or "")
    if chosen is None or not chosen.extra_fields:
        return LodgingForm
    attributes = dict(chosen.extra_fields)
    attributes["_extra_names"] = tuple(chosen.extra_fields)
    return type(f"LodgingForm_{chosen.key}", (LodgingForm,), attributes)
