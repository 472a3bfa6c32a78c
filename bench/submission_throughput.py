"""Guest report submissions per second, against a bare Flask form endpoint on the same machine.

    .venv/bin/python -m bench.submission_throughput [--seconds 30] [--database sqlite|postgresql|both]
    .venv/bin/python -m bench.submission_throughput --profile 0     # where the time of one submission goes
    .venv/bin/python -m bench.submission_throughput --floors 1000 --bare-rate 1085   # the parts alone

For each database: a fresh database (SQLite file in a temporary folder, or the PostgreSQL
database serasi_bench dropped and created again), migrated, with one operator and one verified
lodging. The real app runs under ``gunicorn -c gunicorn.conf.py wsgi:app`` with 2 sync workers;
client processes each log in once and post complete guest reports, each with a new document
number, back to back. Then bench/bare_app.py runs under gunicorn with 2 workers and the same
clients post the same form to it. Target: the real submission reaches at least half of the bare
endpoint's requests/s. Afterwards the rows are counted: exactly one stay (with its version,
audit event and outbox event) per 303 answer.

Exit status: 0 when every target is met and nothing was lost, 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import func, select

from . import common

WORKERS = 2
TARGET_RATIO = 0.5


def count_rows(app, lodging_id: int) -> dict[str, int]:
    """Rows the submissions left behind: stays (and distinct document numbers), versions, audit events."""
    from serasi_web.audit.models import AuditEvent
    from serasi_web.extensions import db
    from serasi_web.stays.models import Stay, StayVersion

    with app.app_context():
        scalar = db.session.scalar
        counts = {
            "stays": scalar(select(func.count()).select_from(Stay).where(Stay.lodging_id == lodging_id)),
            "distinct documents": scalar(select(func.count(func.distinct(Stay.document_number))).where(Stay.lodging_id == lodging_id)),
            "reported stays": scalar(select(func.count()).select_from(Stay).where(Stay.lodging_id == lodging_id, Stay.status == "reported")),
            "stay versions": scalar(select(func.count()).select_from(StayVersion)),
            "audit events": scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "stay.submitted")),
        }
        try:  # the outbox (events for other systems) is written in the same transaction
            from serasi_web.delivery.models import OutboxEvent
        except ImportError:
            pass
        else:
            counts["outbox events"] = scalar(select(func.count()).select_from(OutboxEvent).where(
                OutboxEvent.lodging_id == lodging_id, OutboxEvent.event == "reported"))
        db.session.remove()
    return counts


def describe(label: str, load: common.LoadResult) -> None:
    latencies = load.latencies
    print(f"  {label}: {load.requests_per_second:8.1f} req/s  "
          f"(303: {load.measured_successes} in {load.seconds:.0f} s; errors: {load.measured_errors} measured, "
          f"{load.errors} in all)  latency p50 {common.ms(common.percentile(latencies, 50))} ms, "
          f"p95 {common.ms(common.percentile(latencies, 95))} ms, max {common.ms(max(latencies, default=float('nan')))} ms")
    for failure in load.failures:
        print(f"    client failure: {failure.strip()}")
    if load.errors:
        print(f"    errors by kind: {dict(load.error_kinds)}")
        for result in load.results:
            for sample in result.error_samples[:1]:
                print(f"    sample: {sample}")


def run_one(database: str, seconds: float, warmup: float, clients: int) -> bool:
    print(f"\n== {database}: {WORKERS} gunicorn sync workers, {clients} client processes, "
          f"{warmup:.0f} s warm-up + {seconds:.0f} s measured ==")
    with common.temp_folder() as folder:
        url = common.sqlite_url(folder) if database == "sqlite" else common.recreate_postgres_database()
        app = common.make_app(url, folder / "instance")
        common.migrate(app)
        operator = common.seed_operator(app, "operator@bench.test")
        lodging_id = operator.lodging_ids[0]
        common.dispose(app)

        scenario = common.GuestReportScenario(lodging_id, operator.email, operator.password)
        with common.serasi_server(url, WORKERS, folder / "serasi-gunicorn.log") as server:
            real = common.run_load(server.port, scenario, clients, seconds, warmup)
        # The server is stopped (gracefully): every answered request has been committed.
        rows = count_rows(app, lodging_id)
        common.dispose(app)

        with common.bare_server(WORKERS, folder / "bare-gunicorn.log") as server:
            bare = common.run_load(server.port, common.GuestReportScenario(lodging_id), clients, seconds, warmup)

    describe("SERASI submission", real)
    describe("bare Flask form  ", bare)
    ratio = real.requests_per_second / bare.requests_per_second if bare.requests_per_second else 0.0
    rate_ok = ratio >= TARGET_RATIO and not real.failures and not bare.failures
    print(f"  ratio submission / bare: {ratio:.3f}  (target >= {TARGET_RATIO})  -> {'PASS' if rate_ok else 'FAIL'}")

    lost = rows["stays"] != real.successes
    print(f"  rows after the run: {rows}; 303 answers in all (warm-up included): {real.successes}")
    # Every count must equal the stays: one version, one audit event (and one outbox event) each.
    consistent = not lost and len(set(rows.values())) == 1
    print(f"  nothing lost (one stay, one version, one audit event, one outbox event per 303): "
          f"{'PASS' if consistent else 'FAIL'}")
    return rate_ok and consistent


def _logged_in(folder):
    """A migrated SQLite app with one operator, logged in: (app, operator, cookie header, a
    cookie-less test client, the report form's path). As in the HTTP benchmark, the session
    cookie is frozen after login (flashes are dropped)."""
    app = common.make_app(common.sqlite_url(folder), folder / "instance")
    common.migrate(app)
    operator = common.seed_operator(app, "operator@bench.test")
    login = app.test_client()
    if login.post("/login", data={"email": operator.email, "password": operator.password}).status_code != 303:
        raise RuntimeError("in-process login failed")
    cookie = {"Cookie": f"session={login.get_cookie('session').value}"}
    return app, operator, cookie, app.test_client(use_cookies=False), f"/lodgings/{operator.lodging_ids[0]}/stays/new"


def profile_in_process(open_stays: int, profiled: int = 200) -> None:
    """Where a submission's time goes: the same POST through Flask's test client (no gunicorn,
    no network, CSRF off) on a fresh SQLite database: ``open_stays`` reports first, then
    ``profiled`` timed without the profiler, then ``profiled`` more under cProfile; prints the
    app's own functions by cumulative time."""
    import cProfile
    import io
    import pstats
    import re
    import secrets
    import time

    with common.temp_folder() as folder:
        app, _operator, cookie, client, path = _logged_in(folder)
        check_in = common.local_check_in()

        def submit(number: int) -> None:
            fields = common.guest_report_fields(f"Q{number:09d}", secrets.token_urlsafe(32), "", check_in)
            response = client.post(path, data=fields, headers=cookie)
            if response.status_code != 303:
                raise RuntimeError(f"submission answered HTTP {response.status_code}")

        for number in range(open_stays):
            submit(number)
        started = time.perf_counter()
        for number in range(open_stays, open_stays + profiled):
            submit(number)
        plain = (time.perf_counter() - started) / profiled
        profiler = cProfile.Profile()
        profiler.enable()
        for number in range(open_stays + profiled, open_stays + 2 * profiled):
            submit(number)
        profiler.disable()
        common.dispose(app)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"serasi_web", 14)
    print(f"\nin-process (test client, CSRF off), SQLite: {plain * 1000:.1f} ms per submission without the profiler "
          f"({open_stays} to {open_stays + profiled} open stays in the lodging); then {profiled} submissions under "
          f"cProfile, the app's own functions by cumulative time:")
    for line in out.getvalue().splitlines():
        if re.match(r"\s*(ncalls|\d)", line):
            print("  " + line.replace(str(common.REPO_ROOT) + "/", ""))


def floors_in_process(repetitions: int, bare_rate: float | None) -> None:
    """What the parts of a submission cost on their own (median of ``repetitions``, in-process,
    SQLite, CSRF off), against the bare endpoint through the same test client.

    With ``bare_rate`` (the bare endpoint's requests/s under gunicorn from a run of this
    benchmark) it also prints the best ratio the target allows: a request under gunicorn costs
    its in-process time plus a fixed share F (HTTP parsing, sockets, the client processes on the
    same cores), and F = cores / bare_rate - bare in-process.
    """
    import secrets
    import statistics
    import time

    from serasi_web.accounts.sessions import load_user
    from serasi_web.extensions import db
    from serasi_web.lodgings.services import get_own_lodging_or_404
    from serasi_web.stays import services
    from serasi_web.stays.forms import StayForm
    from serasi_web.stays.routes import _report_values

    from . import bare_app

    check_in = common.local_check_in()
    numbers = iter(range(10**9))

    def fields() -> dict:
        return common.guest_report_fields(f"F{next(numbers):09d}", secrets.token_urlsafe(32), "", check_in)

    def median_ms(samples: list[float]) -> float:
        return statistics.median(samples) * 1000

    bare_client = bare_app.app.test_client()
    bare = []
    for _ in range(repetitions):
        body = fields()
        started = time.perf_counter()
        bare_client.post("/lodgings/1/stays/new", data=body)
        bare.append(time.perf_counter() - started)

    parts: dict[str, list[float]] = {name: [] for name in (
        "whole submission (test client)", "session + user (Flask-Login, one query)",
        "ownership of the lodging (one query)", "26-field form built and validated (WTForms)",
        "rules, four inserts and the commit (create_stay)")}
    with common.temp_folder() as folder:
        app, operator, cookie, client, path = _logged_in(folder)
        for _ in range(repetitions):
            body = fields()
            started = time.perf_counter()
            if client.post(path, data=body, headers=cookie).status_code != 303:
                raise RuntimeError("the submission was refused")
            parts["whole submission (test client)"].append(time.perf_counter() - started)
        for _ in range(repetitions):
            body = fields()
            with app.test_request_context(path, method="POST", data=body, headers=cookie):
                moments = [time.perf_counter()]
                user = load_user(str(operator.user_id))
                moments.append(time.perf_counter())
                lodging = get_own_lodging_or_404(user, operator.lodging_ids[0])
                moments.append(time.perf_counter())
                form = StayForm(locale="id")
                if not form.validate():
                    raise RuntimeError(f"the form was refused: {form.errors}")
                moments.append(time.perf_counter())
                services.create_stay(lodging, _report_values(form, lodging), user, submit=True,
                                     form_token=form.form_token.data)
                db.session.remove()
                moments.append(time.perf_counter())
            for name, before, after in zip(list(parts)[1:], moments, moments[1:]):
                parts[name].append(after - before)
        common.dispose(app)

    print(f"in-process, SQLite, median of {repetitions} (ms):")
    print(f"  {'bare endpoint (test client)':48} {median_ms(bare):6.2f}")
    for name, samples in parts.items():
        print(f"  {name:48} {median_ms(samples):6.2f}")
    mandated = sum(median_ms(parts[name]) for name in list(parts)[1:4])
    print(f"  {'session + ownership + form alone':48} {mandated:6.2f}")
    if bare_rate:
        cores = os.cpu_count() or 1
        fixed = cores / bare_rate * 1000 - median_ms(bare)
        budget = 2 * cores / bare_rate * 1000 - fixed
        print(f"\nunder gunicorn the bare endpoint served {bare_rate:.0f} req/s on {cores} cores: "
              f"{cores / bare_rate * 1000:.2f} ms of CPU per request, of which F = {fixed:.2f} ms outside the app.")
        print(f"half that rate leaves {budget:.2f} ms in-process per submission; the session, ownership and form "
              f"alone take {mandated:.2f} ms, the whole submission {median_ms(parts['whole submission (test client)']):.2f} ms.")
        best = (cores / bare_rate * 1000) / (fixed + mandated)
        print(f"best ratio even if rules, inserts and commit cost nothing: {best:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per run (default 30)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before (default 3)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4: two per worker)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--profile", type=int, metavar="OPEN_STAYS", default=None,
                        help="instead of the benchmark: profile submissions in-process after OPEN_STAYS reports")
    parser.add_argument("--floors", type=int, metavar="REPETITIONS", default=None,
                        help="instead of the benchmark: time the parts of a submission alone, in-process")
    parser.add_argument("--bare-rate", type=float, default=None,
                        help="with --floors: the bare endpoint's req/s from a run, to print the best ratio possible")
    args = parser.parse_args(argv)
    if args.floors is not None:
        floors_in_process(args.floors, args.bare_rate)
        return 0
    if args.profile is not None:
        profile_in_process(args.profile)
        return 0
    if not 1 <= args.seconds <= 300:
        parser.error("--seconds must be between 1 and 300")
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    postgres = common.POSTGRES_SERVER_URL if "postgresql" in databases else None
    print("machine:", common.machine_description(postgres))
    outcomes = [run_one(database, args.seconds, args.warmup, args.clients) for database in databases]
    print(f"\nload average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    return 0 if all(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
