"""Benchmark (d): what the browser uploads for a photo, and whether its scaling costs any reads.

    .venv/bin/python -m bench.capture_upload [--photos 12] [--corpus ../shared/data/qr-samples]

The photos go through the real serasi_web/static/capture.js (its ``SerasiCapture.shrink``, the
function the report form calls before sending) in headless Chromium, then through the server's
capture pipeline (decode_photo), in the same run as the originals:

1. 12 MP phone photos (bench.capture_photos: 4000x3000 JPEG, sensor noise, a QR of 250-900 px,
   stored sideways with an EXIF orientation): bytes uploaded and codes read, original vs scaled.
   Target: every scaled photo under 600 KB, and no fewer read than from the originals.
2. The public QR corpus (shared/data/qr-samples, 137 images with their expected text): every
   file is small, so the browser sends it as it is; to measure the scaling itself each is also
   forced through it (re-encoded as JPEG, threshold 0), and each is made into a 12 MP photo of
   the same scene (enlarged to 4000 px on its long side, JPEG 90) that is read whole (as without
   JavaScript) and after the browser's scaling. Target: the scaled images read no fewer than
   the originals (today 135/137).
"""
from __future__ import annotations

import argparse
import base64
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

from .capture_corpus import DEFAULT_CORPUS, corpus
from .capture_photos import make_photo

REPO_ROOT = Path(__file__).resolve().parent.parent
CAPTURE_JS = REPO_ROOT / "serasi_web" / "static" / "capture.js"
CHROMIUM = os.environ.get("SERASI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
UPLOAD_TARGET = 600 * 1024

# Runs in the page: the chosen file through capture.js's shrink, back as base64 (bytes cannot
# cross from the page to Python otherwise).
SHRINK = """async (forced) => {
  const original = document.getElementById("photo").files[0];
  const started = performance.now();
  const sent = forced ? await window.SerasiCapture.scaledCopy(original) : await window.SerasiCapture.shrink(original);
  const ms = performance.now() - started;
  const bytes = new Uint8Array(await sent.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return {data: btoa(text), unchanged: sent === original, ms: ms};
}"""


class Browser:
    """One headless Chromium page with capture.js loaded, as on the report form."""

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        self.page = self._browser.new_page()
        self.page.set_content('<input type="file" id="photo" accept="image/*">')
        self.page.add_script_tag(path=str(CAPTURE_JS))
        self.parameters = self.page.evaluate("[SerasiCapture.MAX_SIDE, SerasiCapture.JPEG_QUALITY, SerasiCapture.SMALL_BYTES]")
        return self

    def shrink(self, data: bytes, name: str, forced: bool = False) -> tuple[bytes, bool, float]:
        """(bytes the browser would send, whether that is the original, ms the browser took).
        ``forced``: the scaled JPEG copy whatever the file's size (the scaling itself)."""
        mime = "image/png" if name.lower().endswith(".png") else "image/jpeg"
        self.page.set_input_files("#photo", files=[{"name": name, "mimeType": mime, "buffer": data}])
        result = self.page.evaluate(SHRINK, forced)
        return base64.b64decode(result["data"]), result["unchanged"], result["ms"]

    def __exit__(self, *exc):
        self._browser.close()
        self._playwright.stop()


def twelve_mp_of(data: bytes) -> bytes:
    """The same scene as a 12 MP phone photo: enlarged to 4000 px on its long side, JPEG 90."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    scale = 4000 / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def kb(size: float) -> str:
    return f"{size / 1024:,.0f} KB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} not found: install Debian's chromium package")
        return 2
    items = corpus(args.corpus)
    if not items:
        print(f"no samples under {args.corpus}")
        return 2

    from serasi_web import create_app
    from serasi_web.capture.images import CaptureError, decode_photo
    from serasi_web.plugins import registry

    rng = random.Random(args.seed)
    photos = [make_photo(rng, i) for i in range(args.photos)]
    passed = True
    with tempfile.TemporaryDirectory() as instance, Browser() as browser:
        app = create_app({"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "b" * 40})
        with app.app_context():
            decoders = registry().decoders

            def reads(data: bytes, expected: str) -> bool:
                try:
                    return expected in decode_photo(data, decoders).texts
                except CaptureError:
                    return False

            max_side, quality, small = browser.parameters
            print(f"capture.js: long side <= {max_side} px, JPEG quality {quality}, files <= {kb(small)} sent as they are")

            # 1. 12 MP phone photos.
            rows = []
            for index, (data, expected) in enumerate(photos):
                sent, unchanged, ms = browser.shrink(data, f"IMG_{index:04d}.jpg")
                rows.append((len(data), len(sent), unchanged, ms, reads(data, expected), reads(sent, expected),
                             Image.open(io.BytesIO(sent)).size))
            print(f"\n12 MP phone photos ({len(rows)}, 4000x3000 JPEG 88, stored sideways with EXIF orientation)")
            print(f"{'':22} {'median':>9} {'max':>9} {'read':>7}")
            print(f"{'original (no JS)':22} {kb(statistics.median(r[0] for r in rows)):>9} {kb(max(r[0] for r in rows)):>9} "
                  f"{sum(r[4] for r in rows):>3}/{len(rows)}")
            print(f"{'scaled by capture.js':22} {kb(statistics.median(r[1] for r in rows)):>9} {kb(max(r[1] for r in rows)):>9} "
                  f"{sum(r[5] for r in rows):>3}/{len(rows)}")
            sizes = sorted({r[6] for r in rows})
            print(f"scaled to {', '.join(f'{w}x{h}' for w, h in sizes)}; none sent unchanged: {not any(r[2] for r in rows)}; "
                  f"browser time median {statistics.median(r[3] for r in rows):.0f} ms, max {max(r[3] for r in rows):.0f} ms")
            photos_ok = max(r[1] for r in rows) < UPLOAD_TARGET and sum(r[5] for r in rows) >= sum(r[4] for r in rows)
            print(f"target: every scaled photo < {kb(UPLOAD_TARGET)}, reads not fewer:", "PASS" if photos_ok else "FAIL")
            passed &= photos_ok

            # 2. The public QR corpus.
            counts = {"original": 0, "as the browser sends it": 0, "forced through the scaling": 0,
                      "as 12 MP, sent whole": 0, "as 12 MP, scaled by capture.js": 0}
            unchanged_count = 0
            started = time.perf_counter()
            big_sizes = []
            differences = []  # (image, what read it, what did not)
            for path, expected in items:
                data = path.read_bytes()
                name = f"{path.parent.name}/{path.name}"
                original_read = reads(data, expected)
                counts["original"] += original_read
                sent, unchanged, _ = browser.shrink(data, path.name)
                unchanged_count += unchanged
                counts["as the browser sends it"] += reads(sent, expected)
                forced, _, _ = browser.shrink(data, path.name, forced=True)
                forced_read = reads(forced, expected)
                counts["forced through the scaling"] += forced_read
                if forced_read != original_read:
                    differences.append((name, "original" if original_read else "forced", "forced" if original_read else "original"))
                big = twelve_mp_of(data)
                whole_read = reads(big, expected)
                counts["as 12 MP, sent whole"] += whole_read
                scaled, _, _ = browser.shrink(big, path.stem + ".jpg")
                big_sizes.append((len(big), len(scaled)))
                scaled_read = reads(scaled, expected)
                counts["as 12 MP, scaled by capture.js"] += scaled_read
                if scaled_read != whole_read:
                    differences.append((name, "12 MP whole" if whole_read else "12 MP scaled", "12 MP scaled" if whole_read else "12 MP whole"))
            print(f"\nQR corpus: {args.corpus} ({len(items)} images; {time.perf_counter() - started:.0f} s)")
            print(f"sent unchanged by the browser (small files): {unchanged_count}/{len(items)}; "
                  f"12 MP versions: median {kb(statistics.median(b for b, _ in big_sizes))} whole, "
                  f"{kb(statistics.median(s for _, s in big_sizes))} scaled")
            print(f"{'images':34} {'read':>9} {'rate':>7}")
            for name, count in counts.items():
                print(f"{name:34} {count:>4}/{len(items):<4} {count / len(items):>7.1%}")
            for name, read_by, missed_by in differences:
                print(f"  {name}: read from {read_by}, not from {missed_by}")
            corpus_ok = (counts["as the browser sends it"] >= counts["original"]
                         and counts["forced through the scaling"] >= counts["original"]
                         and counts["as 12 MP, scaled by capture.js"] >= counts["as 12 MP, sent whole"])
            print("target: scaled images read no fewer than the originals:", "PASS" if corpus_ok else "FAIL")
            passed &= corpus_ok
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
