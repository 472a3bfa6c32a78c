"""Bundled decoder: zxing-cpp, the first and fastest (2-16x faster than zbar in our measurements).

The normal pass; a rescue pass (light blur + global-histogram binarizer) that runs after every
other decoder found nothing, as it reads some blurry low-resolution codes; and the hard-photo
passes (lighting flattened, equalized, contrast stretched, sharpened, denoised) that
decode_photo runs last, for faded, glared, dark, blurred or noisy sticker photos.
"""
from __future__ import annotations

from serasi_web import hookimpl

try:
    import zxingcpp
except ImportError:  # pragma: no cover - a hard dependency, but never crash the app over it
    zxingcpp = None

if zxingcpp is not None:
    FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode, zxingcpp.BarcodeFormat.DataMatrix,
               zxingcpp.BarcodeFormat.PDF417, zxingcpp.BarcodeFormat.Aztec)


class ZxingDecoder:
    name = "zxing-cpp"
    priority = 10

    def available(self) -> bool:
        return zxingcpp is not None

    def decode(self, image) -> list[str]:
        # Plain text mode keeps the payload exactly (control characters included).
        return [r.text for r in zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)]


class ZxingRescueDecoder(ZxingDecoder):
    name = "zxing-cpp (rescue)"
    priority = 90

    def decode(self, image) -> list[str]:
        from PIL import ImageFilter

        softened = image.filter(ImageFilter.GaussianBlur(1))
        return [r.text for r in zxingcpp.read_barcodes(softened, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain,
                                                        binarizer=zxingcpp.Binarizer.GlobalHistogram)]


# Passes for hard photos (small, faded, glared, blurred, noisy, dark or heavily compressed codes).
# Each is a decoder of its own after the rescue pass, so it runs only when every earlier decoder
# found nothing on this image; the first that reads a code wins. Measured in
# bench/capture_hard_qr.py (docs/benchmarks.md, "Capture (e)").

def _stretch_contrast(image):
    """Faded print, grey on grey, or a dark photo: spread the grey levels over the full range."""
    from PIL import ImageOps

    return ImageOps.autocontrast(image, cutoff=1)


def _equalize(image):
    """A very dark or flat photo: equalize the histogram (stronger than a linear stretch)."""
    from PIL import ImageOps

    return ImageOps.equalize(image)


def _flatten_lighting(image):
    """Glare or uneven light: subtract the local mean so every part of the code has its own contrast."""
    from PIL import ImageChops, ImageFilter, ImageOps

    background = image.filter(ImageFilter.BoxBlur(max(8, min(image.size) // 100)))
    return ImageOps.autocontrast(ImageChops.subtract(image, background, 1, 128), cutoff=0.5)


def _sharpen(image):
    """Out of focus or shaken: an unsharp mask restores the module edges."""
    from PIL import ImageFilter

    return image.filter(ImageFilter.UnsharpMask(radius=3, percent=200, threshold=2))


def _denoise(image):
    """Heavy sensor noise or JPEG blocks: a median filter keeps edges while removing speckle."""
    from PIL import ImageFilter

    return image.filter(ImageFilter.MedianFilter(3))


class ZxingEnhancedDecoder(ZxingDecoder):
    """zxing-cpp's normal reader on the image after one enhancement: a hard-photo pass, run by
    decode_photo only after every other decoder found nothing at both sizes, on the scaled image
    (at 12 MP each pass would cost 1-3 s) and only while its time budget lasts."""

    hard_photo_pass = True

    def __init__(self, name: str, priority: int, enhance):
        self.name = name
        self.priority = priority
        self.enhance = enhance

    def decode(self, image) -> list[str]:
        return super().decode(self.enhance(image))


def hard_photo_decoders() -> list[ZxingDecoder]:
    return [
        # The most productive first, as measured on the hard set (bench/capture_hard_qr.py).
        ZxingEnhancedDecoder("zxing-cpp (lighting flattened)", 91, _flatten_lighting),
        ZxingEnhancedDecoder("zxing-cpp (equalized)", 92, _equalize),
        ZxingEnhancedDecoder("zxing-cpp (contrast stretched)", 93, _stretch_contrast),
        ZxingEnhancedDecoder("zxing-cpp (sharpened)", 94, _sharpen),
        ZxingEnhancedDecoder("zxing-cpp (denoised)", 95, _denoise),
    ]


HARD_PHOTO_DECODER_NAMES = frozenset(decoder.name for decoder in hard_photo_decoders())


@hookimpl(trylast=True)
def serasi_register_decoders(register):
    register(ZxingDecoder())
    register(ZxingRescueDecoder())
    for decoder in hard_photo_decoders():
        register(decoder)
