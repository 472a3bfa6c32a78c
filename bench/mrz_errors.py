"""Single-character errors against the MRZ parser: are they caught, corrected, or let through?

    .venv/bin/python -m bench.mrz_errors [--lines 10000] [--seed N]

Builds N random valid MRZs (mostly TD3 passports, some TD1/TD2 ID cards and MRV-A/MRV-B visas)
with random names, numbers, dates and pycountry alpha-3 codes; check digits are computed here,
independently of the parser. Each MRZ then gets exactly one random substitution (any of A-Z0-9<
at any position) and the parser's answer is classified:

  detected        an error was reported (or the text was rejected as not an MRZ)
  corrected back  no error, a correction was applied, and every value equals the original
  miscorrected    a correction was applied and a corrected field differs from the original
  silent          no error, no correction of the differing field, and a value differs
  no effect       no error and every value equals the original (e.g. sex '<' read as 'X')

A silent acceptance is legitimate only where the ICAO check digits cannot see the change: a
position no check digit covers (names, country codes, sex, document code, visa optional data), or
a covered position whose new character's value differs by a multiple of 10 (0/</A/K/U, 1/B/L/V,
...), which the 7-3-1 weights cannot tell apart. PASS: no change that a check digit can see was
silently accepted, and no correction in a check-digit-covered field went wrong.
Exit status: 0 on PASS, 1 otherwise.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta

import pycountry

from serasi_web.capture import mrz
from serasi_web.capture.mrz import MRZFormatError, parse_mrz

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
LETTERS, DIGITS, ALNUM = ALPHABET[:26], ALPHABET[26:36], ALPHABET[:36]
_VALUE = {ch: (i + 10 if i < 26 else i - 26) for i, ch in enumerate(ALPHABET[:36])} | {"<": 0}
LOOK_ALIKES = {("O", "0"), ("I", "1"), ("B", "8"), ("S", "5"), ("Z", "2"), ("G", "6")}
LOOK_ALIKES |= {(b, a) for a, b in LOOK_ALIKES}
FIELDS = ("kind", "document_code", "surname", "given_names", "sex", "date_of_birth", "nationality",
          "issuing_state", "document_number", "document_expiry", "optional_data")
KINDS = (("TD3", 0.62), ("TD1", 0.15), ("TD2", 0.10), ("MRVA", 0.07), ("MRVB", 0.06))


def check_digit(text: str) -> str:
    """Doc 9303 check digit, written apart from the parser's on purpose."""
    total = 0
    for i, ch in enumerate(text):
        total += _VALUE[ch] * [7, 3, 1][i % 3]
    return str(total % 10)


class Builder:
    """Appends labelled segments; remembers where each label lies and which spans each check digit covers."""

    def __init__(self) -> None:
        self.text, self.labels, self.checks = "", [], []  # checks: (covered positions, check position)

    def add(self, label: str, text: str) -> range:
        span = range(len(self.text), len(self.text) + len(text))
        self.text += text
        self.labels += [label] * len(text)
        return span

    def add_checked(self, label: str, text: str, check: str | None = None) -> list[int]:
        span = list(self.add(label, text))
        position = self.add(label + " check digit", check if check is not None else check_digit(text))[0]
        self.checks.append((span, position))
        return span + [position]

    def add_composite(self, spans: list[list[int]]) -> None:
        covered = [p for span in spans for p in span]
        position = self.add("composite check digit", check_digit("".join(self.text[p] for p in covered)))[0]
        self.checks.append((covered, position))


def visible(text: str, checks) -> bool:
    """Would any ICAO check digit fail on ``text``?"""
    return any(int(check_digit("".join(text[p] for p in covered))) != _VALUE[text[position]] for covered, position in checks)


# ---- random documents -------------------------------------------------------------------------

def word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(low, high)))


def name_field(rng: random.Random, width: int) -> tuple[str, str, str]:
    surname = "<".join(word(rng, 2, 10) for _ in range(rng.choice((1, 1, 1, 2))))
    given = "<".join(word(rng, 2, 9) for _ in range(rng.choice((0, 1, 1, 2, 3))))
    text = (surname + ("<<" + given if given else "")).ljust(width, "<")[:width]  # long names are truncated
    read_surname, _, read_given = text.rstrip("<").partition("<<")
    return text, read_surname.replace("<", " "), read_given.replace("<", " ")


def document_number(rng: random.Random) -> str:
    """Shapes seen on real documents: digits only, a letter prefix, the ICAO specimen's L898902C3 shape."""
    digits = lambda n: "".join(rng.choice(DIGITS) for _ in range(n))  # noqa: E731
    shape = rng.randrange(5)
    if shape == 0:
        return digits(9)
    if shape == 1:
        return rng.choice(LETTERS) + digits(8)
    if shape == 2:
        return rng.choice(LETTERS) + rng.choice(LETTERS) + digits(7)
    if shape == 3:
        return rng.choice(LETTERS) + digits(6) + rng.choice(LETTERS) + digits(1)
    return rng.choice(LETTERS) + digits(rng.randint(5, 7))  # shorter than 9, padded with '<'


def alnum(rng: random.Random, high: int) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(0, high)))


def random_mrz(rng: random.Random, kind: str, codes: list[str], today: date):
    """(MRZ text, expected values, Builder) for one random valid document of ``kind``."""
    birth = today - timedelta(days=rng.randint(1, 99 * 365))  # under 100: the century rule is exact
    expiry = today + timedelta(days=rng.randint(-3 * 365, 10 * 365))
    state = rng.choice(codes)
    nationality = state if rng.random() < 0.8 else rng.choice(codes)
    sex = rng.choice("MF<")
    dob, exp = birth.strftime("%y%m%d"), expiry.strftime("%y%m%d")
    width = {"TD1": 30, "TD2": 36, "MRVB": 36}.get(kind, 44)
    code = rng.choice({"TD3": ("P<", "P<", "PD"), "TD1": ("ID", "I<", "AC", "IR"), "TD2": ("I<", "ID", "AC")}.get(kind, ("V<", "VD")))
    b = Builder()
    b.add("document_code", code)
    b.add("issuing_state", state)
    number = document_number(rng)
    optional_parts: list[str] = []
    if kind == "TD1":
        long_number = rng.random() < 0.15
        if long_number:
            number = rng.choice(LETTERS) + "".join(rng.choice(DIGITS) for _ in range(rng.randint(10, 13)))
            rest = number[9:]
            number_span = list(b.add("document_number", number[:9]))
            b.add("document_number filler", "<")
            extra = alnum(rng, 15 - len(rest) - 2)
            number_span += list(b.add("document_number", rest))
            b.checks.append((number_span, b.add("document_number check digit", check_digit(number))[0]))
            b.add("optional_data", ("<" + extra).ljust(15 - len(rest) - 1, "<"))
            optional_parts.append(extra)
        else:
            b.add_checked("document_number", number.ljust(9, "<"))
            first = alnum(rng, 15) if rng.random() < 0.5 else ""
            b.add("optional_data", first.ljust(15, "<"))
            optional_parts.append(first)
        line1 = list(range(5, 30))
        birth_span = b.add_checked("date_of_birth", dob)
        b.add("sex", sex)
        expiry_span = b.add_checked("document_expiry", exp)
        b.add("nationality", nationality)
        second = alnum(rng, 11) if rng.random() < 0.3 else ""
        optional_span = list(b.add("optional_data", second.ljust(11, "<")))
        optional_parts.append(second)
        b.add_composite([line1, birth_span, expiry_span, optional_span])
        name, surname, given = name_field(rng, 30)
        b.add("name", name)
    else:
        name, surname, given = name_field(rng, width - 5)
        b.add("name", name)
        number_span = b.add_checked("document_number", number.ljust(9, "<"))
        b.add("nationality", nationality)
        birth_span = b.add_checked("date_of_birth", dob)
        b.add("sex", sex)
        expiry_span = b.add_checked("document_expiry", exp)
        room = {"TD3": 14, "MRVA": 16, "TD2": 7, "MRVB": 8}[kind]
        optional = alnum(rng, room) if rng.random() < 0.5 else ""
        optional_parts.append(optional)
        if kind == "TD3":
            empty_check = rng.choice("<0") if not optional else None
            optional_span = b.add_checked("optional_data", optional.ljust(room, "<"), empty_check)
            b.add_composite([number_span, birth_span, expiry_span, optional_span])
        elif kind == "TD2":
            optional_span = list(b.add("optional_data", optional.ljust(room, "<")))
            b.add_composite([number_span, birth_span, expiry_span, optional_span])
        else:
            b.add("optional_data", optional.ljust(room, "<"))  # visas: no check digit here, no composite
    expected = dict(kind=kind, document_code=code.rstrip("<"), surname=surname, given_names=given,
                    sex={"<": "X"}.get(sex, sex), date_of_birth=birth, nationality=nationality,
                    issuing_state=state, document_number=number, document_expiry=expiry,
                    optional_data=" ".join(part for part in optional_parts if part))
    return b, expected


def lines_of(text: str, width: int) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


# ---- the run ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10000, help="number of MRZs (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--auto-correct-numbers", action="store_true",
                        help="apply look-alike fixes to document numbers instead of only offering them")
    args = parser.parse_args(argv)
    mrz.AUTO_CORRECT_DOCUMENT_NUMBERS = args.auto_correct_numbers
    rng, today = random.Random(args.seed), date.today()
    codes = sorted(country.alpha_3 for country in pycountry.countries)
    outcomes, kinds, timings = Counter(), Counter(), []
    silent, miscorrected, fixed, wrong_in_form, look_alike, baseline = Counter(), Counter(), Counter(), Counter(), Counter(), []
    failures: list[str] = []

    for _ in range(args.lines):
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        kinds[kind] += 1
        built, expected = random_mrz(rng, kind, codes, today)
        width = {"TD1": 30, "TD2": 36, "MRVB": 36}.get(kind, 44)
        clean = parse_mrz(lines_of(built.text, width), today)
        if clean.errors or any(getattr(clean, f) != expected[f] for f in FIELDS):
            baseline.append(built.text)  # the generator and the parser disagree on a valid MRZ
            continue
        position = rng.randrange(len(built.text))
        original = built.text[position]
        new = rng.choice(ALPHABET.replace(original, ""))
        text = built.text[:position] + new + built.text[position + 1:]
        label, seen = built.labels[position], visible(text, built.checks)
        covered = any(position == p or position in span for span, p in built.checks)
        started = time.perf_counter()
        try:
            result = parse_mrz(lines_of(text, width), today)
        except MRZFormatError:
            outcomes["detected"] += 1
            continue
        finally:
            timings.append(time.perf_counter() - started)
        differing = [f for f in FIELDS if getattr(result, f) != expected[f]]
        corrected = {name for name, _, _ in result.corrections}
        if result.errors:
            outcome = "detected"
            offered = result.form_values()
            for name, value in offered.items():
                source = {"permit_number": "document_number", "permit_valid_until": "document_expiry"}.get(name, name)
                if source in expected and value != expected[source]:
                    wrong_in_form[f"{name} (substitution in {label})"] += 1
        elif not differing:
            outcome = "corrected back" if result.corrections else "no effect"
            if result.corrections:
                fixed[label] += 1
        elif corrected & set(differing):
            outcome = "miscorrected"
            tag = "covered by a check digit" if covered else "no check digit"
            miscorrected[(label, tag)] += 1
            if covered:
                failures.append(f"miscorrected {label}: {lines_of(text, width)!r}")
        else:
            outcome = "silent"
            tag = ("VISIBLE to a check digit" if seen else "covered, but the check digit cannot see it (value differs by a multiple of 10)"
                   if covered else "no check digit")
            silent[(label, tag)] += 1
            if seen:
                failures.append(f"silently accepted {label}: {lines_of(text, width)!r}")
        outcomes[outcome] += 1
        if (original, new) in LOOK_ALIKES:
            look_alike[outcome] += 1

    total = sum(outcomes.values())
    print(f"MRZ single-character substitutions: {total} MRZs, seed {args.seed} "
          f"({', '.join(f'{k} {n}' for k, n in kinds.items())}); document-number look-alike fixes "
          f"{'applied' if args.auto_correct_numbers else 'only offered'}")
    print(f"  (generator/parser disagreements on the unmodified MRZ: {len(baseline)})")
    for name, label in (("detected", "detected (an error reported)"), ("corrected back", "corrected back to the original value"),
                        ("miscorrected", "miscorrected (correction applied, value wrong)"),
                        ("silent", "silently accepted as a different valid value"), ("no effect", "no effect on any value")):
        print(f"  {label:<50} {outcomes[name]:6d}  {100 * outcomes[name] / max(total, 1):5.1f} %")
    for title, counter in (("Miscorrected, by where the substitution landed:", miscorrected),
                           ("Silently accepted, by where the substitution landed:", silent)):
        print(title)
        for (label, tag), n in sorted(counter.items(), key=lambda item: -item[1]):
            print(f"  {label:<28} {n:6d}  {tag}")
        if not counter:
            print("  none")
    print("Corrected back, by where the substitution landed:", ", ".join(f"{k} {n}" for k, n in fixed.most_common()) or "none")
    print("Detected, yet form_values() still offered a wrong value:", sum(wrong_in_form.values()) or "none")
    for key, n in wrong_in_form.most_common():
        print(f"  {key}: {n}")
    print(f"Look-alike substitutions (O/0 I/1 B/8 S/5 Z/2 G/6) among them: {sum(look_alike.values())} -> "
          + ", ".join(f"{k} {n}" for k, n in look_alike.most_common()))
    print(f"Median parse time: {1e6 * statistics.median(timings):.0f} µs (p95 {1e6 * sorted(timings)[int(0.95 * len(timings))]:.0f} µs)")
    if baseline:
        failures.append(f"{len(baseline)} unmodified MRZs did not parse as generated, e.g. {baseline[0]!r}")
    for failure in failures[:10]:
        print("  FAIL:", failure)
    print("PASS" if not failures else f"FAIL ({len(failures)} problems)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
