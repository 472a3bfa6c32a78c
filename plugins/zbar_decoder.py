"""Bundled decoder: zbar through pyzbar, the fallback when zxing-cpp finds nothing.

It still rescues some low-contrast or tiny codes. Available only where the zbar library is
installed (Debian: libzbar0); without it the decoder says so and is skipped.
"""
from __future__ import annotations

from serasi_web import hookimpl


def _pyzbar():
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):  # OSError/ImportError: libzbar0 missing
        return None
    return pyzbar


class ZbarDecoder:
    name = "zbar"
    priority = 20

    def available(self) -> bool:
        return _pyzbar() is not None

    def decode(self, image) -> list[str]:
        texts = []
        for symbol in _pyzbar().decode(image):
            try:
                texts.append(symbol.data.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(symbol.data.decode("latin-1"))
        return texts


@hookimpl(trylast=True)
def serasi_register_decoders(register):
    register(ZbarDecoder())
