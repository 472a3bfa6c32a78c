"""Bundled decoder: zbar through pyzbar, the fallback when zxing-cpp finds nothing.

It still rescues some low-contrast or tiny codes. Available only where the zbar library is
installed (Debian: libzbar0); without it the decoder says so and is skipped. It looks for QR codes
only, the one format of zxing-cpp's list (zxing_decoder.FORMATS) that zbar reads: its 1D readers
found bars in a noisy photo's grain (an "I25" 610940 in a hard sticker photo, which then stopped
the pipeline with a wrong text) and took 2-4x the time (bench/capture_hard_qr.py, docs/benchmarks.md).
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
        pyzbar = _pyzbar()
        for symbol in pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE]):
            try:
                texts.append(symbol.data.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(symbol.data.decode("latin-1"))
        return texts


@hookimpl(trylast=True)
def serasi_register_decoders(register):
    register(ZbarDecoder())
