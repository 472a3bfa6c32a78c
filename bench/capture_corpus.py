"""Benchmark (a): success rate and decode time on the public QR corpus in shared/data/qr-samples.

    .venv/bin/python -m bench.capture_corpus [--corpus ../shared/data/qr-samples]

Our pipeline (serasi_web.capture.images.decode_photo with the bundled decoder plugins) against
zxing-cpp alone and pyzbar alone, each called once on the grayscale image, in the same run.
Success = the decoded text equals the .txt beside the image exactly. Target: at least 95%.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zxingcpp
from PIL import Image, ImageOps

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "qr-samples"


def corpus(root: Path) -> list[tuple[Path, str]]:
    items = []
    for expected in sorted(root.glob("*/*.txt")):
        images = [p for p in expected.parent.glob(expected.stem + ".*") if p.suffix != ".txt"]
        if images:
            items.append((images[0], expected.read_bytes().decode("utf-8")))
    return items


def zxing_alone(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)]


def pyzbar_alone(image: Image.Image) -> list[str]:
    from pyzbar import pyzbar

    out = []
    for symbol in pyzbar.decode(image):
        try:
            out.append(symbol.data.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(symbol.data.decode("latin-1"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    items = corpus(args.corpus)
    if not items:
        print(f"no samples under {args.corpus}")
        return 2

    from serasi_web import create_app
    from serasi_web.capture.images import decode_photo
    from serasi_web.plugins import registry

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "b" * 40})
        with app.app_context():
            decoders = registry().decoders
            results = {"pipeline": [], "zxing-cpp alone": [], "pyzbar alone": []}
            for path, expected in items:
                data = path.read_bytes()
                started = time.perf_counter()
                texts = decode_photo(data, decoders).texts
                results["pipeline"].append((expected in texts, time.perf_counter() - started))
                gray = ImageOps.exif_transpose(Image.open(path)).convert("L")
                for name, decode in (("zxing-cpp alone", zxing_alone), ("pyzbar alone", pyzbar_alone)):
                    started = time.perf_counter()
                    texts = decode(gray)
                    results[name].append((expected in texts, time.perf_counter() - started))

    print(f"corpus: {args.corpus} ({len(items)} images with expected text)")
    print(f"{'decoder':18} {'decoded':>9} {'rate':>7} {'median ms':>10}")
    for name, rows in results.items():
        ok = sum(1 for success, _ in rows if success)
        median = statistics.median(seconds for _, seconds in rows) * 1000
        print(f"{name:18} {ok:>4}/{len(rows):<4} {ok / len(rows):>7.1%} {median:>10.1f}")
    rate = sum(1 for success, _ in results["pipeline"] if success) / len(items)
    print("target >= 95%:", "PASS" if rate >= 0.95 else "FAIL")
    return 0 if rate >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
