"""Bundled decoder: zxing-cpp, the first and fastest (2-16x faster than zbar in our measurements).

The normal pass; a rescue pass (light blur + global-histogram binarizer) that runs after every
other decoder found nothing, as it reads some blurry low-resolution codes; and the hard-photo
passes that decode_photo runs only after every other decoder found nothing at both sizes, for
small, faded, glared, dark, blurred or noisy sticker photos: small codes enlarged (on the
full-size image), then lighting flattened, equalized, contrast stretched, sharpened, denoised;
the equalized and sharpened passes also re-sample a QR code they located but could not correct.
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
    (at 12 MP each pass would cost 1-3 s) and only while its time budget lasts.

    With ``resample_located`` a QR code the reader located on the enhanced image but could not
    correct (its finder patterns, version and format were read, the data were not) is sampled
    again by ``_resample_located_qr`` from the image before the enhancement (equalizing merges
    grey levels the samples need); that costs nothing on a photo where no code is located."""

    hard_photo_pass = True

    def __init__(self, name: str, priority: int, enhance, binarizers=("LocalAverage",), resample_located=False):
        self.name = name
        self.priority = priority
        self.enhance = enhance
        self.binarizers = binarizers
        self.resample_located = resample_located

    def decode(self, image) -> list[str]:
        enhanced = self.enhance(image)
        located = {}
        for binarizer in self.binarizers:
            # return_errors adds the codes found but not corrected; it costs the reader no time.
            results = zxingcpp.read_barcodes(enhanced, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain,
                                             binarizer=getattr(zxingcpp.Binarizer, binarizer), return_errors=self.resample_located)
            texts = [r.text for r in results if r.valid]
            if texts:
                return texts
            for r in results:
                if r.format != zxingcpp.BarcodeFormat.QRCode or not str((r.extra or {}).get("Version", "")).isdigit():
                    continue  # Micro QR, rMQR and the other formats have other fixed patterns
                # The same code located with both binarizers is re-sampled once.
                located.setdefault((r.extra["Version"], r.position.top_left.x // 8, r.position.top_left.y // 8), r)
        for barcode in list(located.values())[:RESAMPLED_CODES_MAX]:
            texts = _resample_located_qr(image, barcode)
            if texts:
                return texts
        return []


# Re-sampling a located QR code. In a dark, noisy 3 MP photo a code of 90-170 px has about two
# pixels a module and its ink differs from the label by a dozen grey levels after the JPEG save:
# zxing-cpp finds the finder patterns and reads version and format, but samples the modules one
# pixel each from a grid set by whole-pixel corners, and a grid half a pixel off reads 2-7% of
# the modules wrong, more than the error correction takes. Here the grid is fitted to the
# pattern every QR code of that version has (finder, separator, timing and alignment modules),
# then to the sharpest split of the module samples; the samples are thresholded a few ways, the
# fixed patterns written back as they must be, and the clean code (3 px a module) is read as a
# pure image. Measured on the hard sets' located codes (bench/capture_hard_qr.py, seeds 7 and 11):
# the reader's grid read 0.2-7% of the modules wrong, the fitted one 0-3%; 20-160 ms a code.
RESAMPLED_CODES_MAX = 2
_FIT_STEPS = (1.0, 0.5, 0.25)  # pixels, coarse to fine
_FIT_ROUNDS = 3


def _qr_alignment_centres(version: int) -> list[int]:
    """Row (and column) indexes of the alignment patterns' centres (ISO/IEC 18004, annex E)."""
    if version == 1:
        return []
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    return [6] + sorted(17 + 4 * version - 7 - index * step for index in range(count - 1))


def _qr_function_modules(version: int):
    """(known, dark): the modules every QR code of this version has in the same state, and that state."""
    import numpy as np

    size = 17 + 4 * version
    known = np.zeros((size, size), bool)
    dark = np.zeros((size, size), bool)
    finder = np.ones((7, 7), bool)
    finder[1:6, 1:6] = False
    finder[2:5, 2:5] = True
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        known[max(0, top - 1):top + 8, max(0, left - 1):left + 8] = True  # with its light separator
        dark[top:top + 7, left:left + 7] = finder
    timing = np.arange(8, size - 8)
    known[6, timing] = known[timing, 6] = True
    dark[6, timing] = dark[timing, 6] = timing % 2 == 0
    alignment = np.ones((5, 5), bool)
    alignment[1:4, 1:4] = False
    alignment[2, 2] = True
    centres = _qr_alignment_centres(version)
    for row in centres:
        for column in centres:
            if not known[row, column]:  # the three next to a finder pattern do not exist
                known[row - 2:row + 3, column - 2:column + 3] = True
                dark[row - 2:row + 3, column - 2:column + 3] = alignment
    known[size - 8, 8] = dark[size - 8, 8] = True  # the dark module
    return known, dark


def _module_sampler(pixels, size: int):
    """A function from the code's four corners (top left, top right, bottom right, bottom left,
    in pixel coordinates) to the grey value at each module's centre, bilinear."""
    import numpy as np

    centres = np.arange(size) + 0.5
    xs, ys = np.meshgrid(centres, centres)
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    square = ((0, 0), (size, 0), (size, size), (0, size))
    height, width = pixels.shape

    def sample(corners):
        rows = []
        for (x, y), (u, v) in zip(square, corners):
            rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y, u], [0, 0, 0, x, y, 1, -v * x, -v * y, v]]
        system = np.array(rows)
        homography = np.append(np.linalg.solve(system[:, :8], system[:, 8]), 1).reshape(3, 3)
        mapped = homography @ grid
        px, py = mapped[0] / mapped[2], mapped[1] / mapped[2]
        x0 = np.clip(np.floor(px).astype(int), 0, width - 2)
        y0 = np.clip(np.floor(py).astype(int), 0, height - 2)
        fx, fy = np.clip(px - x0, 0, 1), np.clip(py - y0, 0, 1)
        top = pixels[y0, x0] * (1 - fx) + pixels[y0, x0 + 1] * fx
        bottom = pixels[y0 + 1, x0] * (1 - fx) + pixels[y0 + 1, x0 + 1] * fx
        return (top * (1 - fy) + bottom * fy).reshape(size, size)

    return sample


def _fit_corners(sample, corners, score, steps):
    """Move one corner coordinate at a time by each step while the score improves."""
    best = score(sample(corners))
    for step in steps:
        for _ in range(_FIT_ROUNDS):
            improved = False
            for corner in range(4):
                for axis in range(2):
                    for sign in (1, -1):
                        moved = corners.copy()
                        moved[corner, axis] += sign * step
                        value = score(sample(moved))
                        if value > best:
                            best, corners, improved = value, moved, True
            if not improved:
                break
    return corners


def _otsu(values) -> float:
    """The threshold that best splits the values in two (Otsu), over 64 bins."""
    import numpy as np

    counts, edges = np.histogram(values, bins=64)
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)[:-1]
    above = values.size - below
    sums = np.cumsum(counts * centres)[:-1]
    mean_below = sums / np.maximum(below, 1)
    mean_above = (np.sum(counts * centres) - sums) / np.maximum(above, 1)
    return float(edges[1:-1][np.argmax(below * above * (mean_below - mean_above) ** 2)])


def _local_mean(values, window: int):
    """The mean over window x window modules around each module (edges repeated)."""
    import numpy as np

    half = window // 2
    padded = np.pad(values, half + 1, mode="edge").cumsum(0).cumsum(1)
    size = values.shape[0]
    a, b = slice(window, window + size), slice(0, size)
    return (padded[a, a] - padded[b, a] - padded[a, b] + padded[b, b]) / window ** 2


def _resample_located_qr(image, barcode) -> list[str]:
    """The text of a QR code zxing-cpp located but could not correct, read from a module grid
    fitted to the code's fixed patterns (see the comment above RESAMPLED_CODES_MAX)."""
    import numpy as np
    from PIL import Image

    version = int(barcode.extra["Version"])
    size = 17 + 4 * version
    position = barcode.position
    # The reader's corners are whole pixels; measured, the grid's corners lie half a pixel up and
    # left of them where pixel centres are whole numbers, as they are for the sampler.
    corners = np.array([(point.x - 0.5, point.y - 0.5) for point in
                        (position.top_left, position.top_right, position.bottom_right, position.bottom_left)])
    margin = 2 + 2 * np.ptp(corners[:, 0]) / size
    left, top = np.floor(corners.min(0) - margin).astype(int).clip(0)
    right, bottom = np.ceil(corners.max(0) + margin).astype(int)
    pixels = np.asarray(image.crop((left, top, min(right, image.width), min(bottom, image.height))), dtype=np.float32)
    if np.hypot(*(corners[1] - corners[0])) < size or min(pixels.shape) < size:  # under a pixel a module
        return []
    corners = corners - (left, top)
    sample = _module_sampler(pixels, size)
    known, dark = _qr_function_modules(version)

    def pattern_contrast(modules):  # the fixed patterns' dark modules darker than their light ones
        threshold = (modules[known & dark].mean() + modules[known & ~dark].mean()) / 2
        return np.where(dark[known], threshold - modules[known], modules[known] - threshold).mean()

    def sharpness(modules):  # module centres, not edges: samples far from the middle grey
        return np.abs(modules - np.median(modules)).mean()

    fitted = _fit_corners(sample, corners, pattern_contrast, _FIT_STEPS)
    tried = set()
    for grid in (_fit_corners(sample, fitted, sharpness, _FIT_STEPS[1:]), fitted):
        modules = sample(grid)
        for bits in (modules < _otsu(modules), modules < _local_mean(modules, 11), modules < _local_mean(modules, 7)):
            bits[known] = dark[known]
            if bits.tobytes() in tried:
                continue
            tried.add(bits.tobytes())
            clean = np.pad(np.where(bits, 0, 255).astype(np.uint8), 4, constant_values=255).repeat(3, 0).repeat(3, 1)
            texts = [r.text for r in zxingcpp.read_barcodes(Image.fromarray(clean), formats=zxingcpp.BarcodeFormat.QRCode,
                                                            text_mode=zxingcpp.TextMode.Plain, is_pure=True) if r.text]
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
        # Dark photos: equalized, zxing-cpp locates codes it cannot read; re-sampled, they are read.
        ZxingEnhancedDecoder("zxing-cpp (equalized)", 93, _equalize, resample_located=True),
        ZxingEnhancedDecoder("zxing-cpp (contrast stretched)", 94, _stretch_contrast),
        # A sharpened blur can overshoot unevenly; a fixed threshold then reads what the local one misses.
        # The sharpened image also locates some dark codes the equalized one does not.
        ZxingEnhancedDecoder("zxing-cpp (sharpened)", 95, _sharpen, ("LocalAverage", "FixedThreshold"), resample_located=True),
        ZxingEnhancedDecoder("zxing-cpp (denoised)", 96, _denoise),
    ]


HARD_PHOTO_DECODER_NAMES = frozenset(decoder.name for decoder in hard_photo_decoders())


@hookimpl(trylast=True)
def serasi_register_decoders(register):
    register(ZxingDecoder())
    register(ZxingRescueDecoder())
    for decoder in hard_photo_decoders():
        register(decoder)
