"""Images and MRZ lines made on the fly for the capture tests and benchmarks."""
from __future__ import annotations

import io
import struct
import zlib

import segno
from PIL import Image, ImageDraw


def qr_image(text: str, scale: int = 8, border: int = 4) -> Image.Image:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale, border=border)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def photo_bytes(image: Image.Image, fmt: str = "JPEG", **save) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB" if fmt == "JPEG" else image.mode).save(buffer, fmt, **save)
    return buffer.getvalue()


def qr_photo(text: str, fmt: str = "JPEG", canvas=(1200, 900), at=(300, 200), scale: int = 8) -> bytes:
    """A QR code on a light grey page, like a phone photo of a sticker."""
    page = Image.new("L", canvas, 215)
    page.paste(qr_image(text, scale=scale), at)
    return photo_bytes(page, fmt)


INTERLEAVED_2_OF_5 = ("nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn")


def interleaved_2_of_5(digits: str, narrow: int = 4, height: int = 120) -> Image.Image:
    """A 1D bar code (Interleaved 2 of 5, an even number of digits): the symbology zbar once
    found in a noisy photo's grain."""
    widths = [1, 1, 1, 1]  # start: narrow bar, space, bar, space
    for first, second in zip(digits[::2], digits[1::2]):
        for bar, space in zip(INTERLEAVED_2_OF_5[int(first)], INTERLEAVED_2_OF_5[int(second)]):
            widths += [3 if bar == "w" else 1, 3 if space == "w" else 1]
    widths += [3, 1, 1]  # stop: wide bar, space, narrow bar
    image = Image.new("L", ((sum(widths) + 20) * narrow, height + 40), 255)
    draw, x = ImageDraw.Draw(image), 10 * narrow
    for index, width in enumerate(widths):
        if index % 2 == 0:
            draw.rectangle((x, 20, x + width * narrow - 1, 20 + height), fill=0)
        x += width * narrow
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file that declares a huge image (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _check_digit(text: str) -> str:
    values = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}
    return str(sum(values[ch] * (7, 3, 1)[i % 3] for i, ch in enumerate(text)) % 10)


def td3(surname="SMITH", given="JOHN<PETER", number="PA1234567", nationality="AUS", birth="800101", sex="M",
        expiry="340101", optional="") -> str:
    """Two valid TD3 passport lines (check digits computed independently of our parser)."""
    line1 = f"P<{nationality:<<3}{surname}<<{given}".ljust(44, "<")[:44]
    number = number.ljust(9, "<")
    optional = optional.ljust(14, "<")
    optional_digit = "<" if optional == "<" * 14 else _check_digit(optional)
    body = number + _check_digit(number) + f"{nationality:<<3}" + birth + _check_digit(birth) + sex + expiry + _check_digit(expiry) + optional + optional_digit
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1 + "\n" + body + _check_digit(composite)


def phone_photo(texts: list[str], size=(4000, 3000), module_px: int = 12, quality: int = 90) -> bytes:
    """A 12 MP phone photo of a page with QR codes: sensor-like noise (so the JPEG weighs what a
    phone's does, a few MB), stored sideways with the EXIF orientation tag that turns it upright."""
    width, height = size
    page = Image.effect_noise(size, 18).point(lambda v: 120 + v // 3)
    x = width // 10
    for text in texts:
        code = qr_image(text, scale=module_px)
        page.paste(code, (x, (height - code.height) // 2))
        x += code.width + width // 20
    sideways = page.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 degrees clockwise to view
    return photo_bytes(sideways, "JPEG", quality=quality, exif=exif.tobytes())
