"""Delivery benchmark: 10,000 outbox events to a local webhook receiver with two workers, and the
time from a report's commit to its delivery (median, p95) at idle and under load.

    .venv/bin/python -m bench.delivery_throughput [--events 10000] [--workers 2]

Uses its own PostgreSQL database (``serasi_bench_delivery`` on 127.0.0.1:5432, dropped at the
end), a receiver process on loopback and worker processes; stops by itself (``--timeout``).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/serasi_bench_delivery"
BASE = {"TESTING": True, "SECRET_KEY": "bench-secret-key-" + "x" * 32, "WTF_CSRF_ENABLED": False}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def recreate(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        if not os.environ.get("BENCH_DROP_ONLY"):
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-reports", type=int, default=40)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout

    from serasi_web.database import upgrade_schema

    from serasi_web import create_app
    from serasi_web.delivery.models import OutboxEvent
    from serasi_web.delivery.outbox import event_payload
    from serasi_web.extensions import db
    from serasi_web.stays.models import Stay
    from tests.helpers import login, make_lodging, make_offices, make_user, report_guest

    recreate(args.database_url)
    scratch = Path(tempfile.mkdtemp(prefix="serasi-bench-delivery-"))
    app = create_app({**BASE, "SQLALCHEMY_DATABASE_URI": args.database_url, "INSTANCE_PATH": str(scratch / "instance")})
    started: list[subprocess.Popen] = []
    receiver_port = free_port()
    try:
        with app.app_context():
            upgrade_schema()
            from serasi_web.demo_data import generate

            print(f"seeding {args.events:,} reports ...", flush=True)
            generate(int(args.events * 1.05) + 50, days=30, seed=1)  # some demo stays are drafts or voided
            stays = db.session.execute(select(Stay).where(Stay.reported_at.is_not(None)).order_by(Stay.id).limit(args.events)).scalars().all()
            rows = []
            for stay in stays:
                payload = event_payload("reported", stay)
                payload["idempotency_key"] = f"bench-{stay.id}"
                rows.append({"stay_id": stay.id, "lodging_id": stay.lodging_id, "event": "reported", "stay_version": stay.version,
                             "idempotency_key": payload["idempotency_key"], "payload": payload})
            db.session.execute(insert(OutboxEvent), rows)
            db.session.commit()
            backlog = len(rows)
            make_offices()
            operator = make_user("bench.operator@example.com")
            from types import SimpleNamespace

            lodging = SimpleNamespace(id=make_lodging(operator).id)  # report_guest needs only the id
            from tests.conftest import RequestIsolatedClient

            app.test_client_class = RequestIsolatedClient  # each request in its own app context, as in production
            client = app.test_client()
            login(client, operator.email)

            started.append(subprocess.Popen([sys.executable, "-m", "bench.delivery_receiver", "--port", str(receiver_port),
                                             "--secret", SECRET, "--seconds", str(args.timeout)], cwd=ROOT))
            stats_url = f"http://127.0.0.1:{receiver_port}/stats"
            while time.monotonic() < deadline:
                try:
                    requests.get(stats_url, timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            env = {**os.environ, "FLASK_APP": "wsgi", "SERASI_DATABASE_URL": args.database_url, "SERASI_SECRET_KEY": BASE["SECRET_KEY"],
                   "SERASI_WEBHOOK_URL": f"http://127.0.0.1:{receiver_port}/hook", "SERASI_WEBHOOK_SECRET": SECRET,
                   "SERASI_HUEY_SQLITE_PATH": str(scratch / "huey.db"), "SERASI_DELIVERY_POLL_SECONDS": "0.05",
                   "SERASI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
            env.pop("SERASI_REDIS_URL", None)

            def received() -> dict:
                return requests.get(stats_url, timeout=10).json()

            def latencies(keys_and_commits: list[tuple[str, datetime]]) -> list[float]:
                while time.monotonic() < deadline:
                    arrived = received()["arrived_at"]
                    if all(key in arrived for key, _ in keys_and_commits):
                        return [arrived[key] - committed.timestamp() for key, committed in keys_and_commits]
                    time.sleep(0.2)
                raise TimeoutError("reports not delivered in time")

            def report_some(count: int, start: int, pause: float) -> list[tuple[str, datetime]]:
                made = []
                for number in range(count):
                    stay_id = report_guest(client, lodging, document_number=f"B{start + number:07d}", surname="Bench")
                    event = db.session.execute(select(OutboxEvent).where(OutboxEvent.stay_id == stay_id)).scalar_one()
                    made.append((event.idempotency_key, event.created_at))
                    db.session.remove()
                    time.sleep(pause)
                return made

            # Throughput: the whole backlog with N workers.
            began = time.monotonic()
            for _ in range(args.workers):
                started.append(subprocess.Popen([sys.executable, "-m", "flask", "serasi", "worker", "--no-periodic"], cwd=ROOT, env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            # Under load: reports made while the backlog drains.
            under_load = report_some(args.latency_reports // 2, 0, 0.05)
            while received()["received"] < backlog + len(under_load) and time.monotonic() < deadline:
                time.sleep(0.2)
            elapsed = time.monotonic() - began
            stats = received()
            drained = stats["received"]
            arrivals = sorted(stats["arrived_at"].values())
            steady = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
            loaded = latencies(under_load)
            idle = latencies(report_some(args.latency_reports, 10_000, 0.25))
            stats = received()
            print(f"events: {backlog:,} backlog + {len(under_load)} live; workers: {args.workers}; "
                  f"delivered {drained:,} in {elapsed:.1f} s = {drained / elapsed:,.0f}/s; "
                  f"repeats {stats['repeats']}, bad signatures {stats['bad_signatures']}")
            print(f"from the first delivery to the last (without the workers' start-up): {steady:,.0f}/s")
            print(f"commit -> delivery at idle: median {statistics.median(idle) * 1000:.0f} ms, p95 {percentile(idle, 0.95) * 1000:.0f} ms "
                  f"({len(idle)} reports)")
            print(f"commit -> delivery under load (10k backlog draining): median {statistics.median(loaded):.1f} s, "
                  f"p95 {percentile(loaded, 0.95):.1f} s ({len(loaded)} reports)")
            db.session.remove()
            db.engine.dispose()
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        os.environ["BENCH_DROP_ONLY"] = "1"
        recreate(args.database_url)


if __name__ == "__main__":
    main()
