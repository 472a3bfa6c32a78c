"""Capture for the report form: a photo or typed MRZ lines in, form values out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..plugins import registry
from .images import CaptureError, decode_photo
from .payloads import ParsedPayload, parse_payload


@dataclass
class Capture:
    """What the document gave: values for the form, which field came from which source, problems."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # field -> "mrz" / "labelled" / "opaque"
    problems: dict[str, str] = field(default_factory=dict)
    # field -> message: a value filled in that the reading is not sure of (an OCR'd name letter read
    # with low confidence, or a line fitted to length), shown as a warning at its field
    warnings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the raw decoded texts, shown escaped
    read_by_ocr: bool = False  # letters read from a photo of the page, not decoded from a code

    def merge(self, payload: ParsedPayload) -> None:
        for name, value in payload.values.items():
            if name not in self.values:  # the first code read wins a field
                self.values[name] = value
                self.sources[name] = payload.kind
        for name, message in payload.problems.items():
            self.problems.setdefault(name, message)
        self.notes.extend(payload.notes)


OCR_DECODER = "mrz-ocr"  # plugins/mrz_ocr.py


def read_photo(upload) -> bytes:
    """The uploaded photo's bytes (a werkzeug FileStorage, or None: no bytes), at most
    CAPTURE_MAX_BYTES + 1 of them: a larger photo is refused by ``capture_photo`` without its
    whole body ever being in memory."""
    if upload is None:
        return b""
    return upload.stream.read(current_app.config["CAPTURE_MAX_BYTES"] + 1)


def capture_photo(data: bytes) -> Capture:
    """Decode every code in the photo and parse each. Raises CaptureError for an unusable file."""
    config = current_app.config
    if len(data) > config["CAPTURE_MAX_BYTES"]:
        raise CaptureError(_l("The photo is larger than %(mb)d MB. Take it again at a lower resolution.", mb=config["CAPTURE_MAX_BYTES"] // (1024 * 1024)))
    found = decode_photo(data, registry().decoders, max_pixels=config["CAPTURE_MAX_PIXELS"])
    current_app.logger.info("capture: %d codes by %s in %.0f ms (%dx%d, full size: %s)", len(found.texts), found.decoder or "-",
                            found.seconds * 1000, found.size[0], found.size[1], found.full_resolution)
    if not found.texts:
        raise CaptureError(_l("No code was found in the photo. Hold the camera closer, keep the code flat and well lit, and try again. "
                              "For a passport, photograph the whole data page so that the two lines of letters and < at the bottom are sharp."))
    # OCR letters in a name have no check digit to prove them (numbers and dates do): the page
    # says so, whatever the reading looked like.
    capture = Capture(texts=found.texts, read_by_ocr=found.decoder == OCR_DECODER)
    for text in found.texts:
        capture.merge(parse_payload(text, registry().payload_parsers))
        # The OCR decoder's text carries the name parts it is unsure of (plugins/mrz_ocr.py).
        for name, message in getattr(text, "warnings", {}).items():
            if name in capture.values and capture.sources.get(name) == "mrz":
                capture.warnings.setdefault(name, str(message))
    return capture


def capture_mrz(text: str) -> Capture:
    """Parse MRZ lines typed by a person or a keyboard-like passport reader."""
    from .mrz import MRZFormatError, parse_mrz

    text = (text or "").strip()
    if not text:
        raise CaptureError(_l("Type or scan the two or three MRZ lines first."))
    if len(text) > 200:
        raise CaptureError(_l("That is longer than any MRZ (at most 3 lines of 44 characters)."))
    try:
        result = parse_mrz(text)
    except MRZFormatError as error:
        raise CaptureError(str(error)) from None
    payload = ParsedPayload(kind="mrz", parser="mrz", values=result.form_values(),
                            problems={name: str(message) for name, message in result.errors.items()},
                            notes=[f"{name}: {before} → {after}" for name, before, after in result.corrections])
    capture = Capture(texts=[text])
    capture.merge(payload)
    return capture
