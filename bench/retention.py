"""The retention job on a large database: how long it runs, and that it never holds a long lock.

    .venv/bin/python -m bench.retention [--stays 1000000] [--database-url URL] [--keep-days 365]

Without ``--database-url`` a fresh SQLite file in a temporary folder is used. The data comes from
``serasi_web/demo_data.py`` (the ``demo-data`` command): ``--stays`` reports over two years. The
stays period is set to ``--keep-days`` so about half of them are past it, then the job runs once
(the measured run) and again with the same clock (idempotence: it must find nothing).

While the job runs, a writer thread inserts one row every 20 ms in its own short transaction, as
reports arriving from operators would; the longest wait of those writes shows the longest lock
the job held. Targets: every write of the writer done within 2 s (SQLite's busy timeout is 5 s),
and the second run changes nothing. Exit status 0 when both are met.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time

from . import common

WRITER_INTERVAL = 0.02
MAX_WRITE_WAIT = 2.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stays", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep-days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    with common.temp_folder("serasi-retention-bench-") as folder:
        url = args.database_url or common.sqlite_url(folder)
        return run(url, folder, args)


def run(url: str, folder, args) -> int:
    from sqlalchemy import func, insert, select

    from serasi_web.accounts.models import LoginFailure
    from serasi_web.database import utcnow
    from serasi_web.demo_data import generate
    from serasi_web.extensions import db
    from serasi_web.privacy.retention import run_retention, set_period
    from serasi_web.stays.models import Stay

    app = common.make_app(url, folder / "instance")
    common.migrate(app)
    with app.app_context():
        if not db.session.scalar(select(func.count()).select_from(Stay)):
            started = time.perf_counter()

            def progress(done: int, total: int) -> None:
                if done % 200_000 < 5000 or done == total:
                    print(f"  {done:>9,} / {total:,} stays, {time.perf_counter() - started:.0f} s", flush=True)

            result = generate(args.stays, days=730, seed=args.seed, progress=progress)
            print(f"generated {result.stays:,} stays and {result.versions:,} versions in {result.seconds:.0f} s")
        set_period("stays", args.keep_days, by="bench")
        set_period("audit_events", 0, by="bench")  # the access log of the writer is not the point here
        total = db.session.scalar(select(func.count()).select_from(Stay))
        db.session.remove()

    waits: list[float] = []
    stop = threading.Event()

    def writer():
        with app.app_context():
            while not stop.is_set():
                asked = time.perf_counter()
                with db.engine.begin() as connection:
                    connection.execute(insert(LoginFailure.__table__).values(email="bench@example.com", remote_addr="192.0.2.1",
                                                                             created_at=utcnow()))
                waits.append(time.perf_counter() - asked)
                stop.wait(WRITER_INTERVAL)

    thread = threading.Thread(target=writer, daemon=True)
    clock = utcnow()  # one clock for both runs: the second must find nothing
    with app.app_context():
        thread.start()
        started = time.perf_counter()
        counts = run_retention(now=clock)
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
        started = time.perf_counter()
        again = run_retention(now=clock)
        second = time.perf_counter() - started
        db.session.remove()
    common.dispose(app)

    waits.sort()
    p99 = waits[int(len(waits) * 0.99) - 1] if waits else 0.0
    print(f"{db_name(url)}: {total:,} stays; first run {seconds:.1f} s: {counts}")
    print(f"writer during the run: {len(waits)} writes, p99 {p99 * 1000:.0f} ms, longest {max(waits, default=0) * 1000:.0f} ms")
    print(f"second run {second:.1f} s: {again}")
    ok = max(waits, default=0) < MAX_WRITE_WAIT and not any(again.get(key) for key in ("stays_pseudonymised", "drafts_deleted"))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def db_name(url: str) -> str:
    return url.split(":", 1)[0]


if __name__ == "__main__":
    sys.exit(main())
