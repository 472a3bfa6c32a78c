"""From uploaded bytes to the texts of the codes in the photo.

Open with a format allow-list, let JPEG decode at reduced size (draft mode, about 2000 px: a
12 MP photo then costs ~70 ms and ~40 MB instead of ~600 ms and ~130 MB), apply the EXIF
orientation, run the decoders; only when the scaled image gave nothing, retry at full size; only
when that gave nothing too, run the hard-photo passes (decoders with ``hard_photo_pass``: small
codes enlarged on the full-size image, then the scaled image enhanced one way each), while their
time budget lasts.
"""
from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
DRAFT_LONG_SIDE = 2000
DEFAULT_MAX_PIXELS = 50_000_000
# A photo with no readable code at all must not hold a worker for long: hard-photo passes start
# only within this many seconds of the first one (measured in bench/capture_hard_qr.py).
HARD_PHOTO_BUDGET_SECONDS = 1.5
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")


class CaptureError(ValueError):
    """The upload cannot be used; ``message`` says why in the user's words."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class DecodeResult:
    texts: list[str] = field(default_factory=list)
    decoder: str = ""
    full_resolution: bool = False
    seconds: float = 0.0
    size: tuple[int, int] = (0, 0)


def _open(data: bytes, max_pixels: int, scaled: bool, mode: str = "L") -> Image.Image:
    if not data:
        raise CaptureError(_l("The file is empty. Take the photo again."))
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        raise CaptureError(_l("This is an HEIC photo (iPhone). Send it as JPEG: on the iPhone choose Settings › Camera › Formats › Most Compatible, or take a screenshot of the photo."))
    with warnings.catch_warnings():
        # A small file can declare a huge image: treat Pillow's bomb warning as the error it is.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
        except UnidentifiedImageError:
            raise CaptureError(_l("This file is not a JPEG, PNG or WEBP photo.")) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise CaptureError(_l("The image is too large (more than %(mp)d megapixels).", mp=max_pixels // 1_000_000)) from None
        if image.width * image.height > max_pixels:
            raise CaptureError(_l("The image is too large (more than %(mp)d megapixels).", mp=max_pixels // 1_000_000))
        if scaled and image.format == "JPEG" and max(image.size) > DRAFT_LONG_SIDE:
            # draft() keeps both sides >= the request, so ask for the photo's own proportions.
            factor = DRAFT_LONG_SIDE / max(image.size)
            image.draft(mode, (int(image.width * factor), int(image.height * factor)))
        try:
            image = ImageOps.exif_transpose(image)
            return image.convert(mode)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning):
            raise CaptureError(_l("The photo is damaged or incomplete. Take it again.")) from None


def decode_photo(data: bytes, decoders, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodeResult:
    """Every code text found in the photo, by the first decoder that finds any.

    ``decoders`` come from the plugin registry, sorted by priority; a decoder that raises is
    skipped (and reported by the caller's logging), so it cannot break the others.
    """
    started = time.perf_counter()
    usable = [decoder for decoder in decoders if decoder.available()]
    hard_photo_passes = [decoder for decoder in usable if getattr(decoder, "hard_photo_pass", False)]
    usable = [decoder for decoder in usable if decoder not in hard_photo_passes]
    scaled = _open(data, max_pixels, scaled=True)
    result, image, full = _run(scaled, usable), scaled, None
    if not result.texts and scaled.size != _open_size(data):
        image = full = _open(data, max_pixels, scaled=False)
        # A decoder that scales the image down itself (the MRZ OCR) would only repeat its work.
        result = _run(full, [decoder for decoder in usable if not getattr(decoder, "scaled_only", False)])
        result.full_resolution = True
    if not result.texts and hard_photo_passes:
        deadline = time.perf_counter() + HARD_PHOTO_BUDGET_SECONDS
        for decoder in hard_photo_passes:
            # A pass that asks for it (enlarging small codes) gets the full-size pixels; the
            # others the scaled image, where each costs a fraction of the time.
            image = full if full is not None and getattr(decoder, "full_size", False) else scaled
            result = _run(image, [decoder], deadline)
            result.full_resolution = image is full
            if result.texts:
                break
    result.size = image.size
    result.seconds = time.perf_counter() - started
    return result


def _open_size(data: bytes) -> tuple[int, int]:
    """The stored size (after EXIF rotation) without decoding the pixels."""
    with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
        orientation = image.getexif().get(0x0112, 1)
        return (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size


def _run(image: Image.Image, decoders, deadline: float | None = None) -> DecodeResult:
    import logging

    for decoder in decoders:
        if deadline is not None and time.perf_counter() > deadline:
            break
        try:
            texts = decoder.decode(image)
        except Exception:  # noqa: BLE001 - one decoder's failure must not stop the others
            logging.getLogger(__name__).exception("decoder %s failed", decoder.name)
            continue
        texts = list(dict.fromkeys(text for text in texts if text))
        if texts:
            return DecodeResult(texts=texts, decoder=decoder.name)
    return DecodeResult()
