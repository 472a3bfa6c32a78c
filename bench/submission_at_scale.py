"""Does a guest report take longer to submit when the database holds 10 million stays?

    .venv/bin/python -m bench.submission_at_scale [--small-stays 100000] [--seconds 20] [--rounds 2]

Two PostgreSQL databases made by ``flask serasi demo-data`` (serasi_web/demo_data.py): the
office console benchmark's (``bench.officer_console --database postgresql --stays 10000000``
makes and keeps it as ``serasi_officer_bench``; run that first) and a small one of
``--small-stays`` (kept as ``serasi_scale_small``, generated when missing or of another size).
In each, an operator of Kanim Ngurah Rai's area with one verified villa is added once; the real
app runs under ``gunicorn -c gunicorn.conf.py`` (2 sync workers) and one client posts complete
guest reports back to back, each with a new document number (what an operator's phone does).
The two databases take turns (``--rounds`` each, so a busy moment of the machine does not land
on one side only). Target: the large database's p50 and p95 within 25% of the small one's.
Exit status 0 when met.
"""
from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from . import common

LARGE_DATABASE = "serasi_officer_bench"
SMALL_DATABASE = "serasi_scale_small"
OPERATOR = "operator.scale@serasi.test"
TOLERANCE = 1.25


def stay_count(url: str, instance: Path) -> int:
    from serasi_web.demo_data import stay_count as count

    app = common.make_app(url, instance)
    with app.app_context():
        result = count()
    common.dispose(app)
    return result


def small_database(stays: int, instance: Path) -> str:
    """The small database, generated when missing or of another size."""
    from sqlalchemy import create_engine, text

    url = f"{common.POSTGRES_SERVER_URL}/{SMALL_DATABASE}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            existing = connection.execute(text("SELECT count(*) FROM stay")).scalar()
    except Exception:  # noqa: BLE001 - no such database (or not migrated): make it
        existing = None
    finally:
        engine.dispose()
    if existing is not None and abs(existing - stays) < stays * 0.1:  # the turns add a few thousand
        print(f"reusing {SMALL_DATABASE} ({existing:,} stays)")
        return url
    url = common.recreate_postgres_database(SMALL_DATABASE)
    app = common.make_app(url, instance)
    common.migrate(app)
    from serasi_web.demo_data import generate

    with app.app_context():
        result = generate(stays, days=730, seed=20261128)
        print(f"generated {result.stays:,} stays in {result.seconds:.0f} s")
    common.dispose(app)
    return url


def seed_operator(url: str, instance: Path) -> int:
    """The measured operator and their villa in Kuta Selatan (Kanim Ngurah Rai), verified by an
    officer of that office; made once per database. Returns the lodging's id."""
    from sqlalchemy import select

    from serasi_web.accounts.models import Role, User
    from serasi_web.accounts.services import create_user
    from serasi_web.extensions import db
    from serasi_web.lodgings.models import Lodging
    from serasi_web.lodgings.services import decide, register_lodging
    from serasi_web.offices.models import ImmigrationOffice

    app = common.make_app(url, instance)
    common.migrate(app)
    with app.app_context():
        operator = db.session.scalar(select(User).where(User.email == OPERATOR))
        if operator is None:
            operator = create_user(email=OPERATOR, password=common.BENCH_PASSWORD, full_name="Operator Scale",
                                   role="operator", account_kind="lodging_business")
            office_id = db.session.scalar(select(ImmigrationOffice.id).where(ImmigrationOffice.code == "KANIM-NGURAH-RAI"))
            officer = db.session.scalar(select(User).where(User.office_id == office_id, User.role == Role.OFFICER.value).limit(1))
            if officer is None:
                officer = create_user(email="petugas.scale@serasi.test", password=common.BENCH_PASSWORD, full_name="Petugas Scale",
                                      role="officer", office_id=office_id)
            lodging = register_lodging(operator, dict(
                name="Villa Scale", lodging_type="villa", street_address="Jl. Uluwatu No. 1", postal_code="80362",
                nib="9120001234599", room_count=40, person_in_charge="Wayan", phone="0812 3456 7890", **common.LODGING_ADDRESS))
            decide(lodging, officer, verified=True)
            db.session.commit()
        lodging_id = db.session.scalar(select(Lodging.id).where(Lodging.owner_id == operator.id).order_by(Lodging.id).limit(1))
        db.session.remove()
    common.dispose(app)
    return lodging_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-stays", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per turn (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="turns per database (default 2)")
    parser.add_argument("--cache-dir", default="/tmp/serasi-scale-bench")
    args = parser.parse_args(argv)

    print("machine:", common.machine_description())
    folder = Path(args.cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    large_url = f"{common.POSTGRES_SERVER_URL}/{LARGE_DATABASE}"
    databases = {"small": small_database(args.small_stays, folder / "instance-small"), "large": large_url}
    lodgings, sizes, latencies = {}, {}, {"small": [], "large": []}
    for name, url in databases.items():
        lodgings[name] = seed_operator(url, folder / f"instance-{name}")
        sizes[name] = stay_count(url, folder / f"instance-{name}")
    print(f"stays: small {sizes['small']:,}, large {sizes['large']:,}")
    for turn in range(args.rounds):
        for name in ("small", "large") if turn % 2 == 0 else ("large", "small"):
            # A new document-number prefix per turn: the databases are kept, and a guest still in
            # the house cannot be reported again.
            prefix = "Q" + secrets.token_hex(3).upper()
            scenario = common.GuestReportScenario(lodgings[name], OPERATOR, common.BENCH_PASSWORD, document_prefix=prefix)
            with common.serasi_server(databases[name], 2, folder / f"gunicorn-{name}.log") as server:
                load = common.run_load(server.port, scenario, 1, args.seconds, warmup=3)
            if load.measured_errors or load.failures:
                print(f"  {name}: errors {dict(load.error_kinds)} {load.failures[:1]}")
                return 1
            latencies[name] += load.latencies
            print(f"  turn {turn + 1}, {name}: {load.measured_successes} reports, p50 {common.ms(common.percentile(load.latencies, 50))} ms, "
                  f"p95 {common.ms(common.percentile(load.latencies, 95))} ms")
    met = True
    print(f"\n{'':8} {'reports':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name in ("small", "large"):
        values = latencies[name]
        print(f"{name:8} {len(values):>8} {common.ms(common.percentile(values, 50)):>8} {common.ms(common.percentile(values, 95)):>8}")
    for percentile in (50, 95):
        small, large = (common.percentile(latencies[name], percentile) for name in ("small", "large"))
        ok = large <= small * TOLERANCE
        met &= ok
        print(f"p{percentile}: large / small = {large / small:.2f} (target <= {TOLERANCE}) {'PASS' if ok else 'FAIL'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
