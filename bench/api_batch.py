"""Benchmark: a batch of 500 stays through the push API on SQLite (target: under 2 s).

    .venv/bin/python -m bench.api_batch [--items 500] [--rounds 3]

Each round: a fresh migrated SQLite database, one lodging and token, then POST /api/v1/stays:batch
with N new stays (timed), the same batch again (idempotent: every item unchanged), and a batch
in which every stay changed (every item a correction). Baseline in the same run: N single PUTs
of the same stays, one request each. Measured in-process through the WSGI interface (the
request and response bodies are real JSON); the server's own overhead is in
bench.submission_throughput.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def letters(n: int) -> str:
    """A name made of letters only (names may not contain digits)."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = chr(65 + digit) + out
        if not n:
            return "Guest" + out.lower()


CHECK_IN = (datetime.now(ZoneInfo("Asia/Makassar")) - timedelta(hours=2)).isoformat(timespec="seconds")


def stay_item(n: int, room: str = "1") -> dict:
    check_in = CHECK_IN  # fixed, so that "the same batch again" really is the same content
    return {
        "external_id": f"RES-{n:06d}",
        "guest": {"surname": letters(n), "given_names": "Bench", "sex": "M", "date_of_birth": "1985-06-15", "nationality": "AUS"},
        "document": {"type": "passport", "number": f"PB{n:07d}", "issuing_state": "AUS", "expiry_date": (date.today() + timedelta(days=900)).isoformat()},
        "permit": {"kind": "bvk", "entry_date": (date.today() - timedelta(days=1)).isoformat()},
        "stay": {"check_in": check_in, "room": room, "purpose": "tourism"},
    }


def run_round(items: int) -> dict[str, float]:
    from serasi_web.database import upgrade_schema

    from plugins.push_api.tokens import create_token
    from serasi_web import create_app
    from serasi_web.extensions import db
    from serasi_web.testing import operator_with_lodging

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db", "INSTANCE_PATH": folder, "SECRET_KEY": "b" * 40,
                          "API_RATE_LIMIT": "1000000 per minute", "API_MAX_BATCH_BODY": 16 * 1024 * 1024})
        with app.app_context():
            upgrade_schema()
            operator, lodging = operator_with_lodging()
            token = create_token(lodging, "bench", operator)
            db.session.remove()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # Warm up as a running server would be: translations, country names, query caches.
        warm = stay_item(10**6)
        client.put(f"/api/v1/stays/{warm.pop('external_id')}", data=json.dumps(warm), headers=headers)
        figures = {}

        def batch(label: str, body: list[dict], expected: int) -> None:
            data = json.dumps({"items": body})
            started = time.perf_counter()
            response = client.post("/api/v1/stays:batch", data=data, headers=headers)
            figures[label] = time.perf_counter() - started
            codes = [r["status"] for r in response.get_json()["results"]]
            assert codes == [expected] * len(body), (label, {c: codes.count(c) for c in set(codes)})

        batch("new", [stay_item(n) for n in range(items)], 201)
        batch("same again (unchanged)", [stay_item(n) for n in range(items)], 200)
        batch("all changed", [stay_item(n, room="2") for n in range(items)], 200)
        started = time.perf_counter()
        for n in range(items, 2 * items):
            body = stay_item(n)
            response = client.put(f"/api/v1/stays/{body.pop('external_id')}", data=json.dumps(body), headers=headers)
            assert response.status_code == 201, response.get_json()
        figures["baseline: single PUTs"] = time.perf_counter() - started
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [run_round(args.items) for _ in range(args.rounds)]
    print(f"{args.items} stays per batch, {args.rounds} rounds, SQLite (median seconds)")
    for label in rounds[0]:
        median = statistics.median(r[label] for r in rounds)
        print(f"  {label:24} {median:7.2f} s   {args.items / median:7.0f} stays/s")
    worst = max(r["new"] for r in rounds)
    print("target: a batch of 500 new stays under 2 s:", "PASS" if worst < 2 else "FAIL", f"(slowest {worst:.2f} s)")
    return 0 if worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
