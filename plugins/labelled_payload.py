"""Bundled parser: URL and key=value payloads; extracts only what is labelled.

A QR may hold ``https://example/check?passport=X1234567&permit=2C21...&valid_until=2026-12-31``
or ``NAMA=JOHN SMITH;PASPOR=X1234567;TGL_MASUK=01-11-2026``. Known labels (English and
Indonesian, any case, ``-``/``_``/space alike) fill the matching fields; every other label is
ignored. The raw text is always kept as the entry-stamp QR.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit

from serasi_web import hookimpl
from serasi_web.capture.payloads import MAX_PAYLOAD_LENGTH, ParsedPayload

LABELS = {
    "document_number": ("passport", "passportno", "passportnumber", "paspor", "nopaspor", "nomorpaspor", "documentnumber",
                        "docno", "documentno", "traveldocument", "nodokumen"),
    "permit_number": ("permit", "permitno", "permitnumber", "izin", "noizin", "nomorizin", "izintinggal", "stayPermit",
                      "visano", "visanumber", "novisa", "nomorvisa", "registerno", "noregister"),
    "entry_date": ("entrydate", "dateofentry", "tglmasuk", "tanggalmasuk", "arrival", "arrivaldate", "tglkedatangan"),
    "permit_valid_until": ("validuntil", "expiry", "expirydate", "berlakusampai", "berlakuhingga", "izinberlakusampai", "staypermitexpiry"),
    "visa_index": ("visaindex", "indeksvisa", "visatype", "jenisvisa"),
    "port_of_entry": ("port", "portofentry", "tpi", "entrypoint"),
    "surname": ("surname", "familyname", "lastname", "namakeluarga"),
    "given_names": ("givennames", "givenname", "firstname", "namadepan"),
    "nationality": ("nationality", "kewarganegaraan", "nat", "citizenship"),
}
_LOOKUP = {alias.lower(): name for name, aliases in LABELS.items() for alias in aliases}
_DATE_FIELDS = {"entry_date", "permit_valid_until"}
_SPLIT = re.compile(r"[;&|\n\r]+")


def _label_key(label: str) -> str:
    return re.sub(r"[^a-z]", "", label.lower())


def _parse_date(text: str) -> date | None:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y%m%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _pairs(text: str) -> list[tuple[str, str]]:
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return parse_qsl(urlsplit(text).query, keep_blank_values=False)
    pairs = []
    for part in _SPLIT.split(text):
        match = re.match(r"^\s*([^=:]{1,40})\s*[=:]\s*(.*?)\s*$", part)
        if match:
            pairs.append((match.group(1), match.group(2)))
    return pairs


class LabelledPayloadParser:
    name = "labelled"
    priority = 50

    def parse(self, text: str):
        if len(text) > MAX_PAYLOAD_LENGTH:
            return None
        values = {}
        for label, raw in _pairs(text):
            name = _LOOKUP.get(_label_key(label))
            if not name or not raw or name in values:
                continue
            if name in _DATE_FIELDS:
                parsed = _parse_date(raw)
                if parsed:
                    values[name] = parsed
            elif name in ("document_number", "permit_number", "visa_index", "nationality"):
                values[name] = re.sub(r"\s+", "", raw).upper()[:40]
            else:
                values[name] = raw[:100]
        if not values:
            return None
        return ParsedPayload(kind="labelled", parser=self.name, values={**values, "entry_stamp_qr": text})


@hookimpl(trylast=True)
def serasi_register_payload_parsers(register):
    register(LabelledPayloadParser())
