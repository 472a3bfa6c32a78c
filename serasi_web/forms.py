"""Form helpers shared by every blueprint."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, ValidationError


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated since WTForms 3.3)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class Stripped:
    """Filter: trim surrounding white space from text input (None stays None)."""

    def __call__(self, value):
        return value.strip() if isinstance(value, str) else value


strip = Stripped()


def digits_only(length: int, message=None):
    """Validator: exactly ``length`` digits (empty passes; pair with Optional/DataRequired)."""

    def check(form, field):
        if field.data and (not field.data.isdigit() or len(field.data) != length):
            raise ValidationError(message or _l("Enter exactly %(n)d digits.", n=length))

    return check


def phone_number(form, field):
    """Validator: an Indonesian or international phone number (digits, spaces, +, -, brackets)."""
    value = field.data or ""
    digits = [ch for ch in value if ch.isdigit()]
    if value and (not all(ch.isdigit() or ch in " +-()." for ch in value) or not 7 <= len(digits) <= 15):
        raise ValidationError(_l("Enter a phone number, for example 0812 3456 7890 or +62 361 123456."))


class _BabelTranslations:
    """Route WTForms' built-in messages through our catalogue (WTForms ships no Indonesian)."""

    def gettext(self, string):
        from flask_babel import gettext

        return gettext(string)

    def ngettext(self, singular, plural, n):
        from flask_babel import ngettext

        return ngettext(singular, plural, n)


_TRANSLATIONS = _BabelTranslations()

# WTForms' own messages that our fields can produce; listed so extraction puts them in the catalogue.
WTFORMS_MESSAGES = [
    _l("Not a valid integer value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Not a valid choice."),
    _l("This field is required."),
    _l("Invalid email address."),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF session token is missing."),
    _l("The CSRF tokens do not match."),
]


class BaseForm(FlaskForm):
    """Every form of ours: CSRF from Flask-WTF, messages in the user's language."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS
