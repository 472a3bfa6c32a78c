"""Synthetic photos of passport data pages, ID-card backs and visas, with the MRZ they carry.

Shared by ``bench.capture_mrz_photos`` (the corpus) and ``tests/test_capture_mrz_ocr.py``: the
MRZ is set in OCR-B (Debian's ``fonts-ocr-b``) at the ICAO pitch of 10 characters per inch, on a
page with a guilloche-like pattern, a portrait box and printed labels, then photographed: page
perspective and rotation, blur, glare, low light, sensor noise and JPEG artefacts.
"""
from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

OCR_B = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_VALUES = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}

SURNAMES = ["SMITH", "NGUYEN", "MUELLER", "OCONNOR", "VAN<DER<BERG", "TANAKA", "GARCIA<LOPEZ", "ERIKSSON", "KOWALSKI",
            "DUBOIS", "ROSSI", "IVANOVA", "WILLIAMS", "KIM", "BJORKLUND", "HERNANDEZ", "OKAFOR", "SCHMIDT", "LI",
            "ABDULLAH", "PETROV", "JANSSEN", "MARTIN", "WONG", "SILVA<SANTOS", "KHAN", "ANDERSEN", "MOREAU", "BAKER"]
GIVEN = ["JOHN", "ANNA<MARIA", "THI<MAI", "PETER", "SOFIA", "YUKI", "JEAN<PAUL", "OLGA", "MOHAMMED", "EMMA", "LUCAS",
         "CHLOE", "MATEO", "HANA", "OLIVER", "AMELIA", "NOAH", "ISABELLA", "LIAM", "ZOE", "MIA<GRACE", "BENJAMIN", ""]
NATIONS = ["AUS", "DEU", "FRA", "GBR", "USA", "NLD", "JPN", "KOR", "CHN", "RUS", "ITA", "ESP", "SWE", "NOR", "POL",
           "VNM", "NZL", "CAN", "IND", "BRA", "D<<", "SGP", "MYS", "CHE", "AUT"]


def check_digit(text: str) -> str:
    """Computed here, independently of serasi_web.capture.mrz, so the truth does not share its bugs."""
    return str(sum(_VALUES[ch] * (7, 3, 1)[i % 3] for i, ch in enumerate(text)) % 10)


@dataclass
class Document:
    kind: str  # "TD3", "TD1" or "MRVA"
    lines: list[str]
    truth: dict = field(default_factory=dict)  # form field -> expected value (as the parser gives it)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _date(rng: random.Random, first_year: int, last_year: int) -> str:
    return f"{rng.randrange(first_year, last_year + 1) % 100:02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"


def _iso(yymmdd: str, birth: bool) -> str:
    yy = int(yymmdd[:2])
    year = 2000 + yy if not birth or yy <= 25 else 1900 + yy
    return f"{year}-{yymmdd[2:4]}-{yymmdd[4:6]}"


def _number(rng: random.Random, length: int = 9) -> str:
    letters = rng.choice(["", "P", "PA", "N", "X", "C", "LK"])
    digits = "".join(rng.choice("0123456789") for _ in range(length - len(letters) - rng.choice((0, 0, 1))))
    return letters + digits


def make_document(rng: random.Random, kind: str = "TD3") -> Document:
    surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    nationality, issuer = rng.choice(NATIONS), rng.choice(NATIONS)
    birth, expiry, sex = _date(rng, 1950, 2020), _date(rng, 2027, 2036), rng.choice("MFMF<")
    number = _number(rng)
    padded = number.ljust(9, "<")
    if kind == "TD1":
        optional1 = "<" * 15
        line1 = f"I<{issuer}{padded}{check_digit(padded)}{optional1}"
        line2_head = f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{nationality}" + "<" * 11
        composite = line1[5:30] + line2_head[0:7] + line2_head[8:15] + line2_head[18:29]
        line2 = line2_head + check_digit(composite)
        line3 = f"{surname}<<{given}".ljust(30, "<")[:30]
        lines = [line1, line2, line3]
    else:
        code = "P<" if kind == "TD3" else "V<"
        line1 = f"{code}{issuer}{surname}<<{given}".ljust(44, "<")[:44]
        if kind == "TD3":
            optional = rng.choice(["<" * 14, "".join(rng.choice("0123456789") for _ in range(8)).ljust(14, "<")])
            optional_digit = "<" if optional == "<" * 14 else check_digit(optional)
            body = f"{padded}{check_digit(padded)}{nationality}{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{optional}{optional_digit}"
            line2 = body + check_digit(body[0:10] + body[13:20] + body[21:43])
        else:
            line2 = f"{padded}{check_digit(padded)}{nationality}{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}".ljust(44, "<")
        lines = [line1, line2]
    name = line1[5:] if kind != "TD1" else lines[2]
    surname_read, _, given_read = name.rstrip("<").partition("<<")
    truth = {"surname": surname_read.replace("<", " "), "given_names": given_read.replace("<", " "),
             "sex": {"<": "X"}.get(sex, sex), "date_of_birth": _iso(birth, True), "nationality": nationality.rstrip("<")}
    if kind == "MRVA":
        truth.update(permit_number=number, permit_valid_until=_iso(expiry, False))
    else:
        truth.update(document_number=number, document_expiry=_iso(expiry, False))
    return Document(kind, lines, truth)


def _font(path: str, pitch_px: float) -> ImageFont.FreeTypeFont:
    """OCR-B at the size whose advance is ``pitch_px`` (ICAO: 2.54 mm per character)."""
    probe = ImageFont.truetype(path, 100)
    return ImageFont.truetype(path, max(6, round(100 * pitch_px / probe.getlength("<"))))


def render_page(document: Document, rng: random.Random, px_per_mm: float = 10.0, smudge: tuple[int, int, str] | None = None,
                mrz: bool = True, worn: tuple[int, int] | None = None) -> Image.Image:
    """The document's page, flat and upright, in RGB. ``smudge`` = (line, column, character) prints
    that character instead of the true one (an ink blot, a worn character); ``worn`` = (line,
    column): the upper part of that character is rubbed off (its lower third stays)."""
    if not os.path.exists(OCR_B):
        raise FileNotFoundError(OCR_B)
    width_mm, height_mm = (85.6, 54.0) if document.kind == "TD1" else (125.0, 88.0)
    width, height = round(width_mm * px_per_mm), round(height_mm * px_per_mm)
    tint = tuple(rng.randrange(200, 245) for _ in range(3))
    page = Image.new("RGB", (width, height), tint)
    draw = ImageDraw.Draw(page)
    # Guilloche-ish security pattern: thin sine waves in a slightly darker tint.
    for k in range(14):
        phase, amplitude, colour = rng.random() * 6.28, height * rng.uniform(0.03, 0.12), tuple(c - rng.randrange(20, 45) for c in tint)
        y0 = height * k / 14
        points = [(x, y0 + amplitude * math.sin(x / width * 6.28 * rng.choice((2, 3, 4)) + phase)) for x in range(0, width, 6)]
        draw.line(points, fill=colour, width=1)
    label_font, value_font = ImageFont.truetype(LABEL_FONT, round(2.0 * px_per_mm)), ImageFont.truetype(LABEL_FONT, round(3.0 * px_per_mm))
    if document.kind != "TD1" or not mrz:
        draw.rectangle([round(6 * px_per_mm), round(12 * px_per_mm), round(38 * px_per_mm), round(52 * px_per_mm)],
                       fill=tuple(rng.randrange(120, 190) for _ in range(3)), outline=(60, 60, 60))
        labels = [("Type / Type", "P"), ("Surname / Nom", document.truth.get("surname", "")), ("Given names / Prénoms", document.truth.get("given_names", "")),
                  ("Nationality", document.truth.get("nationality", "")), ("Date of birth", document.truth.get("date_of_birth", ""))]
        for i, (label, value) in enumerate(labels):
            y = round((11 + i * 8.5) * px_per_mm)
            draw.text((round(42 * px_per_mm), y), label, font=label_font, fill=(70, 70, 90))
            draw.text((round(42 * px_per_mm), y + round(2.4 * px_per_mm)), value, font=value_font, fill=(20, 20, 30))
        draw.text((round(8 * px_per_mm), round(3 * px_per_mm)), "PASSPORT / PASSEPORT", font=value_font, fill=(40, 40, 80))
    if mrz:
        pitch = 2.54 * px_per_mm
        font = _font(OCR_B, pitch)
        line_gap = 4.2 * px_per_mm
        lines = list(document.lines)
        if smudge:
            row, column, ch = smudge
            lines[row] = lines[row][:column] + ch + lines[row][column + 1:]
        top = height - (len(lines) * line_gap) - 3.0 * px_per_mm
        left = (width - len(lines[0]) * pitch) / 2
        ink = tuple(rng.randrange(0, 40) for _ in range(3))
        for i, line in enumerate(lines):
            for j, ch in enumerate(line):  # one character per cell: the fixed pitch ICAO prescribes
                draw.text((left + j * pitch, top + i * line_gap), ch, font=font, fill=ink)
        if worn:
            row, column = worn
            x, y = left + column * pitch, top + row * line_gap
            box = draw.textbbox((x, y), lines[row][column], font=font)
            cut = box[1] + (box[3] - box[1]) * 2 / 3
            draw.rectangle([x - 1, box[1] - 2, x + pitch - 2, cut], fill=page.getpixel((round(x + pitch / 2), round(y - 2))))
    return page


@dataclass
class Shot:
    """How the page is photographed."""

    size: tuple[int, int] = (4000, 3000)
    page_share: float = 0.7  # page width / photo width
    rotation: float = 0.0  # degrees, counter-clockwise
    perspective: float = 0.0  # corner jitter, share of the page size
    blur: float = 0.0  # Gaussian radius in photo pixels
    glare: float = 0.0  # 0..1
    light: float = 1.0  # brightness factor
    noise: float = 6.0
    quality: int = 88


def random_shot(rng: random.Random, size: tuple[int, int]) -> Shot:
    return Shot(size=size, page_share=rng.uniform(0.55, 0.85),
                rotation=rng.choice((0, 0, 0, 90, 180, 270)) + rng.uniform(-8, 8),
                perspective=rng.uniform(0, 0.06), blur=rng.choice((0, 0, 0.8, 1.5, 2.5)) * size[0] / 4000,
                glare=rng.choice((0, 0, 0, 0.5, 0.8)), light=rng.choice((1, 1, 1, 0.6, 0.4)), noise=rng.uniform(3, 12),
                quality=rng.randrange(60, 93))


def photograph(page: Image.Image, shot: Shot, rng: random.Random) -> bytes:
    """The page on a table, as a phone's JPEG."""
    import cv2
    import numpy as np

    width, height = shot.size
    table = np.full((height, width, 3), [rng.randrange(60, 140) for _ in range(3)], np.uint8)
    page_width = shot.page_share * width
    scale = page_width / page.width
    w, h = page.width * scale, page.height * scale
    if abs(math.sin(math.radians(shot.rotation))) > 0.7:  # sideways: keep the page inside the frame
        scale *= min(1.0, 0.9 * height / w)
        w, h = page.width * scale, page.height * scale
    corners = np.float32([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    corners += np.float32([[rng.uniform(-1, 1) * shot.perspective * w, rng.uniform(-1, 1) * shot.perspective * h] for _ in range(4)])
    angle = math.radians(-shot.rotation)
    turn = np.float32([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    corners = corners @ turn.T + np.float32([width / 2, height / 2])
    source = np.float32([[0, 0], [page.width, 0], [page.width, page.height], [0, page.height]])
    matrix = cv2.getPerspectiveTransform(source, corners)
    photo = cv2.warpPerspective(np.asarray(page)[:, :, ::-1], matrix, (width, height), dst=table, borderMode=cv2.BORDER_TRANSPARENT,
                                flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    photo = photo.astype(np.float32)
    if shot.glare:
        cx, cy, r = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height, rng.uniform(0.1, 0.3) * width
        yy, xx = np.ogrid[:height // 8, :width // 8]  # a smooth spot: computed small, then enlarged
        spot = np.exp(-((xx * 8 - cx) ** 2 + (yy * 8 - cy) ** 2) / (2 * r * r)).astype(np.float32) * 255 * shot.glare * 0.7
        photo += cv2.resize(spot, (width, height), interpolation=cv2.INTER_LINEAR)[:, :, None]
    photo *= shot.light
    noise = np.empty((height, width), np.float32)
    cv2.setRNGSeed(rng.randrange(1 << 30))
    cv2.randn(noise, 0, shot.noise)
    photo += noise[:, :, None]
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    if shot.blur:
        photo = cv2.GaussianBlur(photo, (0, 0), shot.blur)
    _ok, encoded = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, shot.quality])
    return encoded.tobytes()


def plain_photo(page: Image.Image, rotation: float = 0.0, size=(2000, 1500), quality: int = 90) -> bytes:
    """A clean photo (for the tests): the page on a grey table, turned by ``rotation`` degrees."""
    return photograph(page, Shot(size=size, rotation=rotation, noise=3, quality=quality), random.Random(1))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


__all__ = ["Document", "Shot", "check_digit", "make_document", "photograph", "plain_photo", "random_shot", "render_page"]
