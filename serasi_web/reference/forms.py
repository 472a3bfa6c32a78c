from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from ..forms import TOO_LONG, BaseForm, select_choices, strip
from .permits import STAY_PERMITS


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


class VisaIndexForm(BaseForm):
    code = StringField(_l("Visa index"), filters=[_upper], description=_l("For example C1, D2 or E33G."),
                       validators=[DataRequired(_l("Enter the code.")), Length(max=12, message=TOO_LONG)])
    description = StringField(_l("Description"), filters=[strip], validators=[Length(max=200, message=TOO_LONG)])
    suggested_permit = SelectField(_l("Suggested stay permit"), choices=[], validate_choice=False)
    active = BooleanField(_l("In use"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.suggested_permit.choices = select_choices([("", _l("None"))] + list(STAY_PERMITS.items()))

    def validate_code(self, field):
        from ..stays.forms import _VISA_INDEX

        if field.data and not _VISA_INDEX.match(field.data):
            raise ValidationError(_l("A visa index looks like C1, B1 or E33G."))

    def validate_suggested_permit(self, field):
        if field.data and field.data not in STAY_PERMITS:
            raise ValidationError(_l("Choose a stay permit from the list."))
