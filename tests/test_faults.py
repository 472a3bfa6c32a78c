"""Fault tests with real processes on PostgreSQL: a worker killed with SIGKILL mid-delivery, a
receiver down for a while, two workers racing, and the database restarted under load.

They use their own database (``serasi_faults`` on the server of SERASI_TEST_DATABASE_URL, or
SERASI_FAULT_DATABASE_URL) and, for the restart, their own PostgreSQL cluster on port 5439,
created here and removed afterwards. Every wait is bounded.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.delivery_receiver import WebhookReceiver
from serasi_web import create_app
from serasi_web.delivery.models import Delivery
from serasi_web.extensions import db

from .conftest import BASE_CONFIG, RequestIsolatedClient, _truncate_postgres, _upgrade
from .helpers import guest_form, login, make_lodging, make_offices, make_user, report_guest, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
SECRET = "fault-secret"
SERVER_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
FAULT_URL = os.environ.get("SERASI_FAULT_DATABASE_URL", "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def _recreate_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _drop_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def fault_database(tmp_path_factory):
    if FAULT_URL:
        url = FAULT_URL
    elif SERVER_URL:
        url = make_url(SERVER_URL).set(database="serasi_faults").render_as_string(hide_password=False)
    else:
        skip_or_fail("SERASI_TEST_DATABASE_URL (or SERASI_FAULT_DATABASE_URL) is not set: process fault tests need PostgreSQL")
    _recreate_database(url)
    _upgrade(url, tmp_path_factory.mktemp("fault-instance"))
    yield url
    _drop_database(url)


class Processes:
    """Worker and web processes started by a test, all ended (by their ids) at its end."""

    def __init__(self, tmp_path: Path, env: dict):
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[subprocess.Popen] = []
        self.logs: list = []

    def worker(self, *extra: str, **env) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.started)}.log", "wb")
        self.logs.append(log)
        process = subprocess.Popen([sys.executable, "-m", "flask", "serasi", "worker", "--no-periodic", *extra], cwd=ROOT,
                                   env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def web(self, port: int, workers: int = 2, **env) -> subprocess.Popen:
        log = open(self.tmp_path / f"web-{port}.log", "wb")
        self.logs.append(log)
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                   env={**self.env, "SERASI_BIND": f"127.0.0.1:{port}", "SERASI_WORKERS": str(workers), **env},
                                   stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 30), (self.tmp_path / f"web-{port}.log").read_text()[-3000:]
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in self.logs:
            log.close()
        self.logs = []


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


def process_env(database_url: str, tmp_path: Path, **extra) -> dict:
    env = {**os.environ, "FLASK_APP": "wsgi", "SERASI_DATABASE_URL": database_url, "SERASI_SECRET_KEY": BASE_CONFIG["SECRET_KEY"],
           "SERASI_HUEY_SQLITE_PATH": str(tmp_path / "huey.db"), "SERASI_DELIVERY_POLL_SECONDS": "0.05",
           "SERASI_WEBHOOK_SECRET": SECRET, "SERASI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("SERASI_REDIS_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


@pytest.fixture
def fault_app(fault_database, tmp_path):
    _truncate_postgres(fault_database)
    application = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": fault_database, "INSTANCE_PATH": str(tmp_path / "instance")})
    application.test_client_class = RequestIsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def reporting(fault_app):
    """An operator's logged-in client and lodging on the fault database."""
    make_offices()
    operator = make_user("operator@example.com")
    client = fault_app.test_client()
    login(client, operator.email)
    return client, make_lodging(operator)


@pytest.fixture
def processes(tmp_path):
    found = Processes(tmp_path, {})
    yield found
    found.stop_all()


def surname_for(number: int) -> str:
    """Names take letters only: 0 -> Guest Aaa, 1 -> Guest Aab ..."""
    letters = ""
    for _ in range(3):
        number, digit = divmod(number, 26)
        letters = chr(ord("a") + digit) + letters
    return "Guest " + letters.capitalize()


def report_many(client, lodging, count: int, start: int = 0) -> list[int]:
    return [report_guest(client, lodging, document_number=f"F{start + number:07d}", surname=surname_for(start + number))
            for number in range(count)]


def delivery_counts() -> dict:
    db.session.expire_all()
    return dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_receiver_gets_each_event_once(fault_database, reporting, processes, tmp_path):
    client, lodging = reporting
    receiver = WebhookReceiver(SECRET, delay=0.03).start()
    try:
        stays = report_many(client, lodging, 120)
        processes.env = process_env(fault_database, tmp_path, SERASI_WEBHOOK_URL=receiver.url, SERASI_DELIVERY_LEASE_SECONDS=3,
                                    SERASI_DELIVERY_BATCH_SIZE=16, SERASI_DELIVERY_CONCURRENCY=4)
        first = processes.worker()
        assert wait_for(lambda: receiver.stats()["received"] >= 30, 60), "the worker did not start delivering"
        first.send_signal(signal.SIGKILL)  # mid-batch: claimed deliveries stay leased
        first.wait(timeout=10)
        interrupted = receiver.stats()["received"]
        assert interrupted < len(stays)
        processes.worker()
        assert wait_for(lambda: receiver.stats()["received"] == len(stays), 90), receiver.stats()["received"]
        assert wait_for(lambda: delivery_counts() == {"delivered": len(stays)}, 30), delivery_counts()
        stats = receiver.stats()
        assert sorted(stay_id for stay_id, _ in stats["order"]) == sorted(stays)  # each exactly once after dedup
        print(f"killed after {interrupted} deliveries; repeats dropped by the receiver: {stats['repeats']}")
    finally:
        receiver.stop()


def test_a_receiver_down_for_a_while_gets_everything_in_order_per_stay_when_back(fault_database, reporting, processes, tmp_path):
    client, lodging = reporting
    port = free_port()
    stays = report_many(client, lodging, 25)
    for number, stay_id in enumerate(stays):
        response = client.post(f"/stays/{stay_id}/correct", data=guest_form(document_number=f"F{number:07d}", surname=surname_for(number),
                                                                             room="9") | {"reason": "room"})
        assert response.status_code == 303
    processes.env = process_env(fault_database, tmp_path, SERASI_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
                                SERASI_DELIVERY_RETRY_BASE_SECONDS=0.2, SERASI_DELIVERY_RETRY_MAX_SECONDS=1.0,
                                SERASI_DELIVERY_MAX_ATTEMPTS=1000)
    processes.worker()
    assert wait_for(lambda: delivery_counts().get("pending") == 2 * len(stays), 30)
    time.sleep(3)  # down for a while: attempts pile up, nothing is given up
    db.session.expire_all()
    assert db.session.scalar(select(func.max(Delivery.attempts))) >= 2 and delivery_counts() == {"pending": 2 * len(stays)}
    receiver = WebhookReceiver(SECRET, port=port).start()
    try:
        assert wait_for(lambda: receiver.stats()["received"] == 2 * len(stays), 60), receiver.stats()["received"]
        versions = defaultdict(list)
        for stay_id, version in receiver.stats()["order"]:
            versions[stay_id].append(version)
        assert versions == {stay_id: [1, 2] for stay_id in stays}  # v2 never before v1
    finally:
        receiver.stop()


def test_two_workers_on_postgresql_never_deliver_an_event_twice(fault_database, reporting, processes, tmp_path):
    client, lodging = reporting
    receiver = WebhookReceiver(SECRET, delay=0.005).start()
    try:
        stays = report_many(client, lodging, 200)
        processes.env = process_env(fault_database, tmp_path, SERASI_WEBHOOK_URL=receiver.url, SERASI_DELIVERY_BATCH_SIZE=10)
        processes.worker()
        processes.worker()
        assert wait_for(lambda: receiver.stats()["received"] == len(stays), 90), receiver.stats()["received"]
        time.sleep(1)
        assert receiver.stats()["repeats"] == 0
        db.session.expire_all()
        assert db.session.execute(select(Delivery.status, Delivery.attempts).distinct()).all() == [("delivered", 1)]
        logs = [(tmp_path / name).read_text() for name in ("worker-0.log", "worker-1.log")]
        assert all("SERASI worker" in log for log in logs)
    finally:
        receiver.stop()


# ---- the database restarted under load ----------------------------------------------------------

CLUSTER = ("15", "serasi_fault")
CLUSTER_PORT = 5439


def _cluster(*action: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, *action], capture_output=True, text=True, timeout=60)


@pytest.fixture
def own_cluster():
    """A throwaway PostgreSQL cluster on port 5439 (never the main server), removed afterwards."""
    if not shutil.which("pg_createcluster") or os.geteuid() != 0:
        skip_or_fail("the database-restart test needs root and pg_createcluster to make its own cluster")
    exists = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    if f"{CLUSTER[0]} {CLUSTER[1]} " not in " ".join(exists.split()) + " ":
        created = subprocess.run(["pg_createcluster", *CLUSTER, "-p", str(CLUSTER_PORT), "--", "--auth=trust"],
                                 capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr
    started = _cluster("start")
    assert started.returncode == 0 or "already running" in started.stderr, started.stderr
    url = f"postgresql+psycopg://postgres@127.0.0.1:{CLUSTER_PORT}/serasi"
    try:
        _recreate_database(url)
        yield url
    finally:
        _cluster("stop", "-m", "immediate")
        subprocess.run(["pg_dropcluster", "--stop", *CLUSTER], capture_output=True, timeout=60)


def test_the_database_restarted_under_load_gives_503_meanwhile_and_everything_recovers(own_cluster, processes, tmp_path):
    _upgrade(own_cluster, tmp_path / "upgrade")
    application = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": own_cluster, "INSTANCE_PATH": str(tmp_path / "instance")})
    application.test_client_class = RequestIsolatedClient
    receiver = WebhookReceiver(SECRET).start()
    port = free_port()
    statuses: dict[int | str, int] = defaultdict(int)
    stop = threading.Event()

    def load():
        session = requests.Session()
        while not stop.is_set():
            try:
                statuses[session.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code] += 1
            except requests.RequestException:
                statuses["error"] += 1
            time.sleep(0.01)

    try:
        with application.app_context():
            make_offices()
            operator = make_user("operator@example.com")
            client = application.test_client()
            login(client, operator.email)
            lodging = make_lodging(operator)
            email, lodging_id = operator.email, lodging.id
            processes.env = process_env(own_cluster, tmp_path, SERASI_WEBHOOK_URL=receiver.url)
            processes.web(port)
            worker = processes.worker()
            before = report_many(client, lodging, 10)
            assert wait_for(lambda: receiver.stats()["received"] == len(before), 30)
            loaders = [threading.Thread(target=load, daemon=True) for _ in range(3)]
            for loader in loaders:
                loader.start()
            db.session.remove()
            db.engine.dispose()

            assert _cluster("stop", "-m", "fast").returncode == 0
            assert wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 503, 20)
            time.sleep(2)  # down for a while, under load
            assert _cluster("start").returncode == 0
            assert wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200, 30)
            stop.set()
            for loader in loaders:
                loader.join(timeout=10)

            from serasi_web.lodgings.models import Lodging

            assert client.get("/dashboard").status_code == 200, email  # the session survived the restart
            after = report_many(client, db.session.get(Lodging, lodging_id), 10, start=100)
            assert wait_for(lambda: receiver.stats()["received"] == len(before) + len(after), 60), receiver.stats()["received"]
            assert worker.poll() is None  # the worker rode out the restart
            assert receiver.stats()["repeats"] == 0
            assert set(statuses) <= {200, 503} and statuses[503] > 0 and statuses[200] > 0, dict(statuses)
    finally:
        stop.set()
        receiver.stop()
        processes.stop_all()
        with application.app_context():  # close the pool even when an assertion failed
            db.session.remove()
            db.engine.dispose()
