"""Bundled parser: passport, ID-card and visa MRZ (ICAO 9303) with every check digit verified."""
from __future__ import annotations

import re

from serasi_web import hookimpl
from serasi_web.capture.payloads import ParsedPayload

# Two or three lines of 30/36/44 MRZ characters (allowing lower case and stray spaces).
_LOOKS_LIKE_MRZ = re.compile(r"^\s*(?:[A-Za-z0-9< ]{28,46}\s*\n\s*){1,2}[A-Za-z0-9< ]{28,46}\s*$")


class MRZPayloadParser:
    name = "mrz"
    priority = 10

    def parse(self, text: str):
        from serasi_web.capture.mrz import MRZFormatError, parse_mrz

        normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
        if "<" not in normalised or not _LOOKS_LIKE_MRZ.match(normalised):
            return None
        try:
            result = parse_mrz(normalised)
        except MRZFormatError as error:
            return ParsedPayload(kind="mrz", parser=self.name, problems={"mrz_text": str(error)})
        notes = [f"{field}: {before} → {after}" for field, before, after in result.corrections]
        return ParsedPayload(kind="mrz", parser=self.name, values=result.form_values(),
                             problems={name: str(message) for name, message in result.errors.items()}, notes=notes)


@hookimpl(trylast=True)
def serasi_register_payload_parsers(register):
    register(MRZPayloadParser())
