"""ICAO Doc 9303 MRZ parsing: formats, check digits, look-alike corrections, form values.

Valid MRZs are built here with a check-digit helper of our own (not the parser's), or copied
from the specimens published in Doc 9303.
"""
from dataclasses import FrozenInstanceError
from datetime import date

import pytest
from flask_babel import LazyString

from serasi_web.capture import mrz
from serasi_web.capture.mrz import MRZFormatError, MRZResult, check_digit, parse_mrz

TODAY = date(2026, 6, 1)
ICAO_TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
ICAO_TD1_LONG_NUMBER = "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<"
ICAO_TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
ICAO_MRVA = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<"
ICAO_MRVB = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<"
GERMAN_ID = "IDD<<T220001293<<<<<<<<<<<<<<<\n6408125<2010315D<<<<<<<<<<<<<4\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<"
LOOK_ALIKE = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}


def cd(text: str) -> str:
    """Our own check digit: 7-3-1 weights, '<' = 0, A = 10 ... Z = 35."""
    total = 0
    for i, ch in enumerate(text):
        value = 0 if ch == "<" else int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


def two_lines(kind="TD3", code=None, state="AUS", name="CITIZEN<<JANE<ANN", number="PA1234567", nationality=None,
              birth="850315", sex="F", expiry="300101", optional=""):
    """A valid TD3, TD2, MRV-A or MRV-B."""
    width = 44 if kind in ("TD3", "MRVA") else 36
    code = code or {"TD3": "P<", "TD2": "I<"}.get(kind, "V<")
    room = {"TD3": 14, "TD2": 7, "MRVA": 16, "MRVB": 8}[kind]
    number, optional = number.ljust(9, "<"), optional.ljust(room, "<")
    line1 = (code + state.ljust(3, "<") + name).ljust(width, "<")
    body = (number + cd(number) + (nationality or state).ljust(3, "<") + birth + cd(birth) + sex + expiry + cd(expiry)
            + optional)
    if kind == "TD3":
        body += cd(optional) if optional.strip("<") else "<"
    if kind in ("TD3", "TD2"):
        body += cd(body[0:10] + body[13:20] + body[21:])
    assert len(line1) == len(body) == width
    return line1 + "\n" + body


def td1(code="ID", state="D", number="T22000129", optional1="", birth="640812", sex="F", expiry="310131",
        nationality=None, optional2="", name="MUSTERMANN<<ERIKA"):
    if len(number) > 9:  # Doc 9303: '<' instead of the check digit, the rest in the optional data
        numbers = number[:9] + "<" + number[9:] + cd(number) + "<"
    else:
        numbers = number.ljust(9, "<") + cd(number.ljust(9, "<"))
    line1 = (code + state.ljust(3, "<") + numbers + optional1).ljust(30, "<")
    line2 = birth + cd(birth) + sex + expiry + cd(expiry) + (nationality or state).ljust(3, "<") + optional2.ljust(11, "<")
    line2 += cd(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return line1 + "\n" + line2 + "\n" + name.ljust(30, "<")


def put(text: str, line: int, column: int, ch: str) -> str:
    """``text`` with ``ch`` at ``line``/``column`` (1-based, as Doc 9303 counts)."""
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1][:column - 1] + ch + lines[line - 1][column:]
    return "\n".join(lines)


def at(text: str, line: int, column: int) -> str:
    return text.split("\n")[line - 1][column - 1]


def bump(text: str, line: int, column: int) -> str:
    """``text`` with the digit at ``line``/``column`` changed to the next digit."""
    return put(text, line, column, str((int(at(text, line, column)) + 1) % 10))


def parse(text: str) -> MRZResult:
    return parse_mrz(text, today=TODAY)


# ---- check digits and the published specimens -----------------------------------------------

@pytest.mark.parametrize("text, digit", [
    ("L898902C3", 6), ("740812", 2), ("120415", 9), ("ZE184226B<<<<<", 1), ("D23145890734", 9),
    ("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1", 0), ("<<<<<<", 0),
])
def test_check_digit(text, digit):
    assert check_digit(text) == digit == int(cd(text))


def test_check_digit_rejects_characters_outside_the_mrz_alphabet():
    with pytest.raises(ValueError):
        check_digit("AB-12")


def test_icao_td3_specimen_reads_but_uto_is_not_a_real_country():
    result = parse(ICAO_TD3)
    assert (result.kind, result.document_code, result.document_type) == ("TD3", "P", "passport")
    assert (result.surname, result.given_names, result.sex) == ("ERIKSSON", "ANNA MARIA", "F")
    assert (result.date_of_birth, result.document_expiry) == (date(1974, 8, 12), date(2012, 4, 15))
    assert (result.document_number, result.optional_data) == ("L898902C3", "ZE184226B")
    assert (result.nationality, result.issuing_state) == ("UTO", "UTO")
    # Every check digit holds; only the fictional country code is reported, on both fields.
    assert set(result.errors) == {"nationality", "issuing_state"} and not result.valid
    assert str(result.errors["nationality"]) == "Unknown nationality code UTO."
    assert str(result.errors["issuing_state"]) == "Unknown issuing state code UTO."
    assert result.corrections == ()
    values = result.form_values()
    assert "nationality" not in values and "issuing_state" not in values
    assert values["document_number"] == "L898902C3" and values["date_of_birth"] == date(1974, 8, 12)


@pytest.mark.parametrize("text, kind, number", [
    (ICAO_TD1_LONG_NUMBER, "TD1", "D23145890734"), (ICAO_TD2, "TD2", "D23145890"),
    (ICAO_MRVA, "MRVA", "L8988901C"), (ICAO_MRVB, "MRVB", "L8988901C"),
])
def test_other_icao_specimens_hold_every_check_digit(text, kind, number):
    result = parse(text)
    assert result.kind == kind and result.document_number == number
    assert set(result.errors) <= {"nationality", "issuing_state"}  # UTO again; visas are for XXX (unspecified)
    assert "issuing_state" in result.errors


def test_german_id_card_specimen():
    result = parse(GERMAN_ID)
    assert result.valid and result.kind == "TD1" and result.document_code == "ID"
    assert (result.issuing_state, result.nationality, result.sex) == ("D", "D", "X")  # 'D<<' and '<'
    assert (result.surname, result.given_names, result.document_number) == ("MUSTERMANN", "ERIKA", "T22000129")
    assert result.date_of_birth == date(1964, 8, 12) and result.document_type == "other"


# ---- valid documents of each format ---------------------------------------------------------

def test_td3_passport_with_a_real_country_is_valid():
    result = parse(two_lines(optional="1234567890"))
    assert result.valid and result.kind == "TD3" and result.optional_data == "1234567890"
    assert result.form_values() == {
        "surname": "CITIZEN", "given_names": "JANE ANN", "sex": "F", "date_of_birth": date(1985, 3, 15),
        "nationality": "AUS", "document_type": "passport", "document_number": "PA1234567", "issuing_state": "AUS",
        "document_expiry": date(2030, 1, 1)}


def test_td1_id_card_with_long_document_number():
    result = parse(td1(number="T2200012345X", optional1="AB12", optional2="ZZ9"))
    assert result.valid and result.document_number == "T2200012345X" and result.optional_data == "AB12 ZZ9"


def test_td1_optional_data_is_covered_only_by_the_composite():
    text = td1(optional1="AB12")
    result = parse(put(text, 1, 16, "C"))
    assert set(result.errors) == {"composite"} and "document_number" in result.form_values()


def test_td2_document():
    result = parse(two_lines("TD2", code="ID", state="FRA", number="X4RTBPFW4", optional="12"))
    assert result.valid and (result.kind, result.document_code, result.document_type) == ("TD2", "ID", "other")
    assert result.document_number == "X4RTBPFW4" and result.optional_data == "12"


@pytest.mark.parametrize("kind", ["MRVA", "MRVB"])
def test_visas_map_to_the_permit_fields(kind):
    result = parse(two_lines(kind, state="IDN", nationality="NLD", number="C1234567", expiry="261231"))
    assert result.valid and result.kind == kind and result.is_visa and result.document_number == "C1234567"
    assert result.form_values() == {
        "surname": "CITIZEN", "given_names": "JANE ANN", "sex": "F", "date_of_birth": date(1985, 3, 15),
        "nationality": "NLD", "permit_number": "C1234567", "permit_valid_until": date(2026, 12, 31)}
    assert not parse(two_lines()).is_visa


def test_visas_have_no_composite_and_no_optional_data_check_digit():
    text = two_lines("MRVA", optional="ABC123")
    result = parse(put(text, 2, 44, "7"))  # in a passport this would be the composite
    assert result.valid and result.optional_data == "ABC123<<<<<<<<<7"


# ---- check digit failures land on the right field -------------------------------------------

@pytest.mark.parametrize("text, line, column, field", [
    (two_lines(optional="1234"), 2, 10, "document_number"),
    (two_lines(optional="1234"), 2, 20, "date_of_birth"),
    (two_lines(optional="1234"), 2, 28, "document_expiry"),
    (two_lines(optional="1234"), 2, 43, "optional_data"),
    (two_lines(optional="1234"), 2, 44, "composite"),
    (two_lines(optional="1234"), 2, 3, "document_number"),  # a digit of the number itself
    (two_lines(optional="1234"), 2, 16, "date_of_birth"),
    (two_lines(optional="1234"), 2, 30, "optional_data"),
    (td1(), 1, 15, "document_number"),
    (td1(), 2, 7, "date_of_birth"),
    (td1(), 2, 15, "document_expiry"),
    (td1(), 2, 30, "composite"),
    (td1(number="T2200012345X"), 1, 19, "document_number"),  # the check digit of a long number
    (two_lines("TD2"), 2, 10, "document_number"),
    (two_lines("TD2"), 2, 20, "date_of_birth"),
    (two_lines("TD2"), 2, 28, "document_expiry"),
    (two_lines("TD2"), 2, 36, "composite"),
    (two_lines("MRVA"), 2, 10, "document_number"),
    (two_lines("MRVA"), 2, 20, "date_of_birth"),
    (two_lines("MRVB"), 2, 28, "document_expiry"),
])
def test_each_check_digit_failure_is_reported_on_its_field(text, line, column, field):
    assert parse(text).valid
    result = parse(bump(text, line, column))
    assert set(result.errors) == {field}  # the composite is not repeated when a field's own digit failed
    assert "does not match" in str(result.errors[field])
    assert result.corrections == ()


def test_check_digit_message_is_plain_english_and_lazy():
    result = parse(bump(two_lines(), 2, 20))
    message = result.errors["date_of_birth"]
    assert isinstance(message, LazyString)
    assert str(message) == "The check digit of the date of birth does not match."
    assert result.date_of_birth is None and "date_of_birth" not in result.form_values()


# ---- look-alike corrections -----------------------------------------------------------------

def test_letter_in_a_date_is_read_as_its_look_alike_digit_when_the_check_digit_holds():
    text = two_lines(birth="900315")
    result = parse(put(text, 2, 15, "O"))
    assert result.valid and result.date_of_birth == date(1990, 3, 15)
    assert result.corrections == (("date_of_birth", "9O03152", "9003152"),)  # field and its check digit


def test_letter_in_a_check_digit_is_read_as_its_look_alike():
    expiry = next(e for e in ("300101", "300102", "300103", "300104", "300105") if cd(e) in "012568")
    text = two_lines(expiry=expiry)
    result = parse(put(text, 2, 28, LOOK_ALIKE[cd(expiry)]))
    assert result.valid and result.document_expiry.year == 2030 and result.corrections[0][0] == "document_expiry"


def test_look_alike_that_breaks_the_check_digit_is_not_applied():
    text = two_lines(birth="910315")
    result = parse(put(text, 2, 15, "O"))  # O would be 0, but the date was 910315
    assert set(result.errors) == {"date_of_birth"} and result.corrections == ()


def test_letter_without_a_look_alike_makes_an_invalid_date():
    result = parse(put(two_lines(), 2, 16, "K"))
    assert set(result.errors) == {"date_of_birth"}
    assert str(result.errors["date_of_birth"]) == "The date of birth is not a valid date."


def test_document_number_look_alike_is_offered_not_applied_by_default():
    text = two_lines(number="PA1204567")
    result = parse(put(text, 2, 5, "O"))
    assert set(result.errors) == {"document_number"} and result.corrections == ()
    assert str(result.errors["document_number"]) == "The check digit of the document number does not match. Is it PA1204567?"
    assert "document_number" not in result.form_values()


def test_document_number_look_alike_is_applied_when_enabled_and_both_digits_agree(monkeypatch):
    monkeypatch.setattr(mrz, "AUTO_CORRECT_DOCUMENT_NUMBERS", True)
    text = two_lines(number="PA1204567")
    result = parse(put(text, 2, 5, "O"))
    assert result.valid and result.document_number == "PA1204567"
    assert result.corrections == (("document_number", "PA12O4567" + cd("PA1204567"), "PA1204567" + cd("PA1204567")),)


@pytest.mark.parametrize("auto", [False, True])
def test_ambiguous_document_number_is_neither_corrected_nor_suggested(monkeypatch, auto):
    monkeypatch.setattr(mrz, "AUTO_CORRECT_DOCUMENT_NUMBERS", auto)
    # 12045O789 is the real number; typed 12O45O789, both 12045O789 and 12O450789 fit the check digit.
    assert cd("12045O789") == cd("12O450789")
    result = parse(put(two_lines(number="12045O789"), 2, 3, "O"))
    assert str(result.errors["document_number"]) == "The check digit of the document number does not match."
    assert result.corrections == ()


@pytest.mark.parametrize("auto", [False, True])
def test_document_number_fixes_need_the_composite_and_leave_leading_letters_alone(monkeypatch, auto):
    monkeypatch.setattr(mrz, "AUTO_CORRECT_DOCUMENT_NUMBERS", auto)
    leading = parse(put(two_lines(number="012345678"), 2, 1, "O"))  # numbers start with their letters
    visa = parse(put(two_lines("MRVA", number="PA1204567"), 2, 5, "O"))  # no composite to confirm a fix
    for result in (leading, visa):
        assert str(result.errors["document_number"]) == "The check digit of the document number does not match."
        assert result.corrections == ()


def test_g_for_6_in_a_document_number_is_invisible_to_the_check_digit_so_kept_as_read():
    # G = 16 and 6 differ by 10: both numbers have the same check digit; nothing proves either.
    result = parse(put(two_lines(number="PA1234567"), 2, 8, "G"))
    assert result.valid and result.document_number == "PA12345G7" and result.corrections == ()


def test_country_code_digit_is_corrected_only_when_a_single_known_code_fits():
    result = parse(two_lines(state="G8R", nationality="G8R"))
    assert result.valid and (result.issuing_state, result.nationality) == ("GBR", "GBR")
    assert set(result.corrections) == {("issuing_state", "G8R", "GBR"), ("nationality", "G8R", "GBR")}
    ambiguous = parse(two_lines(nationality="AU5"))  # AUS or AUT?
    assert set(ambiguous.errors) == {"nationality"} and ambiguous.corrections == ()
    assert str(ambiguous.errors["nationality"]) == "Unknown nationality code AU5."


def test_name_digit_look_alike_is_offered_never_filled_in():
    """Names have no check digit: nothing proves the fix, so the person decides."""
    result = parse(two_lines(name="ER1KSSON<<ANNA<MAR1A"))
    assert str(result.errors["surname"]) == "The name contains a digit. Is it ERIKSSON?"
    assert str(result.errors["given_names"]) == "The name contains a digit. Is it ANNA MARIA?"
    assert result.corrections == () and "surname" not in result.form_values()


@pytest.mark.parametrize("name, field", [
    ("ERIK3SON<<ANNA", "surname"),
    ("ERIKSSON<<ANNA<MAR7A", "given_names"),
    ("ERIK3SON<<ANNA<MAR1A", "surname given_names"),  # one digit without a look-alike: none is changed
    ("ERIKSSON<<ANNA<<<<X", "given_names"),  # a letter among the fillers
    ("ERIKSSON<<ANNA<<<<0", "given_names"),  # a digit among the fillers is not turned into a letter
    ("<<ANNA", "surname"),
])
def test_bad_names_are_errors_and_neither_name_part_is_offered(name, field):
    result = parse(two_lines(name=name))
    assert set(result.errors) == set(field.split()) and result.corrections == ()
    values = result.form_values()
    assert "surname" not in values and "given_names" not in values and "document_number" in values


def test_name_messages():
    assert str(parse(two_lines(name="ERIK3SON")).errors["surname"]) == "The name may contain only letters and the filler character <."


def _offered(lines: list[str], letters: str, after: int = 5) -> set[tuple[int, int]]:
    """(line, column) of each of ``letters`` in line 1 from column ``after`` on, as the OCR's
    "its runner-up was a filler" marks."""
    return {(0, column) for column, ch in enumerate(lines[0]) if column >= after and ch in letters}


@pytest.mark.parametrize("read, chosen", [
    ("CITIZEN<<JANE<ANN<K<<<<", "CITIZEN<<JANE<ANN"),  # a lone letter in the filler run after the name
    ("CITIZEN<<JANE<ANN".ljust(37, "<") + "KK", "CITIZEN<<JANE<ANN"),  # letters at the end of the line
    ("CITIZEN<<JANE<ANN<K<<<<C<<<<<K", "CITIZEN<<JANE<ANN"),
    ("CITIZENK<JANE", "CITIZEN<<JANE"),  # the one letter that makes the missing separator
])
def test_letters_offered_as_fillers_are_fillers_where_the_name_layout_puts_fillers(read, chosen):
    lines = two_lines(name=read).splitlines()
    assert mrz.choose_name_fillers(lines, _offered(lines, "KC")) == two_lines(name=chosen).splitlines()


@pytest.mark.parametrize("read, offered", [
    ("CITIZEN<<JANE<ANN<K", ""),  # a K the recogniser did not doubt is a name part (a middle initial)
    ("CITIZEN<<JANE<ANNK<<", "K"),  # a letter joined to the last word is part of it
    ("CITIZEN<<JANE<KANN", "K"),  # inside the name: the layout does not say
    ("CITIZENK<JANEK<ANN", "K"),  # two letters could make the separator: which one is unknown
    ("CITIZEN<K<JANE", "K"),  # a separator of three fillers is no layout
    ("KK<<<<<<<<<<", "K"),  # no name would be left
])
def test_letters_are_kept_where_the_layout_or_the_recogniser_does_not_say_filler(read, offered):
    lines = two_lines(name=read).splitlines()
    assert mrz.choose_name_fillers(lines, _offered(lines, offered)) == lines


def test_name_fillers_are_chosen_only_in_the_name_and_on_the_third_line_of_an_id_card():
    lines = two_lines(name="CITIZEN<<JANE", number="K1234567").splitlines()
    offered = {(1, 0)} | _offered(lines, "K", after=0)  # the K of the number and the state code's columns
    assert mrz.choose_name_fillers(lines, offered) == lines
    card = ICAO_TD1_LONG_NUMBER.splitlines()
    misread = card[:2] + ["STEVENSON<<PETER<JOHN<K<<<<<<<"]
    assert mrz.choose_name_fillers(misread, {(2, 22)}) == card


# ---- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("birth", ["741312", "740832", "010229", "740012"])
def test_invalid_birth_dates_are_errors(birth):
    result = parse(two_lines(birth=birth))
    assert set(result.errors) == {"date_of_birth"} and result.date_of_birth is None
    assert "not a valid date" in str(result.errors["date_of_birth"]) and "date_of_birth" not in result.form_values()


def test_invalid_expiry_date_is_an_error():
    result = parse(two_lines(expiry="301301"))
    assert set(result.errors) == {"document_expiry"} and "document_expiry" not in result.form_values()


@pytest.mark.parametrize("birth, today, expected", [
    ("250101", date(2030, 1, 1), date(2025, 1, 1)),
    ("250101", date(2024, 6, 1), date(1925, 1, 1)),  # 2025 would be in the future
    ("240601", date(2024, 6, 1), date(2024, 6, 1)),  # born today
    ("240602", date(2024, 6, 1), date(1924, 6, 2)),
    ("000229", date(2026, 6, 1), date(2000, 2, 29)),
    ("991231", date(2026, 6, 1), date(1999, 12, 31)),
])
def test_birth_century_is_the_latest_that_is_not_in_the_future(birth, today, expected):
    assert parse_mrz(two_lines(birth=birth), today=today).date_of_birth == expected


@pytest.mark.parametrize("expiry, expected", [("250101", date(2025, 1, 1)), ("991231", date(2099, 12, 31))])
def test_expiry_is_in_this_century(expiry, expected):
    assert parse(two_lines(expiry=expiry)).document_expiry == expected


def test_unknown_birth_date_is_all_fillers():
    result = parse(two_lines(birth="<<<<<<").replace("<<<<<<0F", "<<<<<<<F"))
    assert result.valid and result.date_of_birth is None and "date_of_birth" not in result.form_values()


# ---- sex and document code ------------------------------------------------------------------

@pytest.mark.parametrize("sex, expected", [("M", "M"), ("F", "F"), ("<", "X"), ("X", "X")])
def test_sex(sex, expected):
    assert parse(two_lines(sex=sex)).form_values()["sex"] == expected


def test_unknown_sex_is_an_error():
    result = parse(put(two_lines(), 2, 21, "Q"))
    assert set(result.errors) == {"sex"} and "sex" not in result.form_values()


@pytest.mark.parametrize("text", [two_lines(code="X<"), two_lines(code="P1"), td1(code="P<")])
def test_unknown_document_code(text):
    result = parse(text)
    assert set(result.errors) == {"document_code"} and "document_type" not in result.form_values()


# ---- not an MRZ -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    (two_lines()[:-1], "Line 2 has 43 characters; expected 44."),
    (two_lines().replace("P<AUS", "P<AU", 1), "Line 1 has 43 characters; expected 44."),
    (two_lines("TD2") + "<", "Line 2 has 37 characters; expected 36."),
    (td1()[:-1], "Line 3 has 29 characters; expected 30."),
    (two_lines() + "\n" + two_lines().split("\n")[1], "An MRZ with lines of 44 characters has 2 lines; found 3."),
    (two_lines().split("\n")[1], "An MRZ with lines of 44 characters has 2 lines; found 1."),
    ("hello world", "An MRZ has 2 or 3 lines; found 1."),
    ("", "An MRZ has 2 or 3 lines; found 0."),
    (two_lines().replace("PA1234567", "PA123 4567"), "Line 2 contains a space; an MRZ has none (blanks are <)."),
    (two_lines().replace("CITIZEN", "CITI-ZEN"), "Line 1 contains -; an MRZ has only A-Z, 0-9 and <."),
])
def test_text_that_is_not_an_mrz_gets_a_clear_message(text, message):
    with pytest.raises(MRZFormatError) as raised:
        parse(text)
    assert isinstance(raised.value, ValueError) and str(raised.value) == message


def test_typed_input_is_normalised():
    text = two_lines(optional="ab12")
    expected = parse(text)
    messy = "\r\n\r\n   " + text.lower().replace("\n", "  \r\n\r\n\t") + "  \r\n"
    assert parse(messy) == expected and expected.valid


# ---- form values and the result object ------------------------------------------------------

FORM_FIELDS = {"document_code": {"document_type"}, "surname": {"surname", "given_names"},
               "given_names": {"surname", "given_names"}, "composite": set(), "optional_data": set()}


@pytest.mark.parametrize("text", [two_lines(optional="1234"), td1(), two_lines("TD2"), two_lines("MRVA"), two_lines("MRVB")])
def test_form_values_never_hold_a_field_with_an_error(text):
    lines = text.split("\n")
    checked = 0
    for line in range(1, len(lines) + 1):
        for column in range(1, len(lines[0]) + 1):
            for ch in "0O<K7S":
                result = parse(put(text, line, column, ch))
                values = result.form_values()
                for field in result.errors:
                    names = FORM_FIELDS.get(field, {field})
                    if result.is_visa:
                        names = {{"document_number": "permit_number", "document_expiry": "permit_valid_until"}.get(n, n) for n in names}
                    assert not names & values.keys(), (result, field)
                    checked += 1
    assert checked > 100


def test_result_is_frozen():
    with pytest.raises(FrozenInstanceError):
        parse(ICAO_TD3).surname = "X"
