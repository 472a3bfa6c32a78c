"""Benchmark (f): the MRZ read by OCR from phone photos of passport data pages, ID cards and visas.

    .venv/bin/python -m bench.capture_mrz_photos [--photos 300] [--seed 1] [--workers 2] [--tesseract 40]

Corpus (made at run time in a temporary folder, deterministic for a seed, never committed):
synthetic pages (``bench.mrz_pages``: OCR-B MRZ, guilloche, portrait box, labels), 70% TD3
passports, 15% TD1 cards, 15% MRV-A visas, random names, numbers and dates with correct check
digits, photographed at 12 MP (4000x3000) or 3 MP (2000x1500) with perspective, rotation up to
a half turn, blur, glare, low light, noise and JPEG quality 60-92.

Each photo goes through what the server does: ``decode_photo`` (draft-scaled JPEG open, EXIF,
zxing-cpp first, then the MRZ OCR decoder) and the MRZ payload parser. Measured:

- per key field (document number, surname, given names, nationality, date of birth, sex,
  expiry): the share of photos where the form gets the right value (target >= 95%);
- wrong values accepted without a warning: a field filled with a value that is not the truth
  and no warning at the field (target 0); a field left empty with its reason, or filled with a
  warning at it (the OCR's name warnings), is a miss, not "wrong";
- bytes-to-fields time of the 12 MP photos (median, target < 1.5 s) and peak memory (Python
  allocations by tracemalloc, and the worker's peak RSS; target < 400 MB). The photos are drawn
  first in other processes, so the readers' RSS is the decoder's own; the CPU time per photo
  is printed too (the wall time follows the machine's load).

Baseline in the same run, from the same OCR reading: the lines as the engine read them parsed
without the check-digit-guided choice (``MRZOCRDecoder(guided=False)``). With ``--tesseract N``
the first N photos are also read with Tesseract (Debian ``tesseract-ocr``) as the engine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc

FIELDS = {"document number": ("document_number", "permit_number"), "surname": ("surname",), "given names": ("given_names",),
          "nationality": ("nationality",), "date of birth": ("date_of_birth",), "sex": ("sex",),
          "expiry": ("document_expiry", "permit_valid_until")}


def make_corpus(folder: str, count: int, seed: int) -> list[dict]:
    """What each photo will be (drawn in the workers, each from its own seed, so in parallel)."""
    rng = random.Random(seed)
    return [{"path": os.path.join(folder, f"{index:04d}.jpg"), "seed": rng.randrange(1 << 30),
             "kind": rng.choices(("TD3", "TD1", "MRVA"), (70, 15, 15))[0],
             "megapixels": 12.0 if index % 2 == 0 else 3.0} for index in range(count)]


def draw(item: dict) -> dict:
    """Photograph the item's document (once: a later pass reads the saved file); adds its truth."""
    from bench.mrz_pages import make_document, photograph, random_shot, render_page

    rng = random.Random(item["seed"])
    document = make_document(rng, item["kind"])
    shot = random_shot(rng, (4000, 3000) if item["megapixels"] > 10 else (2000, 1500))
    if not os.path.exists(item["path"]):
        with open(item["path"], "wb") as out:
            out.write(photograph(render_page(document, rng), shot, rng))
    return {**item, "truth": document.truth, "lines": document.lines, "rotation": round(shot.rotation)}


class _Recording:
    """The decoder, keeping what it read of every strip (for ``--causes``)."""

    def __init__(self, engine: str):
        from plugins.mrz_ocr import MRZOCRDecoder

        class Recording(MRZOCRDecoder):
            def read_lines(inner, strip, known=None):
                lines = super().read_lines(strip, known)
                inner.attempts.append(lines)
                return lines

        self.decoder = Recording(engine=engine)
        self.decoder.attempts = []  # the lines of every strip read (empty: no MRZ-shaped lines in it)


def _values(text: str | None) -> tuple[dict, dict]:
    from plugins.mrz_payload import MRZPayloadParser

    if not text:
        return {}, {}
    parsed = MRZPayloadParser().parse(text)
    if parsed is None:
        return {}, {}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in parsed.values.items()}, parsed.problems


def _score(truth: dict, values: dict, warnings=()) -> dict:
    """Per key field: "right", "missing" (left empty, with its reason), "wrong" (another value,
    accepted without a warning), or "right, warned" / "wrong, warned" (a warning at the field)."""
    out = {}
    for label, names in FIELDS.items():
        name = next(n for n in names if n in truth)
        got = values.get(name)
        if not values:  # nothing read: every field keeps what was typed
            status = "missing"
        else:
            status = "right" if got == truth[name] else "missing" if got in (None, "") and truth[name] != "" else "wrong"
        out[label] = f"{status}, warned" if status != "missing" and name in warnings else status
    return out


def measure(item: dict, engine: str = "rapidocr", trace: bool = False) -> dict:
    from plugins.zxing_decoder import ZxingDecoder
    from serasi_web.capture.images import CaptureError, decode_photo

    item = draw(item)
    recording = _Recording(engine)
    with open(item["path"], "rb") as source:
        data = source.read()
    if trace:  # tracing every allocation slows Python down: memory is measured in a separate pass
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        found = decode_photo(data, [ZxingDecoder(), recording.decoder])
        text = found.texts[0] if found.texts else None  # an OCRText: its warnings and the lines as read
    except CaptureError:
        text = None
    guided_values, _ = _values(text)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    baseline_values, _ = _values(getattr(text, "read_as", None))
    warnings = getattr(text, "warnings", {})
    return {"guided": _score(item["truth"], guided_values, warnings), "baseline": _score(item["truth"], baseline_values),
            "warned": sorted(warnings),
            "seconds": seconds, "cpu": cpu, "peak": peak, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "megapixels": item["megapixels"], "kind": item["kind"], "rotation": item["rotation"],
            "text": str(text) if text else None, "truth_lines": item["lines"], "cause": _cause(item["lines"], text, recording.decoder)}


def _cause(truth_lines: list[str], text: str | None, decoder) -> str:
    """Why a photo's MRZ was not read right (for ``--causes``): no band held MRZ-shaped lines,
    lines read but the wrong length or count, or the lines read differ from the truth (where)."""
    if not text:
        if not decoder.attempts:
            return "no band with two or three text lines"
        return "no MRZ-shaped lines in any band" if not any(decoder.attempts) else "lines read, none parsed"
    read = text.split("\n")
    if read == truth_lines:
        return "right"
    if len(read) != len(truth_lines):
        return "wrong line count"
    joined, truth = "".join(read), "".join(truth_lines)
    name = (60, 90) if len(truth_lines) == 3 else (5, len(truth_lines[0]))
    where = {"name" if name[0] <= i < name[1] else "other" for i, (a, b) in enumerate(zip(joined, truth)) if a != b}
    return "misread: " + " and ".join(sorted(where))


def _measure_tesseract(item: dict) -> dict:
    from . import mrz_tesseract  # noqa: F401  (adds the engine, in this worker process too)

    return measure(item, "tesseract")


def _measure_memory(item: dict) -> dict:
    return measure(item, trace=True)


def _warm():
    import numpy as np

    from plugins.mrz_ocr import read_line

    read_line(np.full((40, 400), 255, np.uint8), "rapidocr")  # the model loads once per process, as in a server


def report(name: str, results: list[dict], key: str) -> dict:
    count = len(results)
    print(f"\n{name}: {count} photos")
    summary = {}
    for label in FIELDS:
        right = sum(r[key][label].startswith("right") for r in results)
        wrong = sum(r[key][label] == "wrong" for r in results)
        right_warned = sum(r[key][label] == "right, warned" for r in results)
        wrong_warned = sum(r[key][label] == "wrong, warned" for r in results)
        summary[label] = (right, wrong)
        print(f"  {label:15s} right {right:4d} ({100 * right / count:5.1f}%)  wrong accepted {wrong}"
              + (f"  (warned: {right_warned} right, {wrong_warned} wrong)" if right_warned or wrong_warned else ""))
    everything = sum(all(v.startswith("right") for v in r[key].values()) for r in results)
    wrong_total = sum(sum(v == "wrong" for v in r[key].values()) for r in results)
    print(f"  all seven right: {everything} ({100 * everything / count:.1f}%); wrong values accepted without a warning: {wrong_total}")
    for kind in ("TD3", "TD1", "MRVA"):
        subset = [r for r in results if r["kind"] == kind]
        if subset:
            ok = sum(all(v.startswith("right") for v in r[key].values()) for r in subset)
            print(f"    {kind}: {ok}/{len(subset)} all right")
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="parallel workers (1: the times are one request's)")
    parser.add_argument("--tesseract", type=int, default=40, help="also read the first N photos with Tesseract (0: no)")
    parser.add_argument("--keep", metavar="FOLDER", help="draw the photos into FOLDER and keep them (default: a temporary folder)")
    parser.add_argument("--causes", action="store_true", help="list each photo not read right with its cause")
    args = parser.parse_args(argv)
    from plugins.mrz_ocr import engine_available

    if not engine_available("rapidocr"):
        print("rapidocr-onnxruntime / opencv are not installed: pip install -e .", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mrz-photos-") as folder:
        folder = args.keep or folder
        os.makedirs(folder, exist_ok=True)
        items = make_corpus(folder, args.photos, args.seed)
        context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: RSS is the decoder's own
        # Drawn first, in other processes: drawing a 12 MP photo takes ~400 MB of float arrays,
        # which would otherwise be counted in the readers' peak RSS.
        with context.Pool(args.workers) as pool:
            pool.map(draw, items, chunksize=1)
        print(f"corpus: {len(items)} photos (seed {args.seed}) in {folder}")
        with context.Pool(args.workers, initializer=_warm) as pool:
            results = pool.map(measure, items, chunksize=1)
            memory = pool.map(_measure_memory, [item for item in items if item["megapixels"] > 10][:10], chunksize=1)
            tesseract = []
            from . import mrz_tesseract  # noqa: F401  (adds the engine)

            if args.tesseract and engine_available("tesseract"):
                tesseract = pool.map(_measure_tesseract, items[:args.tesseract], chunksize=1)
    guided = report("RapidOCR + check-digit-guided choice (what the server does)", results, "guided")
    causes = {}
    for r in results:
        causes[r["cause"]] = causes.get(r["cause"], 0) + 1
    print("  lines read vs truth: " + "; ".join(f"{cause} {n}" for cause, n in sorted(causes.items(), key=lambda c: -c[1])))
    if args.causes:
        for index, r in enumerate(results):
            if r["cause"] != "right" or any(v != "right" for v in r["guided"].values()):
                bad = {k: v for k, v in r["guided"].items() if v != "right"}
                print(f"    #{index} {r['kind']} {r['megapixels']:.0f} MP rot {r['rotation']}: {r['cause']}; fields {bad}\n      read {r['text']!r}\n      true {r['truth_lines']!r}")
    report("baseline: RapidOCR, lines as read (no guided choice)", results, "baseline")
    if tesseract:
        report(f"Tesseract + guided choice (first {len(tesseract)} photos)", tesseract, "guided")
        report(f"RapidOCR + guided choice (the same {len(tesseract)} photos)", results[:len(tesseract)], "guided")
    big = [r for r in results if r["megapixels"] > 10]
    small = [r for r in results if r["megapixels"] <= 10]
    print(f"\ntime bytes-to-fields: 12 MP median {statistics.median(r['seconds'] for r in big):.2f} s, "
          f"max {max(r['seconds'] for r in big):.2f} s; 3 MP median {statistics.median(r['seconds'] for r in small):.2f} s")
    # The worker reads one photo at a time, so its CPU time is what the photo costs, whatever the load.
    print(f"CPU time of the worker per photo: 12 MP median {statistics.median(r['cpu'] for r in big):.2f} s, "
          f"max {max(r['cpu'] for r in big):.2f} s; 3 MP median {statistics.median(r['cpu'] for r in small):.2f} s")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if tesseract:
        print(f"  Tesseract: median {statistics.median(r['seconds'] for r in tesseract):.2f} s")
    print(f"memory: Python allocations peak {max(r['peak'] for r in memory) / 2**20:.0f} MB per 12 MP photo; "
          f"worker peak RSS {max(r['rss'] for r in results) / 2**20:.0f} MB (model and libraries included)")
    wrong = sum(v[1] for v in guided.values())
    fields_ok = all(v[0] / len(results) >= 0.95 for v in guided.values())
    print(f"\ntargets: every key field >= 95% {'PASS' if fields_ok else 'FAIL'}; no wrong value accepted "
          f"{'PASS' if wrong == 0 else 'FAIL'}; 12 MP median < 1.5 s "
          f"{'PASS' if statistics.median(r['seconds'] for r in big) < 1.5 else 'FAIL'}; peak RSS < 400 MB "
          f"{'PASS' if max(r['rss'] for r in results) < 400 * 2**20 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
