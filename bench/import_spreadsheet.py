"""Spreadsheet import: check (dry run) and import of a 10,000-row CSV, and memory at 50,000 rows.

    .venv/bin/python -m bench.import_spreadsheet [--rows 10000 50000]

For each size, a fresh process (so its peak memory is its own) builds a fresh SQLite database
in a temporary folder through the migrations, one operator with one verified lodging, and
writes a CSV of that many valid guests (unique documents and external ids) to disk. It then
runs the plugin's own code exactly as the background worker does: the upload is stored
(``service.create_job``) and read whole in the memory-limited child process
(``run_job(..., "read")``: the header and every row), the check (``run_job(..., "check")``) and the import
(``run_job(..., "import")``); for the first size it also checks and imports the same file a
second time (every row unchanged). Times are wall-clock; memory is the process's peak resident
set (``ru_maxrss``) after each phase and its growth over the resident set before the phase.

Targets: check + import of 10,000 rows under 20 s; peak memory at 50,000 rows at most 10% (and
at most 20 MB) above the peak at 10,000 rows ("flat"). Exit status 0 when both hold, 1 otherwise.
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from . import common

TARGET_SECONDS = 20.0
TARGET_ROWS = 10_000
FLAT_RATIO, FLAT_SLACK_MB = 1.10, 20.0


def write_csv(path: Path, rows: int) -> None:
    """``rows`` valid guests in the downloadable template's English layout, written row by row."""
    from plugins.spreadsheet_import.columns import HEADERS, TARGETS

    today = date.today()
    check_in = common.local_check_in(hours_ago=2.0).replace("T", " ")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([HEADERS["en"][t] for t in TARGETS])
        for n in range(rows):
            row = dict(
                external_id=f"BENCH-{n:06d}", surname="Eriksson", given_names="Anna María", sex="F", date_of_birth="1974-08-12",
                place_of_birth="Stockholm", nationality="SWE", document_type="passport", document_number=f"B{n:08d}",
                issuing_state="SWE", document_expiry=(today + timedelta(days=2000)).isoformat(),
                entry_date=(today - timedelta(days=3)).strftime("%d/%m/%Y"), port_of_entry="Ngurah Rai", stay_permit="",
                visa_index="C1", permit_number="", permit_valid_until="", entry_stamp_qr="", check_in_at=check_in,
                planned_check_out="", room=str(n % 400 + 1), purpose="tourism", notes="",
            )
            writer.writerow([row[t] for t in TARGETS])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _current_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 1024 / 1024


def measure(rows: int, again: bool) -> dict:
    """One size, in this process: returns the figures as a dict."""
    from werkzeug.datastructures import FileStorage

    from serasi_web.accounts.models import User
    from serasi_web.extensions import db
    from serasi_web.lodgings.models import Lodging
    from serasi_web.stays.models import Stay
    from sqlalchemy import func, select

    from plugins.spreadsheet_import import service

    figures: dict = {"rows": rows, "phases": []}
    with common.temp_folder() as folder:
        app = common.make_app(common.sqlite_url(folder), folder / "instance")
        common.migrate(app)
        operator = common.seed_operator(app, "operator@bench.test")
        path = folder / "guests.csv"
        write_csv(path, rows)
        figures["file_mb"] = path.stat().st_size / 1024 / 1024
        app.config["IMPORT_RUN_INLINE"] = True

        def phase(label: str, action) -> None:
            before = _current_mb()
            started = time.perf_counter()
            with app.app_context():
                result = action()
            seconds = time.perf_counter() - started
            figures["phases"].append({"phase": label, "seconds": seconds, "peak_mb": _peak_mb(), "growth_mb": max(_peak_mb() - before, 0.0),
                                      **(result or {})})

        def upload() -> dict:
            lodging = db.session.get(Lodging, operator.lodging_ids[0])
            user = db.session.get(User, operator.user_id)
            with path.open("rb") as stream:
                job = service.create_job(lodging, user, FileStorage(stream, filename="guests.csv"))
            figures.setdefault("jobs", []).append(job.id)
            assert service.start(job, "read"), job.status  # in its child process: its memory is not this process's
            db.session.expire_all()
            job = db.session.get(service.ImportJob, job.id)
            if job.status != "uploaded":
                raise RuntimeError(f"read: {job.status} {job.failure}")
            return {}

        def check() -> dict:
            job = db.session.get(service.ImportJob, figures["jobs"][-1])
            assert service.start(job, "check"), job.status
            db.session.expire_all()
            job = db.session.get(service.ImportJob, job.id)
            if job.status != "checked" or job.valid_rows != rows:
                raise RuntimeError(f"check: {job.status} {job.valid_rows}/{rows} {job.failure} {job.errors[:3]}")
            return {"valid": job.valid_rows}

        def run() -> dict:
            job = db.session.get(service.ImportJob, figures["jobs"][-1])
            assert service.start(job, "import"), job.status
            db.session.expire_all()
            job = db.session.get(service.ImportJob, job.id)
            if job.status != "done":
                raise RuntimeError(f"import: {job.status} {job.failure} {job.errors[:3]}")
            stays = db.session.scalar(select(func.count()).select_from(Stay))
            return {"created": job.created_count, "unchanged": job.unchanged_count, "stays": stays}

        phase("store the upload, read the file", upload)
        phase("check (dry run)", check)
        phase("import", run)
        if again:
            phase("same file again: store", upload)
            phase("same file again: check", check)
            phase("same file again: import (all unchanged)", run)
        common.dispose(app)
    figures["peak_mb"] = _peak_mb()
    return figures


def run_child(rows: int, again: bool) -> dict:
    """Measure one size in a fresh interpreter, so peak memory is not inherited from another size."""
    output = subprocess.run([sys.executable, "-m", "bench.import_spreadsheet", "--child", str(rows)] + (["--again"] if again else []),
                            cwd=common.REPO_ROOT, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise RuntimeError(f"the {rows}-row run failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[TARGET_ROWS, 50_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--again", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.again)))
        return 0

    print(common.machine_description())
    results = {}
    for index, rows in enumerate(args.rows):
        print(f"\n== {rows:,} rows (SQLite, one process, the job run inline as the worker would) ==", flush=True)
        figures = run_child(rows, again=index == 0)
        results[rows] = figures
        print(f"  CSV file: {figures['file_mb']:.1f} MB")
        for phase in figures["phases"]:
            extra = ", ".join(f"{key} {value:,}" for key, value in phase.items() if key in ("valid", "created", "unchanged", "stays"))
            rate = rows / phase["seconds"] if phase["seconds"] and "store" not in phase["phase"] else None
            print(f"  {phase['phase']:<42} {phase['seconds']:7.1f} s" + (f"  ({rate:,.0f} rows/s)" if rate else "")
                  + f"  peak RSS {phase['peak_mb']:6.1f} MB (+{phase['growth_mb']:.1f})" + (f"  [{extra}]" if extra else ""))
        print(f"  peak RSS of the whole run: {figures['peak_mb']:.1f} MB")

    ok = True
    print("\n== targets ==")
    if TARGET_ROWS in results:
        phases = {p["phase"]: p["seconds"] for p in results[TARGET_ROWS]["phases"]}
        total = phases["check (dry run)"] + phases["import"]
        passed = total < TARGET_SECONDS
        ok &= passed
        print(f"  check + import of {TARGET_ROWS:,} rows: {total:.1f} s (target < {TARGET_SECONDS:.0f} s): {'PASS' if passed else 'FAIL'}")
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = results[sizes[0]]["peak_mb"], results[sizes[-1]]["peak_mb"]
        limit = min(small * FLAT_RATIO, small + FLAT_SLACK_MB)
        passed = large <= limit
        ok &= passed
        print(f"  peak memory {sizes[0]:,} -> {sizes[-1]:,} rows: {small:.1f} -> {large:.1f} MB "
              f"(flat: at most {limit:.1f} MB): {'PASS' if passed else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
