"""From the text of a code (or typed MRZ lines) to report fields, through the payload parsers.

Parsers come from plugins and are tried in priority order; the first that recognises the text
wins. Whatever no parser claims is kept as the opaque entry-stamp QR text (its format is not
public, so nothing is read out of it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_PAYLOAD_LENGTH = 4000  # the entry-stamp QR field holds at most this much


@dataclass
class ParsedPayload:
    """What a parser read: form field values, and problems per field (never invented values)."""

    kind: str  # "mrz", "labelled", "opaque", or a plugin's own kind
    parser: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # field -> message (e.g. a failed check digit)
    notes: list[str] = field(default_factory=list)  # e.g. corrections applied


class OpaquePayloadParser:
    """The last resort: keep the raw text as the entry-stamp QR, read nothing out of it."""

    name = "opaque"
    priority = 1000

    def parse(self, text: str) -> ParsedPayload:
        result = ParsedPayload(kind="opaque", parser=self.name)
        if len(text) > MAX_PAYLOAD_LENGTH:
            result.problems["entry_stamp_qr"] = str(_l("The code holds %(n)d characters, more than an entry stamp carries; it was not used.", n=len(text)))
        else:
            result.values["entry_stamp_qr"] = text
        return result


def parse_payload(text: str, parsers) -> ParsedPayload:
    """The first parser's reading of ``text`` (the opaque parser when none recognises it)."""
    import logging

    text = text.strip("\x00")
    for parser in parsers:
        try:
            result = parser.parse(text)
        except Exception:  # noqa: BLE001 - a broken parser plugin must not lose the capture
            logging.getLogger(__name__).exception("payload parser %s failed", getattr(parser, "name", parser))
            continue
        if result is not None:
            return result
    return OpaquePayloadParser().parse(text)
