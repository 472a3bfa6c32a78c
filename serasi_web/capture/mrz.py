"""ICAO Doc 9303 machine-readable zones: TD1, TD2 and TD3 documents, MRV-A and MRV-B visas.

``parse_mrz()`` reads what a person types or a keyboard-emulating passport reader sends, checks
every check digit, checks country codes against ISO 3166 / ICAO, and names fields as the guest
report form does. Look-alike characters (O/0, I/1, B/8, S/5, Z/2, G/6) are corrected where the
field's alphabet and check digit prove it (dates, check digits, country codes); for a digit in a
name or a wrong document number the fix is only suggested (see below). Every
correction is listed in the result. Written from Doc 9303 Parts 3-7 (the ``mrz`` package on PyPI
is GPL-3.0 and is not used).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from ..reference import countries

FILLER = "<"
# A look-alike fix in a document number is only *offered* (in the error message), not applied: the
# check digit says the number is wrong but not where, so a genuine letter (the C in the ICAO
# specimen L898902C3 could as well be an S) gets "fixed" when the real slip was elsewhere. With
# random single-character errors (bench/mrz_errors.py) about one applied fix in three was wrong.
AUTO_CORRECT_DOCUMENT_NUMBERS = False
_VALUES = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, FILLER: 0}
_LETTER_TO_DIGIT = str.maketrans("OIBSZG", "018526")
_DIGIT_TO_LETTER = str.maketrans("018526", "OIBSZG")
# In a document number G and 6 differ by 10, which no 7-3-1 check digit can see: never swapped there.
_NUMBER_SWAPS = str.maketrans("OIBSZ", "01852")
_NAME_PART = re.compile(r"[A-Z]+(?:<[A-Z]+)*")  # words joined by single fillers
_SEXES = {"M": "M", "F": "F", "<": "X", "X": "X"}

_CHECK_FAILED = {
    "document_number": _l("The check digit of the document number does not match."),
    "date_of_birth": _l("The check digit of the date of birth does not match."),
    "document_expiry": _l("The check digit of the expiry date does not match."),
    "optional_data": _l("The check digit of the optional data does not match."),
    "composite": _l("The composite check digit at the end of line 2 does not match."),
}
_NOT_A_DATE = {
    "date_of_birth": _l("The date of birth is not a valid date."),
    "document_expiry": _l("The expiry date is not a valid date."),
}
_BAD_NUMBER = _l("The document number is not valid.")
_NAME_CHARACTERS = _l("The name may contain only letters and the filler character <.")
_NAME_LAYOUT = _l("The name field has stray characters or fillers.")
_NAME_UNSURE = _l("Some letters of this name were hard to read in the photo: compare it letter by letter with the document.")
_NAME_FITTED = _l("A letter of this name may be missing or doubled in the photo's reading: compare it letter by letter with the document.")
_NUMBER_CORRECTED = _l("A character of this number was corrected to make its check digit hold, which not every misreading "
                       "can be told by: compare the number with the document.")


class MRZFormatError(ValueError):
    """The text is not an MRZ: wrong number of lines, wrong line lengths or foreign characters."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Layout:
    """Where each field lies in the lines joined into one string (0-based, end exclusive).

    A field with a check digit has it right after its last character."""

    kind: str
    code_first: str  # allowed first characters of the document code
    name: tuple[int, int]
    number: tuple[int, int]
    nationality: tuple[int, int]
    birth: tuple[int, int]
    sex: int
    expiry: tuple[int, int]
    optional: tuple[tuple[int, int], ...]
    optional_check: int | None = None  # TD3 only
    composite: int | None = None  # visas have none
    composite_spans: tuple[tuple[int, int], ...] = ()
    long_numbers: bool = False  # TD1/TD2: a '<' check digit means the number continues in the optional data


def _two_lines(kind: str, width: int, code_first: str, optional_end: int, **checks: Any) -> _Layout:
    b = width  # line 2 starts here
    return _Layout(kind, code_first, name=(5, width), number=(b, b + 9), nationality=(b + 10, b + 13),
                   birth=(b + 13, b + 19), sex=b + 20, expiry=(b + 21, b + 27), optional=((b + 28, b + optional_end),), **checks)


_LAYOUTS = {
    "TD3": _two_lines("TD3", 44, "P", 42, optional_check=86, composite=87, composite_spans=((44, 54), (57, 64), (65, 87))),
    "MRVA": _two_lines("MRVA", 44, "V", 44),
    "TD2": _two_lines("TD2", 36, "ACI", 35, composite=71, composite_spans=((36, 46), (49, 56), (57, 71)), long_numbers=True),
    "MRVB": _two_lines("MRVB", 36, "V", 36),
    # TD1: number and optional data on line 1, dates, sex and nationality on line 2, the name on line 3.
    "TD1": _Layout("TD1", "ACI", name=(60, 90), number=(5, 14), nationality=(45, 48), birth=(30, 36), sex=37,
                   expiry=(38, 44), optional=((15, 30), (48, 59)), composite=59,
                   composite_spans=((5, 30), (30, 37), (38, 45), (48, 59)), long_numbers=True),
}


def check_digit(s: str) -> int:
    """The Doc 9303 check digit of ``s``: weights 7, 3, 1 repeating; '<' = 0, A-Z = 10-35."""
    try:
        return sum(_VALUES[ch] * (7, 3, 1)[i % 3] for i, ch in enumerate(s)) % 10
    except KeyError as error:
        raise ValueError(f"{error.args[0]!r} cannot appear in an MRZ") from None


@dataclass(frozen=True)
class MRZResult:
    """What the MRZ says. A field listed in ``errors`` failed a check: show it, never trust it."""

    kind: str  # "TD1", "TD2", "TD3", "MRVA" or "MRVB"
    document_code: str  # "P", "ID", "V", ... (trailing filler removed)
    surname: str
    given_names: str
    sex: str  # "M", "F", "X" ("" when unreadable)
    date_of_birth: date | None
    nationality: str
    document_number: str  # for visas: the visa number
    issuing_state: str
    document_expiry: date | None
    optional_data: str
    errors: dict[str, Any] = field(default_factory=dict)  # field -> lazy message
    # (field, as read, corrected): the field's MRZ characters followed by its check digit, if it has one
    corrections: tuple[tuple[str, str, str], ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def is_visa(self) -> bool:
        return self.kind in ("MRVA", "MRVB")

    @property
    def document_type(self) -> str:
        return "passport" if self.document_code.startswith("P") else "other"

    def form_values(self) -> dict[str, Any]:
        """Report-form values for the fields read without error (a failed field is left out, not guessed).

        Surname and given names go together: an error in one may come from a misplaced '<<'."""
        values = {name: getattr(self, name) for name in ("surname", "given_names", "sex", "date_of_birth", "nationality")}
        if self.is_visa:  # a visa's number and validity are the permit's, not the passport's
            values.update(permit_number=self.document_number, permit_valid_until=self.document_expiry)
            source = {"permit_number": "document_number", "permit_valid_until": "document_expiry"}
        else:
            values.update(document_type=self.document_type, document_number=self.document_number,
                          issuing_state=self.issuing_state, document_expiry=self.document_expiry)
            source = {"document_type": "document_code"}
        if self.errors.keys() & {"surname", "given_names"}:
            source.update(surname="name", given_names="name")
            errors = {**self.errors, "name": True}
        else:
            errors = self.errors
        return {name: value for name, value in values.items() if source.get(name, name) not in errors and value is not None}


def parse_mrz(text: str, today: date | None = None) -> MRZResult:
    """Parse the 2 or 3 MRZ lines in ``text`` (case, surrounding whitespace, blank lines and CRLF don't matter).

    Raises MRZFormatError when the text is not an MRZ. Field problems (check digits, dates, codes,
    names) do not raise: they are in ``result.errors``, and the other fields are still read.
    """
    lines = [line.strip().upper() for line in text.splitlines() if line.strip()]
    layout = _layout_of(lines)
    return _Reader(layout, "".join(lines), today or date.today()).result()


def _layout_of(lines: list[str]) -> _Layout:
    """The format, from the line count, the line lengths and the first character."""
    count, lengths = len(lines), {len(line) for line in lines}
    widths = {44: 2, 36: 2, 30: 3}  # line length -> line count
    if len(lengths) == 1 and (length := lengths.pop()) in widths and widths[length] != count:
        raise MRZFormatError(_l("An MRZ with lines of %(length)d characters has %(expected)d lines; found %(count)d.",
                                length=length, expected=widths[length], count=count))
    if count not in (2, 3):
        raise MRZFormatError(_l("An MRZ has 2 or 3 lines; found %(count)d.", count=count))
    for number, line in enumerate(lines, 1):
        if bad := next((ch for ch in line if ch not in _VALUES), None):
            if bad.isspace():
                raise MRZFormatError(_l("Line %(line)d contains a space; an MRZ has none (blanks are <).", line=number))
            raise MRZFormatError(_l("Line %(line)d contains %(char)s; an MRZ has only A-Z, 0-9 and <.", line=number, char=bad))
    if count == 3:
        expected = 30
    else:  # trust a line that has a valid length; else the length nearest to line 1's
        valid = [len(line) for line in lines if len(line) in (44, 36)]
        expected = valid[0] if valid else min((44, 36), key=lambda width: abs(width - len(lines[0])))
    for number, line in enumerate(lines, 1):
        if len(line) != expected:
            raise MRZFormatError(_l("Line %(line)d has %(length)d characters; expected %(expected)d.",
                                    line=number, length=len(line), expected=expected))
    visa = lines[0][0] == "V"
    if count == 3:
        return _LAYOUTS["TD1"]
    if expected == 44:
        return _LAYOUTS["MRVA" if visa else "TD3"]
    return _LAYOUTS["MRVB" if visa else "TD2"]


class _Reader:
    """Reads the fields of one MRZ, collecting errors and the corrections it could prove."""

    def __init__(self, layout: _Layout, mrz: str, today: date):
        self.layout, self.chars, self.today = layout, list(mrz), today
        self.errors: dict[str, Any] = {}
        self.corrections: list[tuple[str, str, str]] = []

    def text(self, start: int, end: int) -> str:
        return "".join(self.chars[start:end])

    def correct(self, name: str, start: int, before: str, after: str) -> None:
        self.chars[start:start + len(after)] = after  # later checks (the composite) see the corrected text
        self.corrections.append((name, before, after))

    def result(self) -> MRZResult:
        layout = self.layout
        code = self.text(0, 2)
        if code[0] not in layout.code_first or not (code[1].isalpha() or code[1] == FILLER):
            self.errors["document_code"] = _l("Unknown document code %(code)s.", code=code)
        # Dates first: their letter-to-digit fixes must be in place before the document number's composite test.
        birth = self.date("date_of_birth", *layout.birth)
        expiry = self.date("document_expiry", *layout.expiry)
        number, optional_spans = self.document_number()
        if layout.optional_check is not None:
            self.optional_check(*optional_spans[0])
        # The composite is only worth reporting when every field's own check digit held; otherwise it repeats that error.
        if (layout.composite is not None and not self.errors.keys() & _CHECK_FAILED.keys()
                and self.checked("composite", layout.composite, layout.composite, self.composite_text()) is None):
            self.errors["composite"] = _CHECK_FAILED["composite"]
        surname, given_names = self.name()
        sex = self.sex()
        nationality, issuing_state = self.country("nationality", *layout.nationality), self.country("issuing_state", 2, 5)
        optional = " ".join(part for a, b in optional_spans if (part := self.text(a, b).strip(FILLER)))
        return MRZResult(
            kind=layout.kind, document_code=code.rstrip(FILLER), surname=surname, given_names=given_names, sex=sex,
            date_of_birth=birth, nationality=nationality, document_number=number, issuing_state=issuing_state,
            document_expiry=expiry, optional_data=optional, errors=self.errors, corrections=tuple(self.corrections))

    def checked(self, name: str, start: int, check: int, value: str | None = None) -> str | None:
        """``value`` (default: chars[start:check]) if the check digit at ``check`` holds, else None.

        A letter where the check digit should be is read as its look-alike digit; that fix is
        kept only if the digit then holds."""
        value = self.text(start, check) if value is None else value
        digit = self.chars[check].translate(_LETTER_TO_DIGIT)
        if not digit.isdigit() or check_digit(value) != int(digit):
            return None
        if digit != self.chars[check]:
            shown = "" if name == "composite" else value.rstrip(FILLER) if name == "document_number" else value
            self.corrections.append((name, shown + self.chars[check], shown + digit))
            self.chars[check] = digit
        return value

    def date(self, name: str, start: int, end: int) -> date | None:
        raw = self.text(start, end + 1)
        if raw[:6] == FILLER * 6 and raw[6] in "<0":  # Doc 9303: an unknown date is all fillers
            return None
        digits = raw.translate(_LETTER_TO_DIGIT)  # a date has only digits, so a letter can only be a look-alike
        if not digits.isdigit():
            self.errors[name] = _NOT_A_DATE[name]
            return None
        if check_digit(digits[:6]) != int(digits[6]):
            self.errors[name] = _CHECK_FAILED[name]
            return None
        if digits != raw:
            self.correct(name, start, raw, digits)
        yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
        # Birth: the latest century that does not put the date in the future. Expiry: always 20YY.
        for year in ((2000 + yy, 1900 + yy) if name == "date_of_birth" else (2000 + yy,)):
            try:
                value = date(year, mm, dd)
            except ValueError:
                continue
            if name != "date_of_birth" or value <= self.today:
                return value
        self.errors[name] = _NOT_A_DATE[name]
        return None

    def document_number(self) -> tuple[str, tuple[tuple[int, int], ...]]:
        """The document number (a long TD1/TD2 number included) and the optional-data spans left after it."""
        lo, (start, end) = self.layout, self.layout.number
        positions, check, spans = list(range(start, end)), end, lo.optional
        if lo.long_numbers and self.chars[end] == FILLER and self.chars[spans[0][0]] != FILLER:
            # Doc 9303: 9 characters, '<' instead of the check digit, then the rest, its check digit and a '<'
            # at the start of the optional data.
            o_start, o_end = spans[0]
            rest = self.text(o_start, o_end).split(FILLER)[0]
            positions += range(o_start, o_start + len(rest) - 1)
            check = o_start + len(rest) - 1
            spans = ((min(o_start + len(rest) + 1, o_end), o_end),) + spans[1:]
            if len(rest) < 2:
                self.errors["document_number"] = _BAD_NUMBER
        number = "".join(self.chars[p] for p in positions).rstrip(FILLER)
        if "document_number" in self.errors:
            return number, spans
        if not number or FILLER in number:  # a filler inside a number is a misread; '<' = '0' to the check digit
            self.errors["document_number"] = _BAD_NUMBER
            return number, spans
        if self.checked("document_number", start, check, number.ljust(len(positions), FILLER)) is not None:
            return number, spans
        fixed = self.unique_number_fix(number, positions, check)
        if fixed is None:
            self.errors["document_number"] = _CHECK_FAILED["document_number"]
            return number, spans
        if not AUTO_CORRECT_DOCUMENT_NUMBERS:
            self.errors["document_number"] = _l("The check digit of the document number does not match. Is it %(number)s?",
                                                number=fixed)
            return number, spans
        before = number + self.chars[check]
        for p, ch in zip(positions, fixed):
            self.chars[p] = ch
        self.chars[check] = str(check_digit(fixed.ljust(len(positions), FILLER)))
        self.corrections.append(("document_number", before, fixed + self.chars[check]))
        return fixed, spans

    def unique_number_fix(self, number: str, positions: list[int], check: int) -> str | None:
        """The one look-alike letter-to-digit fix that makes the check digit and the composite hold, if exactly one does.

        Only letters after the number's first digit are tried: numbers start with their letters, if
        any, and a letter among the digits is the usual slip. The composite must hold as a second
        witness (without it a misread check digit explains the failure as well), so visas get no fix."""
        digit = self.chars[check].translate(_LETTER_TO_DIGIT)
        first_digit = next((i for i, ch in enumerate(number) if ch.isdigit()), len(number))
        spots = [i for i in range(first_digit + 1, len(number)) if number[i] in "OIBSZ"]
        if self.layout.composite is None or not digit.isdigit() or not spots or len(spots) > 6:
            return None
        found = []
        for size in range(1, len(spots) + 1):
            for subset in itertools.combinations(spots, size):
                candidate = "".join(ch.translate(_NUMBER_SWAPS) if i in subset else ch for i, ch in enumerate(number))
                padded = candidate.ljust(len(positions), FILLER)
                if check_digit(padded) == int(digit) and self.composite_holds(dict(zip(positions, padded)) | {check: digit}):
                    found.append(candidate)
                    if len(number) - 1 in subset and number[-1] == "O":
                        found.append(candidate[:-1])  # a final 0 and a final '<' weigh the same: shorter number?
        return found[0] if len(found) == 1 else None

    def composite_text(self, overrides: dict[int, str] | None = None) -> str:
        overrides = overrides or {}
        return "".join(overrides.get(p, self.chars[p]) for a, b in self.layout.composite_spans for p in range(a, b))

    def composite_holds(self, overrides: dict[int, str]) -> bool:
        digit = self.chars[self.layout.composite].translate(_LETTER_TO_DIGIT)
        return digit.isdigit() and check_digit(self.composite_text(overrides)) == int(digit)

    def optional_check(self, start: int, end: int) -> None:
        # TD3: an unused optional data field may carry '<' instead of a check digit.
        if self.text(start, end) == FILLER * (end - start) and self.chars[end] in "<0":
            return
        if self.checked("optional_data", start, end) is None:
            self.errors["optional_data"] = _CHECK_FAILED["optional_data"]

    def country(self, name: str, start: int, end: int) -> str:
        raw = self.text(start, end)
        code = raw.rstrip(FILLER)  # Germany is "D<<"
        digits = [i for i, ch in enumerate(raw) if ch.isdigit()]
        if digits and len(digits) <= 2 and all(raw[i] in "018526" for i in digits):
            # A digit is a look-alike letter only if no other letter (or '<') there would make a
            # known code: 'AU5' stays an error, as it could be AUS or AUT.
            known = set()
            for letters in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ<", repeat=len(digits)):
                candidate = list(raw)
                for i, letter in zip(digits, letters):
                    candidate[i] = letter
                if countries.is_known(option := "".join(candidate).rstrip(FILLER)):
                    known.add(option)
            mapped = raw.translate(_DIGIT_TO_LETTER)
            if known == {mapped.rstrip(FILLER)}:
                self.correct(name, start, raw, mapped)
                code = mapped.rstrip(FILLER)
        if not countries.is_known(code):
            shown = code or raw
            self.errors[name] = (_l("Unknown nationality code %(code)s.", code=shown) if name == "nationality"
                                 else _l("Unknown issuing state code %(code)s.", code=shown))
        return code

    def sex(self) -> str:
        ch = self.chars[self.layout.sex]
        if ch not in _SEXES:
            self.errors["sex"] = _l("The sex must be M, F or <.")
            return ""
        return _SEXES[ch]

    def name(self) -> tuple[str, str]:
        """Surname and given names: '<<' between them, '<' between words, filler at the end."""
        start, end = self.layout.name
        raw = self.text(start, end).rstrip(FILLER)
        suggested = ("", "")
        if any(ch.isdigit() for ch in raw):
            # Names have no check digit, so nothing can prove what a digit should be: the
            # look-alike letter is offered to the person, never filled in silently.
            mapped = raw.translate(_DIGIT_TO_LETTER)
            if not any(ch.isdigit() for ch in mapped) and _name_layout_ok(mapped):
                mapped_surname, _, mapped_given = mapped.partition("<<")
                suggested = (mapped_surname.replace(FILLER, " "), mapped_given.replace(FILLER, " "))
        surname, _, given = raw.partition("<<")
        for part_name, part, suggestion in (("surname", surname, suggested[0]), ("given_names", given, suggested[1])):
            if any(ch.isdigit() for ch in part):
                self.errors[part_name] = (_l("The name contains a digit. Is it %(name)s?", name=suggestion)
                                          if suggestion else _NAME_CHARACTERS)
            elif not (_NAME_PART.fullmatch(part) or part_name == "given_names" and not part):
                self.errors[part_name] = _NAME_LAYOUT
        return surname.replace(FILLER, " "), given.replace(FILLER, " ")


def _name_layout_ok(name: str) -> bool:
    surname, _, given = name.partition("<<")
    return bool(_NAME_PART.fullmatch(surname)) and (not given or bool(_NAME_PART.fullmatch(given)))



# What OCR confuses in OCR-B: each character with the ones it may have been printed as. '<' is
# read as K or C, and G/6 (and '<'/K) weigh the same to a check digit: such a swap is never proven.
OCR_LOOKALIKES = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S", "Z": "2", "2": "Z",
                  "G": "6", "6": "G", "K": "<", "C": "<", "D": "0"}
_MAX_GUESSES = 4096


def repair_by_check_digits(lines: list[str]) -> list[str]:
    """OCR'd MRZ lines with each check-digit field read as the one look-alike combination whose
    check digit holds (for TD1/TD2/TD3 the composite must hold too, as a second witness).

    For a photo, not for typed text: a look-alike is an OCR slip, not a person's choice. A field
    whose check digit holds as read is kept; a field that no combination, or more than one with
    the fewest changes, satisfies is left as read, so the parser reports it at its field. Nothing
    else is changed, except fillers read as K or C inside a run of fillers after the name (a name
    cannot have '<<' on both sides of a letter) and a digit in a country code whose look-alike
    letter makes a known code (0 -> O: K0R is KOR, not KHR), and a digit in the name read as its
    look-alike letter (a name has no digits; one without a look-alike is left for the parser to report). Lines that are no MRZ come back unchanged.
    """
    try:
        layout = _layout_of([line.upper() for line in lines])
    except MRZFormatError:
        return lines
    chars = list("".join(line.upper() for line in lines))
    before = chars[:]
    fields = [(layout.number, True), (layout.birth, False), (layout.expiry, False)]
    if layout.optional_check is not None:
        fields.append(((layout.optional[0][0], layout.optional_check), True))
    changed_free_text = False
    for (start, end), alphanumeric in fields:
        choice = _only_choice(chars[start:end], chars[end], alphanumeric)
        if choice is not None:
            value, digit = choice
            changed_free_text |= alphanumeric and value != "".join(chars[start:end])
            chars[start:end], chars[end] = list(value), digit
    if layout.composite is not None and changed_free_text:
        composite = "".join(chars[p] for a, b in layout.composite_spans for p in range(a, b))
        digit = chars[layout.composite].translate(_LETTER_TO_DIGIT)
        if not digit.isdigit() or check_digit(composite) != int(digit):
            # A changed number or optional data is proven by its own check digit only one time in
            # ten against chance: without the composite's agreement, keep what was read.
            for (start, end), alphanumeric in fields:
                if alphanumeric:
                    chars[start:end + 1] = before[start:end + 1]
    for start, end in (layout.nationality, (2, 5)):
        code = "".join(chars[start:end])
        if not countries.is_known(code.rstrip(FILLER)) and any(ch.isdigit() for ch in code):
            # A digit in a country code is an OCR slip; its look-alike letter is taken when that is a known code.
            letters = "".join(OCR_LOOKALIKES.get(ch, ch) if ch.isdigit() else ch for ch in code)
            if countries.is_known(letters.rstrip(FILLER)):
                chars[start:end] = list(letters)
    name_start, name_end = layout.name
    name = "".join(chars[name_start:name_end])
    name = re.sub(r"(?<=<<)[KC](?=<<|<?$)", "<", name)
    # A name has only letters: a digit in it is the OCR reading of its look-alike (0 for O, 2 for Z).
    name = "".join(OCR_LOOKALIKES.get(ch, ch) if ch.isdigit() and ch in OCR_LOOKALIKES else ch for ch in name)
    name = re.sub(r"(?<=<<)[KC](?=<<|<?$)", "<", name)  # overlapping runs: a second pass
    chars[name_start:name_end] = list(name)
    joined, out, at = "".join(chars), [], 0
    for line in lines:
        out.append(joined[at:at + len(line)])
        at += len(line)
    return out


def choose_name_fillers(lines: list[str], offered: set[tuple[int, int]]) -> list[str]:
    """OCR'd MRZ ``lines`` with letters of the name field read as fillers where the recogniser
    offered a filler for them (``offered``: (line, column) of letters whose runner-up was '<')
    and the name's ICAO 9303 layout says a filler stands there. Never a letter the recogniser
    did not offer '<' for, and nothing outside the name field.

    - **Filler tail**: a name ends in fillers up to the end of its field. Letters standing in
      that run (after the last word that has a letter not offered as '<'), every one of them
      offered as '<', are fillers: ``BENJAMIN<K<<<<`` is ``BENJAMIN``, ``PAUL<<<<<KK`` is
      ``PAUL``. A letter joined to that last word stays (``MARIAK`` is a word).
    - **Separator**: surname and given names are parted by ``<<``. A name read without one,
      where exactly one offered letter next to a single '<' would make it (``ROSSIK<MATEO``),
      is read with it (``ROSSI<<MATEO``): nearly every name has given names.

    In OCR-B, '<' and K are the recogniser's commonest confusion; on 200 photos of another
    corpus seed, every K read for a '<' had '<' as runner-up at >= 0.08 and no letter read right
    had it at >= 0.05. A changed letter next to a name part still warns it (``name_warnings``).
    """
    try:
        layout = _layout_of([line.upper() for line in lines])
    except MRZFormatError:
        return lines
    start, end = layout.name
    width = len(lines[0])
    chars = list("".join(lines).upper())
    name_offered = {row * width + column - start for row, column in offered} & set(range(end - start))
    name = chars[start:end]
    # Filler tail: walk back over fillers and offered letters, then forward to the end of the
    # word the walk stopped in (its letters belong to it).
    tail = len(name)
    while tail > 0 and (name[tail - 1] == FILLER or tail - 1 in name_offered):
        tail -= 1
    while tail < len(name) and name[tail] != FILLER:
        tail += 1
    if tail > 0:
        for at in range(tail, len(name)):
            if at in name_offered:
                name[at] = FILLER
    core = "".join(name).rstrip(FILLER)
    if "<<" not in core:
        options = []
        for at in sorted(name_offered):
            if at >= len(core) or core[at] == FILLER:
                continue
            option = core[:at] + FILLER + core[at + 1:]
            if "<<" in option and _name_layout_ok(option):
                options.append(at)
        if len(options) == 1:
            name[options[0]] = FILLER
    chars[start:end] = name
    joined, out, at = "".join(chars), [], 0
    for line in lines:
        out.append(joined[at:at + len(line)])
        at += len(line)
    return out


def _only_choice(value: list[str], check: str, alphanumeric: bool) -> tuple[str, str] | None:
    """The fewest look-alike changes to ``value`` + ``check`` that make the check digit hold, if unique."""
    check_options = [check] if check.isdigit() else [ch for ch in (OCR_LOOKALIKES.get(check, ""),) if ch.isdigit()]
    if alphanumeric:
        options = [[ch] + ([OCR_LOOKALIKES[ch]] if ch in OCR_LOOKALIKES else []) for ch in value]
    else:  # a date: digits only, so a letter can only be its look-alike digit
        options = [[ch] if ch.isdigit() else [d for d in OCR_LOOKALIKES.get(ch, "") if d.isdigit()] for ch in value]
    if not check_options or any(not option for option in options):
        return None
    spots = [i for i, option in enumerate(options) if len(option) > 1]
    if 2 ** len(spots) > _MAX_GUESSES:
        return None
    base = [option[0] for option in options]
    for changes in range(len(spots) + 1):
        found = set()
        for subset in itertools.combinations(spots, changes):
            candidate = base[:]
            for i in subset:
                candidate[i] = options[i][1]
            text = "".join(candidate)
            if _FILLER_INSIDE.search(text.rstrip(FILLER)) and alphanumeric:
                continue  # fillers only pad the end of a number
            for digit in check_options:
                if check_digit(text) == int(digit):
                    found.add((text, digit))
        if found:
            return found.pop() if len(found) == 1 else None
    return None


_FILLER_INSIDE = re.compile(re.escape(FILLER))


def corrected_number_warnings(read: list[str], chosen: list[str]) -> dict[str, Any]:
    """A warning for the document (or visa) number when the check-digit-guided choice changed it.

    The number's check digit holds for the changed number as it does for the true one, and the
    composite is no second witness for it: the number is the composite's first field, under the
    same 7-3-1 weights, so a change that makes one hold makes the other hold too (X7439547 read
    as X7449547 is "repaired" to X7449S47, and both digits agree). Dates have no such problem:
    a changed date must also be a real date, and the warning would be noise there."""
    try:
        layout = _layout_of([line.upper() for line in chosen])
    except MRZFormatError:
        return {}
    start, end = layout.number
    if "".join(read).upper()[start:end + 1] == "".join(chosen).upper()[start:end + 1]:
        return {}
    return {"document_number": _NUMBER_CORRECTED, "permit_number": _NUMBER_CORRECTED}  # a visa's number is the permit's


def name_warnings(lines: list[str], doubtful: set[tuple[int, int]], fitted: set[tuple[int, int]]) -> dict[str, Any]:
    """Warnings for the surname and given names of OCR'd MRZ ``lines`` (a name has no check digit).

    ``doubtful``: (line, column) of characters the recogniser was unsure of or that were changed
    after reading; such a character warns the name part it is in (a filler between the parts
    warns both; one just after the name, the last part). ``fitted``: characters of a filler run
    resized to bring the line to length, which hides a dropped or doubled letter anywhere in
    the line: inside the name field it warns both parts."""
    try:
        layout = _layout_of([line.upper() for line in lines])
    except MRZFormatError:
        return {}
    start, end = layout.name
    width = len(lines[0])
    name = "".join(lines).upper()[start:end]
    surname, separator, given = name.rstrip(FILLER).partition("<<")
    used = len(surname) + len(separator) + len(given)
    warnings: dict[str, Any] = {}
    for row, column in sorted(doubtful | fitted):
        at = row * width + column - start
        if not 0 <= at < end - start:
            continue
        if (row, column) in fitted:
            parts, message = ("surname", "given_names"), _NAME_FITTED
        elif at < len(surname):
            parts, message = ("surname",), _NAME_UNSURE
        elif separator and at < len(surname) + 2:
            parts, message = ("surname", "given_names"), _NAME_UNSURE
        elif at < used + 2:
            parts, message = ("given_names" if separator else "surname",), _NAME_UNSURE
        else:
            continue  # deep in the filler run at the end: no letter of the name is in doubt
        for part in parts:
            if warnings.get(part) is not _NAME_FITTED:
                warnings[part] = message
    return warnings
