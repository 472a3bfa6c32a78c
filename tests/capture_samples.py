"""Images and MRZ lines made on the fly for the capture tests and benchmarks."""
from __future__ import annotations

import io
import struct
import zlib

import segno
from PIL import Image


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
