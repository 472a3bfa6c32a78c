"""Tesseract (Debian ``tesseract-ocr``, through pytesseract: a dev dependency) as an MRZ engine,
only to compare it with RapidOCR in ``bench.capture_mrz_photos``; the app never uses it."""
from __future__ import annotations

import os
import shutil

from plugins import mrz_ocr

CONFIG = (f"--oem 1 --psm 7 -c tessedit_char_whitelist={mrz_ocr.WHITELIST} -c load_system_dawg=0 -c load_freq_dawg=0")


def available() -> bool:
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return shutil.which("tesseract") is not None


def read(crops: list) -> list[str]:
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one photo, one core: Tesseract's threads only add overhead here
    try:
        return [pytesseract.image_to_string(crop, lang="eng", config=CONFIG, timeout=4) for crop in crops]
    except RuntimeError:  # pytesseract's timeout
        return [""] * len(crops)


mrz_ocr.OTHER_ENGINES["tesseract"] = (available, read)
