"""The Indonesian national identity number (NIK, Nomor Induk Kependudukan) of a private host.

Sixteen digits: province (2), regency (2), district (2), birth date as DDMMYY with 40 added to the
day for women (6), then a serial (4). We check what can be checked without Dukcapil: the digits,
a province that exists and a birth date that exists; the number itself stays a claim of the host.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l

from ..reference import regions

NIK_PATTERN = re.compile(r"^[0-9]{16}$")  # ASCII digits only: str.isdigit() accepts "١٢٣"


def nik_problem(value: str):
    """None when ``value`` looks like a real NIK, else the message to show at the field."""
    if not NIK_PATTERN.match(value or ""):
        return _l("The NIK has 16 digits, as on the KTP.")
    province = regions.get(value[:2])
    if province is None or province.level != regions.LEVEL_PROVINCE:
        return _l("The first two digits of a NIK are a province code; check the number on the KTP.")
    day, month = int(value[6:8]), int(value[8:10])
    if day > 40:  # women: the day of birth plus 40
        day -= 40
    try:
        date(2000, month, day)  # a leap year: 29 February is a real birthday
    except ValueError:
        return _l("Digits 7 to 12 of a NIK are the date of birth; check the number on the KTP.")
    if value[12:] == "0000":
        return _l("The last four digits of a NIK are never 0000; check the number on the KTP.")
    return None

