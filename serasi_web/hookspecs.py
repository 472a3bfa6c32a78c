"""Every hook of SERASI Web, grouped by lifecycle.

Plugins implement hooks with ``@serasi_web.hookimpl``. Discovery hooks receive a ``register``
callback and call it once per thing they provide (a decoder, a parser ...); the work then runs
through those small objects, so one failing plugin cannot break the others. Hook
implementations must not rely on default argument values (pluggy ignores them).
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("serasi")
hookimpl = pluggy.HookimplMarker("serasi")


# ---- Document capture ---------------------------------------------------------------------

@hookspec
def serasi_register_decoders(register):
    """Offer image decoders that find machine-readable codes (QR, barcodes) in a photo.

    Called when the plugin manager is built. Call ``register(decoder)`` for each decoder; a
    decoder has ``name: str``, ``priority: int`` (lower runs first), ``available() -> bool``
    (False when its native library is missing) and ``decode(image: PIL.Image.Image) ->
    list[str]`` returning the text of every code found (an empty list when none). Decoders run
    in priority order on the scaled photo; the next one runs only when the earlier found nothing.
    Return value: ignored.
    """


@hookspec
def serasi_register_payload_parsers(register):
    """Offer parsers that turn the text of a code (or typed MRZ lines) into report fields.

    Call ``register(parser)`` for each parser; a parser has ``name: str``, ``priority: int``
    (lower is tried first) and ``parse(text: str) -> serasi_web.capture.payloads.ParsedPayload |
    None`` (None when the text is not of its kind). The first parser that returns a result wins.
    A parser fills a field only from what the payload states; it never invents a value.
    Return value: ignored.
    """
