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
3. Cut the strip into lines by its ink profile and read them with RapidOCR's PP-OCRv4 line
   recogniser, run by our own onnxruntime session and decoded here (``LineRecogniser``: each
   character gets its probability, runner-up and position); fillers lost inside a filler run are
   put back by OCR-B's fixed pitch (in the name field, also a character lost where the recogniser
   saw one faintly), and a line a few characters off its ICAO length is fitted (the variant
   whose check digits hold best).
4. With ``guided=True`` (the default), every field protected by a check digit is read as the
   combination of look-alike characters (O/0, I/1, B/8, S/5, Z/2, G/6, '<' read as K or C)
   whose check digits hold (``serasi_web.capture.mrz.repair_by_check_digits``); a field no
   combination satisfies is left as read, and the parser reports it at its field. In the name,
   a letter whose runner-up was '<' is read as the filler where the name's layout puts fillers
   (``serasi_web.capture.mrz.choose_name_fillers``).

5. Name parts read unsurely (low probability, a guessed character, a fitted line) get a warning
   (``OCRText.warnings``), shown at the field: a name has no check digit.

The work is capped: at most 2000 px are looked at, at most three candidate bands and two
orientations each are read, so a 50 MP photo costs what a 4 MP one does, and reading stops when
``BUDGET_SECONDS`` of CPU are spent.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import time
from dataclasses import dataclass

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
NAME_LINE_SHORTFALL = 8  # characters the line holding the name may be short (others: 4)
_MRZ_CHARS = re.compile(r"[^A-Z0-9<]")


# A photo must not hold a worker for long: bands and orientations are read only while the
# decoder has used less than this many seconds of CPU (its own thread's: the recogniser runs on
# it) and less than WALL_BUDGET_FACTOR times that on the clock. CPU time, so that a busy machine
# does not turn readable photos into misses; the clock cap, so that a request still ends. One
# batch of lines may run over (~0.3-0.6 s). A clean 12 MP photo takes 0.4-0.7 s (docs/benchmarks.md).
BUDGET_SECONDS = 2.5
WALL_BUDGET_FACTOR = 3
# A name character read with less than this probability (among the MRZ characters and blank)
# gets its name part a warning. On 60 corpus photos: every misread name letter but one was
# below 0.9, and right ones: 0.1% below 0.45, 1% below 0.75, 7% below 0.9 (mostly fillers).
NAME_CONFIDENCE = 0.75
# Fillers are read less surely (a clean '<' often at 0.6-0.8, K the runner-up) and a letter read
# as a filler was not seen: a filler warns below this.
FILLER_CONFIDENCE = 0.5
# A letter whose runner-up is '<' at this probability or more may be a filler read as K or C:
# its name part is warned, and where the name's layout puts fillers it is read as one
# (``serasi_web.capture.mrz.choose_name_fillers``). On 200 photos of another corpus seed (2) than
# the benchmark's: every K read for a '<' had '<' at 0.08-0.47; of the letters read right, none
# at 0.05 or more (a true K: '<' at 0.01 at most). At 0.1 a K at 0.89 for PAUL< went unwarned.
FILLER_RUNNER_UP = 0.05


class OCRText(str):
    """The MRZ text the decoder returns, with what the recogniser could not be sure of:
    ``warnings`` (MRZ field -> reason; names only: nothing else proves them) and ``read_as``
    (the lines as read, before the check-digit-guided choice)."""

    warnings: dict
    read_as: str

    def __new__(cls, text: str, warnings: dict | None = None, read_as: str = ""):
        made = super().__new__(cls, text)
        made.warnings, made.read_as = dict(warnings or {}), read_as or text
        return made


def _filler_offered(glyph: Glyph) -> bool:
    """A letter the recogniser also read a little as a filler: it may be one (K for '<')."""
    return glyph.char != "<" and glyph.runner_up == "<" and glyph.runner_up_confidence >= FILLER_RUNNER_UP


def _unsure(glyph: Glyph) -> bool:
    if glyph.restored:  # read below the blank, put back by position: a guess among the engine's candidates
        return True
    if glyph.char == "<":
        return glyph.confidence < FILLER_CONFIDENCE
    # A letter that was also read a little as a filler: "MARIAK" for "MARIA<" (K and '<' are OCR-B's
    # commonest confusion, and a name's shape changes with it), at 0.79 for the K on the corpus.
    return glyph.confidence < NAME_CONFIDENCE or _filler_offered(glyph)


class Deadline:
    """``seconds`` of this thread's CPU time, and WALL_BUDGET_FACTOR times that on the clock."""

    def __init__(self, seconds: float):
        self.cpu = time.thread_time() + seconds
        self.wall = time.perf_counter() + seconds * WALL_BUDGET_FACTOR

    def passed(self) -> bool:
        return time.thread_time() > self.cpu or time.perf_counter() > self.wall


class MRZOCRDecoder:
    last_read_looks_cut = False
    name = "mrz-ocr"
    priority = 80  # after zxing-cpp and zbar, before the zxing-cpp rescue pass
    scaled_only = True  # it reads at READ_LONG_SIDE whatever it is given: no second run on the full-size image

    def __init__(self, guided: bool = True, engine: str = "rapidocr", budget_seconds: float = BUDGET_SECONDS):
        self.guided = guided
        self.engine = engine
        self.budget_seconds = budget_seconds

    def available(self) -> bool:
        return engine_available(self.engine)

    def decode(self, image) -> list[str]:
        from PIL import Image

        _load()
        deadline = Deadline(self.budget_seconds)
        if min(image.size) < 60:  # nothing the size of an MRZ can be in it
            return []
        grey = image.convert("L")
        if max(grey.size) > READ_LONG_SIDE:
            grey.thumbnail((READ_LONG_SIDE, READ_LONG_SIDE), Image.BILINEAR)
        pixels = np.asarray(grey)
        best = None
        for band in find_bands(pixels)[:MAX_BANDS]:
            if deadline.passed():
                break
            for text in self.read_band(pixels, band, deadline):
                score = mrz_score(text)
                if best is None or score > best[0]:
                    best = (score, text)
                if score >= 1.0:
                    return [text]
        return [best[1]] if best and best[0] > 0 else []

    def read_band(self, pixels, band, deadline: Deadline | None = None):
        """The band's MRZ text as read level, then (if that gave no full MRZ) half a turn round.

        Upside down, OCR-B's '<' reads as '>': when the first line shows more '>' than '<' the
        band is read the other way round first. A band that gave two lines of ID-card length
        held two of a card's three lines: it is cut again with a line more above and below."""
        upright, turned = upright_strips(pixels, band)
        upright_crops = line_crops(upright)
        first = read_lines(self.engine, upright_crops[:1])[0] if upright_crops else []
        if text_of(first).count("<") > text_of(first).count(">"):
            order = [(0, upright, (upright_crops, first)), (1, turned, None)]
        else:
            turned_crops = line_crops(turned)
            turned_first = read_lines(self.engine, turned_crops[:1])[0] if turned_crops else []
            if "<" not in text_of(turned_first) and "<" not in text_of(first):  # an MRZ line has fillers: this is none
                return
            order = [(1, turned, (turned_crops, turned_first)), (0, upright, (upright_crops, first))]
        deadline = deadline or Deadline(float("inf"))
        for turn, strip, known in order:
            if deadline.passed():
                return
            lines = self.read_lines(strip, known)
            if not lines and self.last_read_looks_cut and not deadline.passed():
                lines = self.read_lines(upright_strips(pixels, band, taller=True)[turn])
            if lines:
                yield self.finish(lines)

    def read_lines(self, strip, known=None) -> list[list[Glyph]]:
        """The MRZ lines as the engine read them (cleaned, brought to length, not yet repaired)."""
        crops, first = known or (line_crops(strip), None)
        read = ([first] if first is not None else []) + read_lines(self.engine, crops[1 if first is not None else 0:])
        lines = mrz_lines(read)
        cleaned = [len(_MRZ_CHARS.sub("", text_of(line))) for line in read]
        self.last_read_looks_cut = not lines and sum(26 <= n <= 34 for n in cleaned) == 2
        return lines

    def read_strip(self, strip, known=None) -> str | None:
        """The MRZ lines in ``strip`` (an upright grey array), cleaned, or None when it holds none.
        ``known``: its line crops and the first one's reading, when already read."""
        lines = self.read_lines(strip, known)
        return self.finish(lines) if lines else None

    def finish(self, lines: list[list[Glyph]]) -> OCRText:
        """The lines' text after the check-digit-guided choice (and, in the name, the fillers
        chosen among the recogniser's candidates by the name's layout), with a warning on each
        name part that holds a character read with low confidence, changed by the choice (a digit
        read in a name, a letter read as a filler), put back by position, or a filler run resized
        to fit the line (a letter may be missing or doubled), and on a document number the
        choice changed (its check digits cannot prove the change)."""
        from serasi_web.capture.mrz import choose_name_fillers, corrected_number_warnings, name_warnings, repair_by_check_digits

        read = [text_of(line) for line in lines]
        repaired = read
        if self.guided:
            offered = {(row, column) for row, line in enumerate(lines) for column, glyph in enumerate(line) if _filler_offered(glyph)}
            repaired = choose_name_fillers(repair_by_check_digits(read), offered)
        doubtful = {(row, column) for row, (line, text) in enumerate(zip(lines, repaired)) for column, glyph in enumerate(line)
                    if text[column] != glyph.char or _unsure(glyph)}
        fitted = {(row, column) for row, line in enumerate(lines) for column, glyph in enumerate(line) if glyph.fitted}
        warnings = {**corrected_number_warnings(read, repaired), **name_warnings(repaired, doubtful, fitted)}
        return OCRText("\n".join(repaired), warnings, read_as="\n".join(read))


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


@dataclass(frozen=True)
class Glyph:
    """One character as the recogniser read it. ``confidence``: its probability at its most
    certain step (1.0 from an engine that gives none); ``runner_up``: the next likeliest MRZ
    character there; ``fitted``: put in, or next to a filler taken out, to bring the line to length;
    ``faint_before``: the likeliest MRZ character where the recogniser saw something between the
    glyph before and this one but blank or a non-MRZ sign won (None: nothing there);
    ``restored``: such a faint character put back because the characters' positions show one lost there."""

    char: str
    confidence: float = 1.0
    runner_up: str = ""
    runner_up_confidence: float = 0.0
    fitted: bool = False
    step: float = -1.0  # where along the line it was read (the model's 8 px steps); -1: unknown
    extent: int = 1  # how many steps in a row it was the likeliest character
    faint_before: Glyph | None = None
    restored: bool = False


def text_of(glyphs) -> str:
    return "".join(glyph.char for glyph in glyphs)


def read_line(crop, engine: str) -> str:
    """One MRZ line's text as the engine reads it (not yet cleaned)."""
    return text_of(read_lines(engine, [crop])[0])


def read_lines(engine: str, crops: list) -> list[list[Glyph]]:
    """The engine's reading of each line crop, character by character (one batch for RapidOCR)."""
    if not crops:
        return []
    if engine in OTHER_ENGINES:
        return [[Glyph(ch) for ch in text] for text in OTHER_ENGINES[engine][1](crops)]
    _load()
    return _recogniser().read(crops)


_rapid = None


def _recogniser() -> LineRecogniser:
    global _rapid
    if _rapid is None:
        _rapid = LineRecogniser()
    return _rapid


# Line images are padded to one of these widths (after scaling to the model's 48 px height), so
# onnxruntime sees a handful of input shapes instead of a new one per photo.
INPUT_HEIGHT = 48
# A character seen between two read ones but below blank or a non-MRZ sign (see ``_decode``): at
# least this probability. On the corpus a lost J had 0.32 and a lost Z 0.23 (with 2 at 0.16).
FAINT_PROBABILITY = 0.1
INPUT_WIDTHS = (640, 960, 1280, 1600, 1920, 2240)
MRZ_ALPHABET = WHITELIST + ">"  # '>' only tells that the band is upside down; it is dropped after
# Classes of the (Chinese and English) model that OCR-B characters are read as, besides the
# ASCII ones and their full-width and lower-case forms: an X is often '×', a C '℃' (seen on
# the corpus), and Cyrillic/Greek capitals look the same as Latin ones.
LOOKALIKE_CLASSES = {"×": "X", "℃": "C", "〈": "<", "く": "<", "‹": "<", "«": "<", "〇": "0",
                     **dict(zip("АВЕКМНОРСТХІ", "ABEKMHOPCTXI")), **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX"))}


class LineRecogniser:
    """RapidOCR's PP-OCRv4 line recogniser (ONNX, shipped in the ``rapidocr-onnxruntime`` wheel:
    nothing is downloaded), run by our own onnxruntime session and decoded here.

    RapidOCR's own wrapper gives one score per line. The model's output is a probability for each
    of its 6,625 classes at every step (8 px) of the line; decoding it here (greedy CTC over the
    MRZ characters only, lower case counted as upper case) gives each character its own
    probability and runner-up, which the check-digit-guided choice and the name warnings use.
    The session runs without onnxruntime's memory arena (it keeps buffers sized for the largest
    input seen) and on one thread: a web worker serves one photo at a time, and on the shared
    2-core machine a second thread made a batch 1.5-2x slower under load (docs/benchmarks.md).
    (Turning the memory pattern off too made it twice as slow.)"""

    def __init__(self):
        from pathlib import Path

        import onnxruntime

        model = Path(rapidocr_onnxruntime.__file__).resolve().parent / "models" / "ch_PP-OCRv4_rec_infer.onnx"
        options = onnxruntime.SessionOptions()
        options.enable_cpu_mem_arena = False
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        import unicodedata

        classes = ["blank", *self.session.get_modelmeta().custom_metadata_map["character"].splitlines(), " "]
        # For each MRZ character the model's classes that mean it (upper and lower case, full width, look-alikes).
        self.columns = [[] for _ in MRZ_ALPHABET]
        for i, name in enumerate(classes[1:-1], 1):
            meant = LOOKALIKE_CLASSES.get(name) or unicodedata.normalize("NFKC", name).upper()
            if len(meant) == 1 and meant in MRZ_ALPHABET:
                self.columns[MRZ_ALPHABET.index(meant)].append(i)
        self.input_name = self.session.get_inputs()[0].name

    def read(self, crops: list) -> list[list[Glyph]]:
        batch = [self._prepare(crop) for crop in crops]
        width = max(image.shape[2] for image in batch)
        padded = np.zeros((len(batch), 3, INPUT_HEIGHT, width), np.float32)  # 0 = mid grey after normalising, as PaddleOCR pads
        for i, image in enumerate(batch):
            padded[i, :, :, :image.shape[2]] = image
        output = self.session.run(None, {self.input_name: padded})[0]
        return [self._decode(probabilities) for probabilities in output]

    @staticmethod
    def _prepare(crop):
        height, width = crop.shape[:2]
        scaled = max(1, min(INPUT_WIDTHS[-1], round(INPUT_HEIGHT * width / max(height, 1))))
        line = cv2.resize(crop, (scaled, INPUT_HEIGHT), interpolation=cv2.INTER_AREA if height > INPUT_HEIGHT else cv2.INTER_LINEAR)
        bucket = next(w for w in INPUT_WIDTHS if w >= scaled)
        image = np.zeros((3, INPUT_HEIGHT, bucket), np.float32)
        image[:, :, :scaled] = line.astype(np.float32) / 127.5 - 1.0
        return image

    def _decode(self, probabilities) -> list[Glyph]:
        """Greedy CTC over blank, the MRZ characters and "anything else" (which, like the old
        whitelist filter, emits nothing). Between two characters, the step where an MRZ character
        was likeliest is kept as the second one's ``faint_before`` when blank did not dominate
        there (< 0.5) and that character had at least FAINT_PROBABILITY: a character the model saw
        but read as no MRZ character (a J as some other script's sign) or just under blank."""
        symbols = np.stack([probabilities[:, cols].sum(axis=1) for cols in self.columns], axis=1)
        other = np.clip(1.0 - probabilities[:, 0] - symbols.sum(axis=1), 0.0, 1.0)
        table = np.concatenate([probabilities[:, :1], symbols, other[:, None]], axis=1)  # 0 blank, 1.. symbols, last other
        best = table.argmax(axis=1)
        last = table.shape[1] - 1
        runs, previous, peak, first = [], -1, None, 0  # (peak step, label, first step, end step) of each character
        for step, label in enumerate(best):
            if label != previous and peak is not None:
                runs.append((*peak, first, step))
                peak = None
            if label != previous:
                first = step
            if 0 < label < last and (peak is None or table[step, label] > table[peak[0], label]):
                peak = (step, label)
            previous = label
        if peak is not None:
            runs.append((*peak, first, len(best)))
        likeliest = table[:, 1:last].max(axis=1)
        glyphs, after = [], None  # after: the end step of the character before
        for step, label, start, end in runs:
            faint = None
            if after is not None and start > after:
                between = after + int(likeliest[after:start].argmax())
                if likeliest[between] >= FAINT_PROBABILITY and table[between, 0] < 0.5:
                    faint = self._glyph(table, between, 1 + int(table[between, 1:last].argmax()))
            glyphs.append(self._glyph(table, step, label, extent=end - start, faint_before=faint))
            after = end
        return glyphs

    @staticmethod
    def _glyph(table, step: int, label: int, extent: int = 1, faint_before: Glyph | None = None) -> Glyph:
        """The character at its most certain step, its probability among the MRZ characters and
        blank there (a '<' also read a little as a similar sign of another script is no doubt
        about which MRZ character it is), and its runner-up."""
        row = table[step, :-1] / max(float(table[step, :-1].sum()), 1e-9)
        symbols = row[1:]
        order = np.argsort(symbols)[::-1]
        second = int(order[1]) if order[0] == label - 1 else int(order[0])
        return Glyph(MRZ_ALPHABET[label - 1], float(symbols[label - 1]), MRZ_ALPHABET[second], float(symbols[second]), step=step,
                     extent=extent, faint_before=faint_before)


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
    for pitch in (9, 15, 21):  # characters of about 6-28 px at 1000 px: the page filling a quarter to all of the photo (an ID card close up)
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


def upright_strips(pixels, band, taller: bool = False):
    """The band cut out level (long side horizontal), and the same turned half a turn;
    ``taller``: with about a line more above and below (a band that held two of three lines)."""
    (cx, cy), (w, h), angle = band
    if h > w:  # minAreaRect's angle is for its w side: make the long side horizontal
        w, h, angle = h, w, angle - 90
    pad_w, pad_h = w * 0.06 + 10, h * 0.35 + 10
    char_height = (h + 2 * pad_h) / (2.5 * 1.9)  # a band holds 2-3 lines at a line pitch of ~1.9 character heights
    if taller:
        pad_h += h * 0.6
    out_w, out_h = int(w + 2 * pad_w), int(h + 2 * pad_h)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += out_w / 2 - cx
    matrix[1, 2] += out_h / 2 - cy
    strip = cv2.warpAffine(pixels, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    strip = normalise(strip, char_height)
    return strip, cv2.rotate(strip, cv2.ROTATE_180)


def normalise(strip, char_height: float):
    """Characters of about 32 px, glare and dim light evened out, dark text on white."""
    factor = min(3.0, max(0.4, 32 / max(char_height, 1)))
    strip = cv2.resize(strip, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA)
    background = cv2.morphologyEx(strip, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (41, 41)))
    flat = cv2.divide(strip, background, scale=255)
    return cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX)


def mrz_lines(read) -> list[list[Glyph]]:
    """The 2 or 3 MRZ lines in the engine's reading (lines of glyphs, or plain strings), each
    brought to its ICAO length, or [] when it holds none.

    A line a few characters too long or short is tried several ways (stray marks cut from either
    end, its longest filler run resized) and the combination whose check digits hold best wins.
    Glyphs of a resized filler run are marked ``fitted``: a letter dropped or doubled elsewhere in
    the line is made up for there, which no check digit sees in a name. Characters lost and seen
    faintly are put back in the name field only (``_unmerge_fillers``)."""
    lines = [[g for g in (line if not isinstance(line, str) else [Glyph(ch) for ch in line.upper()]) if g.char in WHITELIST]
             for line in read]
    kept = [index for index, line in enumerate(lines) if len(_unmerge_fillers(line)) >= 24]
    for count, width in ((2, 44), (3, 30), (2, 36)):
        name_row = 2 if count == 3 else 0
        chosen = [_unmerge_fillers(lines[index], restore_from=(0 if count == 3 else 5) if row == name_row else None)
                  for row, index in enumerate(kept[-count:])] if len(kept) >= count else []
        # The name line may have lost more (blurred letters): its other fields are still worth
        # reading, and the fit puts a warning on the name.
        if not chosen or not all(-(NAME_LINE_SHORTFALL if row == name_row else 4) <= len(line) - width <= 4
                                 for row, line in enumerate(chosen)):
            continue
        options = [_length_variants(line, width) for line in chosen]
        if all(options):
            return list(max(itertools.product(*options), key=lambda combo: mrz_score("\n".join(text_of(line) for line in combo))))
    return []


def _unmerge_fillers(line: list[Glyph], restore_from: int | None = None) -> list[Glyph]:
    """``line`` with the characters the recogniser lost put back, when that brings the line
    nearer an ICAO length: OCR-B has a fixed pitch, so two fillers read k pitches apart had
    k - 1 fillers between them (blurred, a run of '<' is read with gaps), and a filler that was
    the likeliest character for several pitches in a row stood for that many (greedy CTC merges
    what it sees as one). With ``restore_from`` (the column where the name field starts, in the
    line holding it), a gap of one character next to a letter from that column on gets the
    character the recogniser saw faintly there (``faint_before``), marked ``restored``: the name
    part holding it is warned. Elsewhere (and with none seen) what was there is unknown and the
    gap is left: a check digit is no proof against a guessed digit (a look-alike swap elsewhere
    in the field can make up for it)."""
    steps = [glyph.step for glyph in line]
    if len(line) < 8 or min(steps) < 0:
        return line
    gaps = sorted(b - a for a, b in itertools.pairwise(steps))
    pitch = gaps[len(gaps) // 2]
    if pitch <= 0:
        return line
    pitch = sum(single := [gap for gap in gaps if 0.6 * pitch <= gap <= 1.4 * pitch]) / len(single)
    single_width = sorted(glyph.extent for glyph in line)[len(line) // 2]
    out: list[Glyph] = []
    for glyph in line:
        if out and glyph.char == "<" and out[-1].char == "<":
            missing = round((glyph.step - out[-1].step) / pitch) - 1
            out += [Glyph("<", FILLER_CONFIDENCE, step=out[-1].step + (k + 1) * pitch) for k in range(max(0, missing))]
        elif (restore_from is not None and len(out) >= restore_from and (faint := glyph.faint_before) is not None
              and round((glyph.step - out[-1].step) / pitch) == 2 and out[-1].step + pitch / 2 < faint.step < glyph.step - pitch / 2):
            out.append(dataclasses.replace(faint, restored=True))
        merged = round((glyph.extent - single_width) / pitch) + 1 if glyph.char == "<" and glyph.extent > single_width + pitch else 1
        if merged > 1:
            out += [Glyph("<", FILLER_CONFIDENCE, step=glyph.step - glyph.extent / 2 + (k + 0.5) * glyph.extent / merged)
                    for k in range(merged)]
        else:
            out.append(glyph)

    def distance(glyphs):
        return min(abs(len(glyphs) - width) for width in LINE_WIDTHS)
    return out if distance(out) < distance(line) else line


def _length_variants(line: list[Glyph], width: int) -> list[list[Glyph]]:
    variants = {}
    extra = len(line) - width
    for variant in [fit_length(line, width), *(line[cut:len(line) - (extra - cut)] for cut in range(max(extra, 0) + 1))]:
        if len(variant) == width:  # stray marks read before or after the line are cut off
            variants.setdefault(text_of(variant), variant)
    return [variants[text] for text in sorted(variants)]


def fit_length(line, width: int):
    """``line`` (glyphs or a string) at ``width`` characters by growing or shrinking its longest
    run of fillers (where OCR miscounts: a run of identical '<' has nothing to count by);
    unchanged if it has none. The glyphs of the resized run are marked ``fitted``."""
    if isinstance(line, str):
        return text_of(fit_length([Glyph(ch) for ch in line], width))
    if len(line) == width:
        return line
    runs = list(re.finditer(r"<{2,}", text_of(line)))
    if not runs:
        return line
    run = max(runs, key=lambda m: (m.end() - m.start(), m.start()))
    new_length = run.end() - run.start() + width - len(line)
    if new_length < 1:
        return line
    if _run_length_by_position(line, run.start(), run.end()) == new_length:
        # Where the characters stand says the run itself was miscounted (two fillers read as
        # one) and nothing is missing or doubled elsewhere: the fit is measured, not guessed.
        return line[:run.start()] + [Glyph("<", 0.99)] * new_length + line[run.end():]
    return line[:run.start()] + [Glyph("<", 0.0, fitted=True)] * new_length + line[run.end():]


def _run_length_by_position(line: list[Glyph], start: int, end: int) -> int | None:
    """How many characters the filler run ``line[start:end]`` spans by where the recogniser read
    them and their neighbours (OCR-B has a fixed pitch), when every character away from the run
    stands about one pitch after the one before it; else None (a letter may be lost or doubled)."""
    steps = [glyph.step for glyph in line]
    if len(steps) < 10 or min(steps) < 0:
        return None
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    pitch = sorted(gaps)[len(gaps) // 2]
    if pitch <= 0:
        return None
    pitch = sum(single := [gap for gap in gaps if 0.6 * pitch <= gap <= 1.4 * pitch]) / len(single)  # steps are whole numbers: average them
    if any(not 0.6 * pitch <= gap <= 1.4 * pitch for i, gap in enumerate(gaps) if not start - 1 <= i < end):
        return None
    left = start - 1 if start > 0 else start  # the neighbours, which are no part of the run
    right = end if end < len(line) else end - 1
    return round((steps[right] - steps[left]) / pitch) + 1 - (left < start) - (right >= end)


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
