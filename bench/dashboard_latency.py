"""Dashboard and list latency for an operator with many stays, on SQLite.

    .venv/bin/python -m bench.dashboard_latency [--stays 100000] [--requests 300]

A migrated SQLite database in a temporary folder holds two operators with three verified
lodgings each: one with ``--stays`` stays (mostly checked out, a few hundred in the house, some
drafts due and overdue, some planned check-outs passed, some voided), the other with none (the
baseline). The real app runs under gunicorn (``gunicorn.conf.py``, 1 sync worker); one client,
logged in, requests each page ``--requests`` times in a row and the latency of each answer is
recorded. Target: p95 < 100 ms for every page of the big account.

For a page that misses the target, the page is requested once more inside this process with
every SQL statement captured; each statement is timed on its own and its EXPLAIN QUERY PLAN is
printed, slowest first, so the cause can be read off.

Exit status: 0 when every page meets the target, 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

from . import common

TARGET_P95_SECONDS = 0.100
BATCH_SIZE = 5000
WARMUP_REQUESTS = 5

SURNAMES = [
    "Smith", "Jones", "Williams", "Brown", "Taylor", "Wilson", "Müller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Meyer", "Dubois", "Martin", "Bernard", "Lefèvre", "Rossi", "Russo", "Ferrari", "Esposito",
    "García", "Fernández", "López", "Martínez", "Eriksson", "Johansson", "Andersson", "Nilsson", "Jansen",
    "de Vries", "van Dijk", "Bakker", "Novák", "Kowalski", "Nowak", "Ivanov", "Smirnov", "Tanaka", "Suzuki",
    "Takahashi", "Watanabe", "Kim", "Lee", "Park", "Choi", "Nguyen", "Tran", "Wang", "Li", "Zhang", "Chen",
    "Singh", "Kumar", "Sharma", "O'Brien", "Murphy", "Kelly", "Costa", "Silva", "Santos", "Pereira", "Öztürk",
    "Yılmaz", "Kaya", "Cohen", "Levi", "Jensen", "Hansen", "Larsen", "Virtanen", "Korhonen", "Papadopoulos",
]
GIVEN_NAMES = [
    "Anna", "Maria", "Sophie", "Emma", "Olivia", "Lena", "Chloé", "Giulia", "Lucía", "Sara", "Yuki", "Min-ji",
    "James", "John", "Lukas", "Jonas", "Noah", "Liam", "Matteo", "Hugo", "José", "Erik", "Kenji", "Ji-ho",
    "Anh", "Wei", "Arjun", "Seán", "Mehmet", "David", "Mikael", "Niko", "Nikos", "Tomás", "Björn", "Zoë",
]
COUNTRIES = ["AUS", "USA", "GBR", "DEU", "FRA", "NLD", "ITA", "ESP", "SWE", "NOR", "DNK", "FIN", "JPN", "KOR",
             "CHN", "IND", "RUS", "SGP", "MYS", "NZL", "CAN", "CHE", "AUT", "BEL", "IRL", "POL", "CZE", "TUR", "BRA"]
PURPOSES = ["tourism"] * 8 + ["business", "family", "work", "study", "other"]
PERMITS = [("C1", "voa")] * 4 + [("", "bvk")] * 4 + [("B1", "itk"), ("E33G", "itas"), ("C2", "itk")]
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"


# ---- the data -----------------------------------------------------------------------------------

def receipt_number(serial: int) -> str:
    """A unique receipt number (STT-XXXX-XXXX-XXXX) for ``serial``: its base-29 digits."""
    digits = []
    for _ in range(12):
        serial, digit = divmod(serial, len(RECEIPT_ALPHABET))
        digits.append(RECEIPT_ALPHABET[digit])
    text = "".join(reversed(digits))
    return f"STT-{text[0:4]}-{text[4:8]}-{text[8:12]}"


def stay_kinds(total: int) -> list[str]:
    """The status mix of ``total`` stays, scaled from 100,000: 20 drafts due, 30 overdue, 400 in
    the house (60 of them past their planned check-out), 300 voided, the rest checked out."""
    scale = total / 100_000
    counts = {"draft_due": 20, "draft_overdue": 30, "in_house": 340, "planned_passed": 60, "voided": 300}
    counts = {kind: max(1, round(number * scale)) for kind, number in counts.items()}
    counts["checked_out"] = max(0, total - sum(counts.values()))
    return [kind for kind, number in counts.items() for _ in range(number)][:total]


def make_stays(total: int, lodging_ids: list[int], operator_id: int, now: datetime, rng: random.Random) -> list[dict]:
    """``total`` rows for the stay table, every NOT NULL column filled as the services would."""
    from serasi_web.stays.services import REPORTING_WINDOW, fold_name

    wita = timezone(timedelta(hours=8))  # the lodgings are in Bali
    rows = []
    for kind in stay_kinds(total):
        hours_ago = {
            "draft_due": rng.uniform(0.5, 20),
            "draft_overdue": rng.uniform(30, 140),
            "in_house": rng.uniform(2, 24 * 20),
            "planned_passed": rng.uniform(24 * 4, 24 * 25),
            "voided": rng.uniform(24, 24 * 3 * 365),
            "checked_out": rng.uniform(24 * 2, 24 * 3 * 365),
        }[kind]
        check_in = (now - timedelta(hours=hours_ago)).replace(microsecond=0)
        check_in_day = check_in.astimezone(wita).date()
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        birth = date(rng.randint(1945, 2004), rng.randint(1, 12), rng.randint(1, 28))
        entry = check_in_day - timedelta(days=rng.randint(0, 20))
        visa_index, permit = rng.choice(PERMITS)
        country = rng.choice(COUNTRIES)
        deadline = check_in + REPORTING_WINDOW
        row = dict(
            lodging_id=rng.choices(lodging_ids, weights=(5, 3, 2)[:len(lodging_ids)])[0],
            group_id=None, accompanying_stay_id=None, status="draft", version=1, form_token=secrets.token_urlsafe(32),
            surname=surname, given_names=given, name_folded=fold_name(given, surname),
            sex=rng.choice("MF"), date_of_birth=birth, place_of_birth="", nationality=country,
            document_type="passport", document_number="", issuing_state=country,
            document_expiry=check_in_day + timedelta(days=rng.randint(200, 3600)), entry_date=entry,
            port_of_entry=rng.choice(["Ngurah Rai", "Soekarno-Hatta", "Benoa"]), stay_permit=permit,
            visa_index=visa_index, permit_number="", permit_valid_until=entry + timedelta(days=30) if visa_index else None,
            entry_stamp_qr="", check_in_at=check_in, planned_check_out=None, room=str(rng.randint(1, 40)),
            purpose=rng.choice(PURPOSES), notes="", deadline_at=deadline, reported_at=None, late=False,
            receipt_number=None, lodging_pending_at_report=False, checked_out_at=None, check_out_reported_at=None,
            check_out_late=False, void_reason=None, voided_at=None, created_by_id=operator_id,
            created_at=check_in + timedelta(minutes=rng.randint(1, 60)), updated_at=None,
        )
        if kind.startswith("draft"):
            row["updated_at"] = row["created_at"]
        else:
            # Reported: mostly within the 24 hours, about 3 % late.
            delay = timedelta(hours=rng.uniform(25, 60) if rng.random() < 0.03 else rng.uniform(0.1, 20))
            reported = min(check_in + delay, now - timedelta(minutes=5))
            row.update(status="reported", version=2, reported_at=reported, late=reported > deadline,
                       created_at=min(row["created_at"], reported), updated_at=reported)
            stay_days = rng.randint(1, 14)
            row["planned_check_out"] = check_in_day + timedelta(days=stay_days)
            if kind == "in_house":
                # Still in the house: the planned check-out is today or later.
                today = now.astimezone(wita).date()
                row["planned_check_out"] = max(row["planned_check_out"], today + timedelta(days=rng.randint(0, 10)))
            elif kind == "planned_passed":
                row["planned_check_out"] = check_in_day + timedelta(days=rng.randint(1, 3))
            elif kind == "checked_out":
                checked_out = min(check_in + timedelta(days=stay_days, hours=rng.uniform(-3, 3)), now - timedelta(hours=1))
                checked_out = max(checked_out, check_in + timedelta(hours=1))
                told = min(checked_out + timedelta(hours=rng.uniform(0.1, 30)), now)
                row.update(status="checked_out", version=3, checked_out_at=checked_out, check_out_reported_at=told,
                           check_out_late=told - checked_out > timedelta(hours=24), updated_at=told)
            elif kind == "voided":
                voided = min(reported + timedelta(hours=rng.uniform(0.1, 48)), now)
                row.update(status="voided", version=3, voided_at=voided, void_reason="Reported twice by mistake.",
                           updated_at=voided)
        rows.append(row)
    # Inserted in check-in order, as they would have been reported over the years.
    rows.sort(key=lambda r: r["check_in_at"])
    for serial, row in enumerate(rows):
        # Two letters and seven digits, unique: 7919 is coprime with 10^7, so serial -> digits is one-to-one.
        letters = chr(65 + serial % 26) + chr(65 + (serial // 26) % 26)
        row["document_number"] = f"{letters}{(serial * 7919 + 1234567) % 10_000_000:07d}"
        if row["reported_at"] is not None:
            row["receipt_number"] = receipt_number(serial + 1)
    return rows


def insert_stays(app, rows: list[dict]) -> float:
    """Bulk insert with SQLAlchemy Core in batches; returns the seconds it took."""
    from sqlalchemy import insert

    from serasi_web.extensions import db
    from serasi_web.stays.models import Stay

    started = time.perf_counter()
    with app.app_context():
        for start in range(0, len(rows), BATCH_SIZE):
            db.session.execute(insert(Stay.__table__), rows[start:start + BATCH_SIZE])
            db.session.commit()
        db.session.remove()
    return time.perf_counter() - started


def stay_counts(app, owner_id: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from serasi_web.extensions import db
    from serasi_web.lodgings.models import Lodging
    from serasi_web.stays.models import Stay

    with app.app_context():
        rows = db.session.execute(
            select(Stay.status, func.count()).join(Lodging, Stay.lodging_id == Lodging.id)
            .where(Lodging.owner_id == owner_id).group_by(Stay.status)
        ).all()
        db.session.remove()
    return dict(rows)


# ---- measuring ----------------------------------------------------------------------------------

def pages_for(lodging_id: int, surname: str, document_prefix: str) -> list[tuple[str, str]]:
    return [
        ("dashboard", "/dashboard"),
        ("dashboard, one lodging", f"/dashboard?lodging={lodging_id}"),
        ("in the house", "/stays?view=in_house"),
        (f"search surname {surname!r}", "/stays?" + urlencode({"q": surname})),
        (f"search document {document_prefix!r}", "/stays?" + urlencode({"q": document_prefix})),
    ]


def measure(port: int, operator: common.SeededOperator, pages: list[tuple[str, str]], requests: int,
            max_seconds: float) -> list[dict]:
    """Sequential GETs of each page with one logged-in session; latency of each full answer."""
    browser = common.Browser(common.HOST, port)
    browser.login(operator.email, operator.password)
    results = []
    for label, path in pages:
        for _ in range(WARMUP_REQUESTS):  # templates compiled, caches warm
            browser.get(path)
        latencies, errors, size = [], 0, 0
        stop_at = time.perf_counter() + max_seconds
        while len(latencies) < requests and time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, _, body = browser.get(path)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
            size = len(body)
        results.append(dict(label=label, path=path, latencies=latencies, errors=errors, bytes=size))
    browser.close()
    return results


def print_table(title: str, results: list[dict], with_target: bool) -> bool:
    print(f"\n{title}")
    print(f"  {'page':42} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>6}" + ("  target" if with_target else ""))
    all_met = True
    for result in results:
        values = result["latencies"]
        p95 = common.percentile(values, 95)
        met = p95 < TARGET_P95_SECONDS and not result["errors"]
        all_met &= met
        verdict = ("  PASS" if met else "  FAIL") if with_target else ""
        print(f"  {result['label'][:42]:42} {len(values):>4} {common.ms(common.percentile(values, 50)):>8} "
              f"{common.ms(p95):>8} {common.ms(max(values, default=float('nan'))):>8} {result['errors']:>6}{verdict}")
    return all_met


# ---- diagnosis ----------------------------------------------------------------------------------

def abbreviate(statement: str) -> str:
    """One line, with the long select lists (every column of a table) shortened to ``table.*``."""
    text = " ".join(statement.split())
    return re.sub(r"(\w+)\.\w+(?: AS \w+)?(?:, \1\.\w+(?: AS \w+)?){5,}", r"\1.*", text)


def explain_page(app, operator: common.SeededOperator, path: str, top: int = 4) -> None:
    """Render ``path`` in this process, capture its SQL, time each statement alone, show plans."""
    from sqlalchemy import event

    from serasi_web.extensions import db

    captured: list[tuple[str, tuple]] = []

    def capture(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    client = app.test_client()
    response = client.post("/login", data={"email": operator.email, "password": operator.password})
    if response.status_code != 303:
        print(f"    (could not log in in-process: HTTP {response.status_code})")
        return
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    costs = []
    with engine.connect() as connection:
        for statement, parameters in captured:
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                connection.exec_driver_sql(statement, parameters).fetchall()
                timings.append(time.perf_counter() - started)
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            costs.append((statistics.median(timings), statement, parameters, plan))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    total = sum(cost for cost, *_ in costs)
    print(f"    {path}: {len(costs)} SELECT statements, {common.ms(total)} ms of SQL in all (median of 5 runs each)")
    for cost, statement, parameters, plan in sorted(costs, key=lambda item: item[0], reverse=True)[:top]:
        print(f"    -- {common.ms(cost)} ms, parameters {parameters}")
        print("       " + abbreviate(statement))
        for row in plan:
            print(f"         plan: {row[-1]}")


# ---- main ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stays", type=int, default=100_000, help="stays of the big account (default 100000)")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per page (default 300)")
    parser.add_argument("--max-seconds-per-page", type=float, default=60,
                        help="stop measuring a page after this long, whatever --requests says (default 60)")
    parser.add_argument("--seed", type=int, default=20241128, help="random seed of the generated stays")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, logs) and print it")
    args = parser.parse_args(argv)
    if not 1 <= args.stays <= 1_000_000 or not 1 <= args.requests <= 5000:
        parser.error("--stays must be 1..1000000 and --requests 1..5000")

    print("machine:", common.machine_description())
    folder = Path(tempfile.mkdtemp(prefix="serasi-dashboard-"))
    try:
        return run(args, folder)
    finally:
        if args.keep:
            print(f"\nkept: {folder} (database {folder / 'serasi.db'})")
        else:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def run(args, folder: Path) -> int:
    from serasi_web.database import utcnow

    url = common.sqlite_url(folder)
    app = common.make_app(url, folder / "instance")
    common.migrate(app)
    big = common.seed_operator(app, "big.operator@bench.test", lodging_count=3)
    empty = common.seed_operator(app, "new.operator@bench.test", lodging_count=3)

    rng = random.Random(args.seed)
    rows = make_stays(args.stays, big.lodging_ids, big.user_id, utcnow(), rng)
    seconds = insert_stays(app, rows)
    print(f"inserted {len(rows)} stays in {seconds:.1f} s; by status: {stay_counts(app, big.user_id)}")
    # A surname everybody has in the data, and the first five characters of a document number.
    surname = "Müller"
    document_prefix = rows[len(rows) // 2]["document_number"][:5]
    common.dispose(app)

    with common.serasi_server(url, 1, folder / "gunicorn.log") as server:
        big_results = measure(server.port, big, pages_for(big.lodging_ids[0], surname, document_prefix),
                              args.requests, args.max_seconds_per_page)
        empty_results = measure(server.port, empty, pages_for(empty.lodging_ids[0], surname, document_prefix),
                                args.requests, args.max_seconds_per_page)

    print(f"\nSQLite, gunicorn 1 sync worker, sequential requests, {WARMUP_REQUESTS} unmeasured first")
    met = print_table(f"Operator with {args.stays} stays (target p95 < {TARGET_P95_SECONDS * 1000:.0f} ms):",
                      big_results, with_target=True)
    print_table("Baseline: operator with 0 stays:", empty_results, with_target=False)
    print(f"load average at the end of the measurements: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"\n{'PASS' if met else 'FAIL'}: p95 < {TARGET_P95_SECONDS * 1000:.0f} ms on every page for {args.stays} stays")

    missed = [r for r in big_results if common.percentile(r["latencies"], 95) >= TARGET_P95_SECONDS]
    if missed:
        print("\nWhy: the SQL of each page that missed the target, slowest statements first")
        diagnosis_app = common.make_app(url, folder / "instance")
        for result in missed:
            explain_page(diagnosis_app, big, result["path"])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
