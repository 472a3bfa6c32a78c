"""Form helpers shared by every blueprint."""
from __future__ import annotations

import re
from datetime import date, datetime

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice, ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL's integer: no row has a larger id, and a larger number overflows
EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2100, 12, 31)


def select_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated since WTForms 3.3)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class Stripped:
    """Filter: trim surrounding white space from text input (None stays None)."""

    def __call__(self, value):
        return value.strip() if isinstance(value, str) else value


strip = Stripped()


def parse_id(raw) -> int | None:
    """A row id sent in a query string or a form: ASCII digits within the database's range, else None.
    (``"²".isdigit()`` is true and ``int()`` refuses it; a 30-digit number overflows the database.)"""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        value = int(raw)
        return value if 0 < value <= MAX_ID else None
    return None


def text_arg(name: str, max_length: int = 100, source=None) -> str:
    """A free-text value read without a form (a search term, a filter) from the query string, or
    from ``source`` (``request.form``): trimmed, bounded, without NUL (as ``BaseForm`` does)."""
    return (request.args if source is None else source).get(name, "").replace("\x00", "").strip()[:max_length]


MAX_PAGE = 1000  # deeper offsets cost more than anyone reads (and a 20-digit page overflows the database)


def page_arg() -> int:
    """The ``page`` query-string value: 1 to MAX_PAGE, 1 when it is not a number."""
    return min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)


def plausible_date(form, field):
    """Validator for dates and date-times: between 2000 and 2100 (a year 1 or 9999 is a typing
    slip, and converting it between time zones would overflow)."""
    value = field.data
    day = value.date() if isinstance(value, datetime) else value
    if day and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(_l("Enter a date between 2000 and 2100."))


_FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,43}$")


def form_token(value):
    """Filter for the per-form token (``secrets.token_urlsafe(32)``): anything else is no token."""
    return value if isinstance(value, str) and _FORM_TOKEN.match(value) else None


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


TOO_LONG = _l("Use at most %(max)d characters.")  # the message of every Length(max=...) of ours


class _BabelTranslations:
    """Route WTForms' built-in messages through our catalogue (WTForms ships no Indonesian)."""

    def gettext(self, string):
        from flask_babel import gettext

        return gettext(string)

    def ngettext(self, singular, plural, n):
        # Translate only: WTForms fills in %(min)d and %(max)d itself. Flask-Babel's ngettext
        # would format with num alone and fail on the others (a 500 on any too-long field).
        from flask_babel import get_translations

        return get_translations().ngettext(singular, plural, n)


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
    """Every form of ours: CSRF from Flask-WTF, messages in the user's language, and no NUL
    character in any value (PostgreSQL refuses it in text; nobody types one)."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS

        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if formdata is None:
                return None
            items = list(formdata.items(multi=True))
            if not any(isinstance(value, str) and "\x00" in value for _, value in items):
                return formdata
            return MultiDict([(key, value.replace("\x00", "") if isinstance(value, str) else value) for key, value in items])
