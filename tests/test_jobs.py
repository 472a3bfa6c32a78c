"""Background jobs: huey on SQLite by default, on Redis when configured; the worker command runs
the periodic jobs and delivers the outbox, and stops on Ctrl-C."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from bench.delivery_receiver import WebhookReceiver
from serasi_web import create_app, hookimpl
from serasi_web.extensions import db
from serasi_web.jobs import get_huey

from .conftest import BASE_CONFIG
from .helpers import make_lodging, report_guest

ROOT = Path(__file__).resolve().parent.parent
@pytest.fixture
def redis_db(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()  # our own test database (9) only
    yield client
    client.flushdb()
    client.close()


def test_create_app_starts_no_queue_and_the_default_is_sqlite_in_the_instance_folder(tmp_path):
    application = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path)})
    assert not (tmp_path / "huey.db").exists()  # no side effects until a job is used
    huey = get_huey(application)
    assert type(huey).__name__ == "SqliteHuey" and (tmp_path / "huey.db").exists()
    assert get_huey(application) is huey
    assert {"serasi.reminders", "serasi.officer_digest", "serasi.delivery_sweep"} <= {task.__name__ for task in huey._registry._periodic_tasks}


def test_a_redis_url_gives_redis_huey_and_shared_rate_limits(tmp_path, redis_db, redis_url):
    application = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": redis_url})
    assert type(get_huey(application)).__name__ == "RedisHuey" and not (tmp_path / "huey.db").exists()
    assert application.config["RATELIMIT_STORAGE_URI"] == redis_url
    with application.app_context():
        from serasi_web.rate_limits import allow

        assert allow("2 per minute", "test", "x")[0] and allow("2 per minute", "test", "x")[0]
    other = create_app({**BASE_CONFIG, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": redis_url})
    with other.app_context():
        from serasi_web.rate_limits import allow

        assert not allow("2 per minute", "test", "x")[0]  # the count is shared through Redis


def test_huey_tasks_run_in_an_app_context(app, operator_client, operator, offices):
    from .test_delivery import RecordingForwarder

    huey = get_huey(app)
    assert huey.serasi_tasks["send_reminders"].call_local() == 0  # no SMTP configured: nothing to send
    recorder = RecordingForwarder()
    app.extensions["serasi.registry"].forwarders.append(recorder)
    report_guest(operator_client, make_lodging(operator))
    huey.immediate = True  # run enqueued tasks at once, in memory
    try:
        huey.serasi_tasks["deliver_now"]()
    finally:
        huey.immediate = False
    assert [event for _, event, _, _ in recorder.received] == ["reported"]


class CountingTaskPlugin:
    """A plugin with a background job (``serasi_register_tasks``) that counts the lodgings."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def serasi_register_tasks(self, register):
        def count_lodgings(label):
            from sqlalchemy import func, select

            from serasi_web.extensions import db
            from serasi_web.lodgings.models import Lodging

            self.seen.append((label, db.session.scalar(select(func.count()).select_from(Lodging))))  # needs the app context
        register("test.count_lodgings", count_lodgings)


def test_a_plugins_task_is_queued_and_run_by_the_worker_in_an_app_context(app_config, operator, offices, another_app):
    plugin = CountingTaskPlugin()
    application = another_app(EXTRA_PLUGINS=[plugin])
    with application.app_context():
        make_lodging(db.session.merge(operator))
        huey = get_huey(application)
        huey.serasi_tasks["test.count_lodgings"]("queued")
        assert huey.pending_count() == 1 and plugin.seen == []  # queued, not run by the request
        task = huey.dequeue()
        huey.execute(task)  # what a worker thread does
    assert plugin.seen == [("queued", 1)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_worker_command_delivers_reports_and_stops_on_ctrl_c(app, database_url, operator_client, operator, offices, tmp_path):
    receiver = WebhookReceiver("s3cret").start()
    env = {**os.environ, "FLASK_APP": "wsgi", "SERASI_DATABASE_URL": database_url, "SERASI_SECRET_KEY": BASE_CONFIG["SECRET_KEY"],
           "SERASI_WEBHOOK_URL": receiver.url, "SERASI_WEBHOOK_SECRET": "s3cret", "SERASI_HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
           "SERASI_DELIVERY_POLL_SECONDS": "0.1", "SERASI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("SERASI_REDIS_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "serasi", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        stay_id = report_guest(operator_client, make_lodging(operator))
        deadline = time.monotonic() + 30
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.stats()["order"] == [(stay_id, 1)]
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=30)[0].decode()
        assert worker.returncode == 0, output
        assert "SERASI worker: huey on sqlite" in output
    finally:
        if worker.poll() is None:
            worker.kill()
        receiver.stop()
