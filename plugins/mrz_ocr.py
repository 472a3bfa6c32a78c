"""Bundled decoder: the MRZ of a passport data page, ID-card back or visa, read by OCR from a photo.

Runs after the code decoders (a photo with a QR code never pays for OCR) and returns the MRZ
lines joined with "\\n", which the MRZ payload parser then checks digit by digit.

1. Find the band: the MRZ is the widest block of dense, evenly sized dark characters. On a copy
   scaled to 1000 px, a black-hat (dark text on a light page) is thresholded and closed with a
   square kernel of about one character pitch, so the two or three lines become one blob at any
   angle; ``minAreaRect`` of the best blob gives its centre, size and skew.
2. Cut it out upright from the image the pipeline opened (about 2000 px): the rectangle is
   turned level; its sideways/upside-down ambiguity (0/90/180/270 degrees) is settled by
   reading, the cheaper orientation first, the opposite one only when the first gave no MRZ.
3. Cut the strip into lines by its ink profile and read them with RapidOCR's line recogniser
   (PP-OCRv4, ONNX, the model ships in the wheel; measured against Tesseract in
   docs/benchmarks.md, "Capture (e)"); characters outside A-Z, 0-9 and '<' are dropped and a
   line a few characters off its ICAO length is fitted (the variant whose check digits hold best).
4. With ``guided=True`` (the default), every field protected by a check digit is read as the
   combination of look-alike characters (O/0, I/1, B/8, S/5, Z/2, G/6, '<' read as K or C)
   whose check digits hold (``serasi_web.capture.mrz.repair_by_check_digits``); a field no
   combination satisfies is left as read, and the parser reports it at its field.

The work is capped: at most 2000 px are looked at, at most three candidate bands and two
orientations each are read, so a 50 MP photo costs what a 4 MP one does.
"""
from __future__ import annotations

import itertools
import re

from serasi_web import hookimpl

# Imported on first use, not when the app starts: OpenCV, numpy and onnxruntime add about 90 MB to
# every process, and most web workers never read a passport photo. Their presence is still checked
# at start (``serasi_register_decoders``), so a missing one stops the start with one line.
cv2 = np = rapidocr_onnxruntime = None
RUNTIME_MODULES = ("cv2", "numpy", "rapidocr_onnxruntime")


def _load() -> None:
    global cv2, np, rapidocr_onnxruntime
    if cv2 is not None:
        return
    import cv2 as _cv2
    import numpy as _np
    import rapidocr_onnxruntime as _rapidocr

    np, rapidocr_onnxruntime = _np, _rapidocr
    cv2 = _cv2  # last: the other names are set once this one is


WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
FIND_LONG_SIDE = 1000
READ_LONG_SIDE = 2000
MAX_BANDS = 3
LINE_MARGIN = 0.05  # share of a line's height kept above and below it: the recogniser reads tight crops best
LINE_WIDTHS = (44, 36, 30)
_MRZ_CHARS = re.compile(r"[^A-Z0-9<]")


class MRZOCRDecoder:
    name = "mrz-ocr"
    priority = 80  # after zxing-cpp and zbar, before the zxing-cpp rescue pass
    scaled_only = True  # it reads at READ_LONG_SIDE whatever it is given: no second run on the full-size image

    def __init__(self, guided: bool = True, engine: str = "rapidocr"):
        self.guided = guided
        self.engine = engine

    def available(self) -> bool:
        return engine_available(self.engine)

    def decode(self, image) -> list[str]:
        from PIL import Image

        _load()
        if min(image.size) < 60:  # nothing the size of an MRZ can be in it
            return []
        grey = image.convert("L")
        if max(grey.size) > READ_LONG_SIDE:
            grey.thumbnail((READ_LONG_SIDE, READ_LONG_SIDE), Image.BILINEAR)
        pixels = np.asarray(grey)
        best = None
        for band in find_bands(pixels)[:MAX_BANDS]:
            for text in self.read_band(pixels, band):
                score = mrz_score(text)
                if best is None or score > best[0]:
                    best = (score, text)
                if score >= 1.0:
                    return [text]
        return [best[1]] if best and best[0] > 0 else []

    def read_band(self, pixels, band):
        """The band's MRZ text as read level, then (if that gave no full MRZ) half a turn round.

        Upside down, OCR-B's '<' reads as '>': when the first line shows more '>' than '<' the
        band is read the other way round first."""
        upright, turned = upright_strips(pixels, band)
        upright_crops = line_crops(upright)
        first = read_line(upright_crops[0], self.engine) if upright_crops else ""
        if first.count("<") > first.count(">"):
            order = [(upright, (upright_crops, first)), (turned, None)]
        else:
            turned_crops = line_crops(turned)
            turned_first = read_line(turned_crops[0], self.engine) if turned_crops else ""
            if "<" not in turned_first and "<" not in first:  # an MRZ line has fillers: this is none
                return
            order = [(turned, (turned_crops, turned_first)), (upright, (upright_crops, first))]
        for strip, known in order:
            text = self.read_strip(strip, known)
            if text is not None:
                yield text

    def read_lines(self, strip, known=None) -> list[str]:
        """The MRZ lines as the engine read them (cleaned, brought to length, not yet repaired)."""
        crops, first = known or (line_crops(strip), None)
        read = ([first] if first is not None else []) + read_lines(self.engine, crops[1 if first is not None else 0:])
        return mrz_lines("\n".join(read))

    def read_strip(self, strip, known=None) -> str | None:
        """The MRZ lines in ``strip`` (an upright grey array), cleaned, or None when it holds none.
        ``known``: its line crops and the first one's text, when already read."""
        lines = self.read_lines(strip, known)
        if not lines:
            return None
        if self.guided:
            from serasi_web.capture.mrz import repair_by_check_digits

            lines = repair_by_check_digits(lines)
        return "\n".join(lines)


_rapid = None


# Other engines, for comparing them in bench/capture_mrz_photos.py (it adds Tesseract here):
# name -> (available() -> bool, read(crops) -> texts).
OTHER_ENGINES: dict = {}


def engine_available(engine: str) -> bool:
    if engine in OTHER_ENGINES:
        return OTHER_ENGINES[engine][0]()
    try:
        _load()
    except ImportError:
        return False
    return True


def read_line(crop, engine: str) -> str:
    """One MRZ line's text as the engine reads it (not yet cleaned)."""
    return read_lines(engine, [crop])[0]


def read_lines(engine: str, crops: list) -> list[str]:
    """The engine's text for each line crop (one batch for RapidOCR)."""
    if not crops:
        return []
    if engine in OTHER_ENGINES:
        return OTHER_ENGINES[engine][1](crops)
    _load()
    found, _ = _recogniser()([cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) for crop in crops])
    return [text for text, _score in found]


def _recogniser():
    """RapidOCR's line recogniser alone (PP-OCRv4 rec, ONNX, shipped in the wheel: nothing is
    downloaded); loaded once per process. Its text detector is not needed: the lines are cut here."""
    global _rapid
    if _rapid is None:
        from pathlib import Path

        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
        from rapidocr_onnxruntime.utils import read_yaml

        root = Path(rapidocr_onnxruntime.__file__).resolve().parent
        config = read_yaml(str(root / "config.yaml"))["Rec"]
        config["model_path"] = str(root / config["model_path"])
        _rapid = TextRecognizer(config)
    return _rapid


def line_crops(strip) -> list:
    """The text lines of an upright strip, top to bottom, each with a margin (rows by ink profile)."""
    _, ink = cv2.threshold(strip, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    profile = ink.sum(axis=1).astype(np.float32)
    profile[profile > 0.8 * strip.shape[1]] = 0  # a solid edge (the table beside the page) is no text line
    profile = np.convolve(profile, np.ones(3, np.float32) / 3, mode="same")
    if not profile.size or profile.max() <= 0:
        return []
    rows = profile > 0.3 * profile.max()
    runs, start = [], None
    for y, on in enumerate([*rows, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    tallest = max((b - a for a, b in runs), default=0)
    crops = []
    for a, b in runs:
        if b - a < 0.5 * tallest:
            continue
        margin = round(LINE_MARGIN * (b - a))
        crops.append(strip[max(0, a - margin):b + margin])
    return crops[-4:]


def find_bands(pixels) -> list:
    """Rotated rectangles (centre, size, angle in the ``pixels`` frame) that may hold an MRZ, best first."""
    height, width = pixels.shape
    factor = FIND_LONG_SIDE / max(height, width)
    small = cv2.resize(pixels, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0)
    found = []
    for pitch in (9, 15):  # characters of about 6-20 px at 1000 px: the page filling a quarter to all of the photo
        blackhat = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (pitch * 2 + 1, pitch * 2 + 1)))
        _, mask = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (pitch, pitch)))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
            long_side, short_side = max(w, h), min(w, h)
            if long_side < 0.15 * FIND_LONG_SIDE or short_side < 6:
                continue
            aspect = long_side / short_side
            fill = cv2.contourArea(contour) / (w * h)
            if not 2.5 <= aspect <= 30 or fill < 0.45:
                continue
            found.append((long_side * fill, ((cx / factor, cy / factor), (w / factor, h / factor), angle)))
    found.sort(key=lambda item: -item[0])
    bands = []
    for _, band in found:  # the two kernel sizes find the same band twice: keep it once
        if all(abs(band[0][0] - b[0][0]) + abs(band[0][1] - b[0][1]) > 0.5 * min(max(b[1]), max(band[1])) for b in bands):
            bands.append(band)
    return bands


def upright_strips(pixels, band):
    """The band cut out level (long side horizontal), and the same turned half a turn."""
    (cx, cy), (w, h), angle = band
    if h > w:  # minAreaRect's angle is for its w side: make the long side horizontal
        w, h, angle = h, w, angle - 90
    pad_w, pad_h = w * 0.06 + 10, h * 0.35 + 10
    out_w, out_h = int(w + 2 * pad_w), int(h + 2 * pad_h)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    strip = cv2.warpAffine(pixels, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    strip = normalise(strip)
    return strip, cv2.rotate(strip, cv2.ROTATE_180)


def normalise(strip):
    """Characters of about 32 px, glare and dim light evened out, dark text on white."""
    lines_guess = 2.5
    char_height = strip.shape[0] / (lines_guess * 1.9)
    factor = min(3.0, max(0.4, 32 / max(char_height, 1)))
    strip = cv2.resize(strip, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA)
    background = cv2.morphologyEx(strip, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (41, 41)))
    flat = cv2.divide(strip, background, scale=255)
    return cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX)


def mrz_lines(raw: str) -> list[str]:
    """The 2 or 3 MRZ lines in the engine's text, each brought to its ICAO length, or [] when it holds none.

    A line a few characters too long or short is tried several ways (stray marks cut from either
    end, its longest filler run resized) and the combination whose check digits hold best wins."""
    candidates = [_MRZ_CHARS.sub("", line.upper()) for line in raw.splitlines()]
    candidates = [line for line in candidates if len(line) >= 24]
    for count, width in ((2, 44), (3, 30), (2, 36)):
        lines = candidates[-count:] if len(candidates) >= count else []
        if not lines or not all(abs(len(line) - width) <= 4 for line in lines):
            continue
        options = [_length_variants(line, width) for line in lines]
        if all(options):
            best = max(itertools.product(*options), key=lambda combo: mrz_score("\n".join(combo)))
            return list(best)
    return []


def _length_variants(line: str, width: int) -> list[str]:
    variants = {fit_length(line, width)}
    extra = len(line) - width
    for cut in range(max(extra, 0) + 1):  # stray marks read before or after the line
        variants.add(line[cut:len(line) - (extra - cut)])
    return sorted(v for v in variants if len(v) == width)


def fit_length(line: str, width: int) -> str:
    """``line`` at ``width`` characters by growing or shrinking its longest run of fillers
    (where OCR miscounts: a run of identical '<' has nothing to count by); unchanged if it has none."""
    if len(line) == width:
        return line
    runs = list(re.finditer(r"<{2,}", line))
    if not runs:
        return line
    run = max(runs, key=lambda m: (m.end() - m.start(), m.start()))
    new_length = run.end() - run.start() + width - len(line)
    if new_length < 1:
        return line
    return line[:run.start()] + "<" * new_length + line[run.end():]


def mrz_score(text: str) -> float:
    """How much of an MRZ ``text`` is: the share of check digits that hold (0 when it does not parse)."""
    from serasi_web.capture.mrz import MRZFormatError, parse_mrz

    try:
        result = parse_mrz(text)
    except (MRZFormatError, ValueError):
        return 0.0
    return 1.0 / (1 + len(result.errors))


@hookimpl
def serasi_register_decoders(register):
    import importlib.util

    for module in RUNTIME_MODULES:  # found, not imported (see _load)
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    register(MRZOCRDecoder())
