"""Scale-out as deployed (docs/scale-out.md): two app processes and two workers sharing PostgreSQL
and Redis. Nothing is lost or delivered twice, and login throttling and API rate limits hold
across the processes."""
from __future__ import annotations

import re
import time
from collections import defaultdict

import requests

from bench.delivery_receiver import WebhookReceiver

from .helpers import TEST_PASSWORD, guest_form, make_lodging, make_offices, make_user
from .test_faults import SECRET, fault_app, fault_database, free_port, process_env, processes, wait_for  # noqa: F401
from .test_jobs import redis_db  # noqa: F401  (Redis db 9; redis_url comes from conftest)

def api_body(number: int, room: str = "1") -> dict:
    form = guest_form(document_number=f"S{number:07d}", room=room)
    return {
        "guest": {"surname": "Tanaka", "given_names": "Yui", "sex": "F", "date_of_birth": "1992-04-05", "nationality": "JPN"},
        "document": {"type": "passport", "number": f"S{number:07d}", "issuing_state": "JPN", "expiry_date": form["document_expiry"]},
        "permit": {"entry_date": form["entry_date"], "visa_index": "C1", "port_of_entry": "Ngurah Rai"},
        "stay": {"check_in": form["check_in_at"], "room": room, "purpose": "tourism"},
    }


def csrf_from(page: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    return found.group(1) if found else ""


def test_two_apps_and_two_workers_share_postgresql_and_redis(fault_app, redis_db, redis_url, processes, tmp_path):  # noqa: F811
    from plugins.push_api.tokens import create_token

    make_offices()
    operator = make_user("operator@example.com")
    lodging = make_lodging(operator)
    reporting_token = create_token(lodging, "PMS", operator)
    limited_token = create_token(lodging, "noisy PMS", operator)
    from serasi_web.extensions import db

    db.session.commit()
    receiver = WebhookReceiver(SECRET).start()
    try:
        processes.env = process_env(fault_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, SERASI_REDIS_URL=redis_url,
                                    SERASI_WEBHOOK_URL=receiver.url, SERASI_API_RATE_LIMIT="150 per minute")
        ports = [free_port(), free_port()]
        for port in ports:
            processes.web(port, workers=1)
        for _ in range(2):
            processes.worker()
        apps = [f"http://127.0.0.1:{port}" for port in ports]

        # Reports and corrections through both app processes.
        count = 40
        for number in range(count):
            for room in ("1", "2"):
                response = requests.put(f"{apps[number % 2]}/api/v1/stays/R-{number}", json=api_body(number, room),
                                        headers={"Authorization": f"Bearer {reporting_token}"}, timeout=10)
                assert response.status_code in (200, 201), response.text
        assert wait_for(lambda: receiver.stats()["received"] == 2 * count, 60), receiver.stats()["received"]
        time.sleep(1)
        stats = receiver.stats()
        assert stats["repeats"] == 0
        versions = defaultdict(list)
        for stay_id, version in stats["order"]:
            versions[stay_id].append(version)
        assert len(versions) == count and all(found == [1, 2] for found in versions.values())

        # API rate limit: one budget for the token, whichever process answers.
        answers = [requests.get(f"{apps[number % 2]}/api/v1/stays/nothing", headers={"Authorization": f"Bearer {limited_token}"},
                                timeout=10).status_code for number in range(170)]
        assert answers.count(429) == 20 and answers.count(404) == 150

        # Login throttling: 5 failures for an account, spread over both processes, lock it everywhere.
        sessions = [requests.Session() for _ in apps]
        for number in range(5):
            app, session = apps[number % 2], sessions[number % 2]
            token = csrf_from(session.get(f"{app}/login", timeout=10).text)
            session.post(f"{app}/login", data={"email": operator.email, "password": "wrong password", "csrf_token": token},
                         allow_redirects=False, timeout=10)
        token = csrf_from(sessions[1].get(f"{apps[1]}/login", timeout=10).text)
        right = sessions[1].post(f"{apps[1]}/login", data={"email": operator.email, "password": TEST_PASSWORD, "csrf_token": token},
                                 allow_redirects=False, timeout=10)
        assert right.status_code != 303  # refused although the password is right: throttled
    finally:
        receiver.stop()
        processes.stop_all()
