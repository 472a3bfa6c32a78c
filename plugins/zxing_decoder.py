"""Bundled decoder: zxing-cpp, the first and fastest (2-16x faster than zbar in our measurements).

The normal pass; a rescue pass (light blur + global-histogram binarizer) that runs after every
other decoder found nothing, as it reads some blurry low-resolution codes; and the hard-photo
passes that decode_photo runs only after every other decoder found nothing at both sizes, for
small, faded, glared, dark, blurred or noisy sticker photos: small codes enlarged (on the
full-size image), then lighting flattened, equalized, contrast stretched, sharpened, denoised.
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
# Each is a decoder of its own, marked ``hard_photo_pass``: decode_photo runs them in priority
# order only when every other decoder found nothing at both sizes, within a time budget; the
# first that reads a code wins. Measured in
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

    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=300, threshold=0))


def _denoise(image):
    """Heavy sensor noise or JPEG blocks: a median filter keeps edges while removing speckle."""
    from PIL import ImageFilter

    return image.filter(ImageFilter.MedianFilter(3))


class ZxingEnhancedDecoder(ZxingDecoder):
    """zxing-cpp's normal reader on the image after one enhancement: a hard-photo pass, run by
    decode_photo only after every other decoder found nothing at both sizes, on the scaled image
    (at 12 MP each pass would cost 1-3 s) and only while its time budget lasts."""

    hard_photo_pass = True

    def __init__(self, name: str, priority: int, enhance, binarizers=("LocalAverage",)):
        self.name = name
        self.priority = priority
        self.enhance = enhance
        self.binarizers = binarizers

    def decode(self, image) -> list[str]:
        enhanced = self.enhance(image)
        for binarizer in self.binarizers:
            texts = [r.text for r in zxingcpp.read_barcodes(enhanced, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain,
                                                            binarizer=getattr(zxingcpp.Binarizer, binarizer))]
            if texts:
                return texts
        return []


class ZxingRegionsDecoder(ZxingDecoder):
    """A code too small for the reader (60-150 px in a 12 MP photo): find the patches where
    nearly every pixel is a strong edge, as a code's modules make them, enlarge each 3x and read
    it with a fixed threshold (at two or three pixels a module the adaptive binarizers lose the
    modules). Runs on the full-size image, the only one where such a code still has its modules."""

    name = "zxing-cpp (small code enlarged)"
    priority = 91
    hard_photo_pass = True
    full_size = True
    cell = 8
    max_regions = 8

    def decode(self, image) -> list[str]:
        from PIL import Image

        for box in self.regions(image):
            patch = image.crop(box)
            patch = patch.resize((patch.width * 3, patch.height * 3), Image.BICUBIC)
            for binarizer in (zxingcpp.Binarizer.FixedThreshold, zxingcpp.Binarizer.LocalAverage):
                texts = [r.text for r in zxingcpp.read_barcodes(patch, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain,
                                                                binarizer=binarizer)]
                if texts:
                    return texts
        return []

    def regions(self, image) -> list[tuple[int, int, int, int]]:
        """Boxes around connected patches dense with strong edges, the most square and dense first."""
        from PIL import ImageChops, ImageFilter

        cell = self.cell
        columns, rows = image.width // cell, image.height // cell
        if columns < 3 or rows < 3:
            return []
        # Strong edges only (a passport page's faint guilloche and sensor noise stay below), then
        # the share of edge pixels per cell; the 3x3 minimum drops lines one cell wide (a page's
        # border, a printed bar's outline) and keeps patches dense in every direction.
        # Differences with the neighbours right and below: a tenth of FIND_EDGES' time at 12 MP.
        area = image.crop((0, 0, columns * cell, rows * cell))
        edges = ImageChops.lighter(ImageChops.difference(area, ImageChops.offset(area, 1, 0)),
                                   ImageChops.difference(area, ImageChops.offset(area, 0, 1))).point(lambda v: 255 if v > 40 else 0)
        density = edges.reduce(cell).filter(ImageFilter.MinFilter(3)).tobytes()
        threshold = 70
        seen = bytearray(len(density))
        blobs = []
        for start in [index for index, value in enumerate(density) if value >= threshold]:
            if seen[start]:
                continue
            seen[start] = 1
            stack, cells, total = [start], [], 0
            while stack:
                index = stack.pop()
                cells.append(index)
                total += density[index]
                x, y = index % columns, index // columns
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    neighbour = ny * columns + nx
                    if 0 <= nx < columns and 0 <= ny < rows and not seen[neighbour] and density[neighbour] >= threshold:
                        seen[neighbour] = 1
                        stack.append(neighbour)
            xs = [index % columns for index in cells]
            ys = [index // columns for index in cells]
            width, height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
            if max(width, height) * cell > 400:  # larger codes are read by the other passes
                continue
            squareness = min(width, height) / max(width, height)
            margin = max(width, height) // 2 + 2  # the quiet zone, and the cell the minimum ate
            blobs.append((squareness * total, (max(0, (min(xs) - margin) * cell), max(0, (min(ys) - margin) * cell),
                                               min(image.width, (max(xs) + 1 + margin) * cell), min(image.height, (max(ys) + 1 + margin) * cell))))
        blobs.sort(key=lambda blob: -blob[0])
        return [box for _, box in blobs[:self.max_regions]]


def hard_photo_decoders() -> list[ZxingDecoder]:
    return [
        ZxingRegionsDecoder(),
        # The most productive first, as measured on the hard set (bench/capture_hard_qr.py).
        ZxingEnhancedDecoder("zxing-cpp (lighting flattened)", 92, _flatten_lighting),
        ZxingEnhancedDecoder("zxing-cpp (equalized)", 93, _equalize),
        ZxingEnhancedDecoder("zxing-cpp (contrast stretched)", 94, _stretch_contrast),
        # A sharpened blur can overshoot unevenly; a fixed threshold then reads what the local one misses.
        ZxingEnhancedDecoder("zxing-cpp (sharpened)", 95, _sharpen, ("LocalAverage", "FixedThreshold")),
        ZxingEnhancedDecoder("zxing-cpp (denoised)", 96, _denoise),
    ]


HARD_PHOTO_DECODER_NAMES = frozenset(decoder.name for decoder in hard_photo_decoders())


@hookimpl(trylast=True)
def serasi_register_decoders(register):
    register(ZxingDecoder())
    register(ZxingRescueDecoder())
    for decoder in hard_photo_decoders():
        register(decoder)
