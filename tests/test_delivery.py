"""Delivery of stay events: every configured forwarder gets each event once, in order per stay,
with retries and backoff, and people see and steer what happened."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from serasi_web.database import utcnow
from serasi_web.delivery.dispatcher import (Outcome, backoff_seconds, claim_due, deliver_everything, dispatch_new_events,
                                            record, run_once)
from serasi_web.delivery.forwarders import DeliveryFailed, DeliveryResult, is_retryable_status
from serasi_web.delivery.models import Delivery, DeliveryStatus, OutboxEvent
from serasi_web.extensions import db
from serasi_web.hookspecs import hookimpl
from serasi_web.jobs import get_huey

from .helpers import guest_form, local_now, make_lodging, report_guest


class RecordingForwarder:
    """A forwarder that keeps what it receives and fails as told."""

    def __init__(self, name="recorder", configured=True):
        self.name = name
        self._configured = configured
        self.received = []
        self.failures = []  # exceptions to raise, one per call, before succeeding

    def configured(self, app):
        return self._configured

    def deliver(self, event):
        if self.failures:
            raise self.failures.pop(0)
        self.received.append((event["stay"]["id"], event["event"], event["stay"]["version"], event["idempotency_key"]))
        return DeliveryResult(200)


class ForwardersPlugin:
    def __init__(self, *forwarders):
        self.forwarders = forwarders

    @hookimpl
    def serasi_register_forwarders(self, register):
        for forwarder in self.forwarders:
            register(forwarder)


RECORDER = "recorder"


@pytest.fixture
def recorder():
    return RecordingForwarder()


@pytest.fixture
def idle():
    return RecordingForwarder("idle", configured=False)


@pytest.fixture
def app_config(app_config, recorder, idle):
    return {**app_config, "EXTRA_PLUGINS": [ForwardersPlugin(recorder, idle)], "DELIVERY_RETRY_BASE_SECONDS": 30.0,
            "DELIVERY_MAX_ATTEMPTS": 3}


def deliveries():
    return db.session.execute(select(Delivery).order_by(Delivery.id)).scalars().all()


def make_due_now():
    db.session.execute(update(Delivery).where(Delivery.status == DeliveryStatus.PENDING).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_every_report_event_reaches_each_configured_forwarder_once_in_order(operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()})
    deliver_everything()
    assert [(event, version) for _, event, version, _ in recorder.received] == [("reported", 1), ("corrected", 2), ("checked_out", 3)]
    assert recorder.received[1][3] == f"stay-{stay_id}-v2-corrected"
    assert {(d.forwarder, d.status, d.attempts) for d in deliveries()} == {(RECORDER, "delivered", 1)}  # the unconfigured one is skipped
    deliver_everything()
    assert len(recorder.received) == 3  # nothing twice


def test_timeouts_and_server_errors_back_off_and_then_the_delivery_is_dead(operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    report_guest(operator_client, lodging)
    recorder.failures = [TimeoutError("read timed out"), DeliveryFailed("HTTP 503", status_code=503), DeliveryFailed("HTTP 429", status_code=429)]
    run_once()
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "TimeoutError" in delivery.last_error
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=10)  # 30 s base, jitter 50-150 %
    assert run_once() == 0  # not due yet
    make_due_now()
    run_once()
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 503)
    make_due_now()
    run_once()
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 3, 429)
    assert recorder.received == []


def test_a_refusal_fails_at_once_and_waits_for_a_person_without_holding_back_later_events(operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    recorder.failures = [DeliveryFailed("HTTP 422: invalid", status_code=422)]
    deliver_everything()
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    deliver_everything()
    assert [(d.status, d.attempts, d.last_status_code) for d in deliveries()] == [("failed", 1, 422), ("delivered", 1, 200)]
    assert [event for _, event, _, _ in recorder.received] == ["corrected"]


def test_a_stays_later_event_waits_while_an_earlier_one_is_retrying(operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    other_id = report_guest(operator_client, lodging, document_number="X7777777", surname="Other")
    recorder.failures = [ConnectionError("refused")]  # the first stay's v1 fails once
    deliver_everything()
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    deliver_everything()
    assert [(sid, event) for sid, event, _, _ in recorder.received] == [(other_id, "reported")]  # v2 waits for v1
    make_due_now()
    deliver_everything()
    assert [(sid, event) for sid, event, _, _ in recorder.received] == [(other_id, "reported"), (stay_id, "reported"), (stay_id, "corrected")]


def test_a_delivery_claimed_by_a_worker_that_died_is_taken_again_after_its_lease(app, operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    report_guest(operator_client, lodging)
    dispatch_new_events()
    token, ids = claim_due(10, lease_seconds=60)  # a worker claims it ... and is killed
    assert len(ids) == 1 and claim_due(10, 60)[1] == []  # nobody else takes it meanwhile
    db.session.execute(update(Delivery).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    deliver_everything()
    assert len(recorder.received) == 1 and deliveries()[0].attempts == 2
    record([Outcome(ids[0], token, False, error="late answer from the dead worker")])  # its stale outcome is ignored
    assert deliveries()[0].status == "delivered"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    samples = [backoff_seconds(attempt, 10, 3600) for attempt in (1, 2, 3, 4)]
    assert 5 <= samples[0] <= 15 and 10 <= samples[1] <= 30 and 20 <= samples[2] <= 60 and 40 <= samples[3] <= 120
    assert backoff_seconds(30, 10, 3600) <= 5400
    assert [is_retryable_status(code) for code in (408, 429, 500, 503, 400, 401, 404, 409, 422)] == [True] * 4 + [False] * 5


def a_failed_and_a_dead_delivery(operator_client, operator, recorder) -> tuple[int, int]:
    """Two reports: the first refused by the forwarder (failed), the second given up (dead); their stay ids."""
    lodging = make_lodging(operator)
    first = report_guest(operator_client, lodging)
    second = report_guest(operator_client, lodging, document_number="X7777777", surname="Other")
    recorder.failures = [DeliveryFailed("HTTP 400", status_code=400), DeliveryFailed("HTTP 500", status_code=500)]
    run_once()
    db.session.execute(update(Delivery).where(Delivery.stay_id == second).values(status="dead"))
    db.session.commit()
    return first, second


def test_admin_filters_deliveries_retries_one_and_requeues_the_dead(admin_client, operator_client, operator, offices, recorder):
    first, second = a_failed_and_a_dead_delivery(operator_client, operator, recorder)
    page = admin_client.get("/admin/deliveries/?status=failed").get_data(as_text=True)
    assert f"<td>{first}</td>" in page and f"<td>{second}</td>" not in page and "HTTP 400" in page
    # Running the instance shows no guest data: no link to a report the admin may not open.
    assert 'href="/officer/stays/' not in page and admin_client.get(f"/officer/stays/{first}").status_code == 404
    assert f"<td>{second}</td>" in admin_client.get("/admin/deliveries/?status=dead&forwarder=recorder").get_data(as_text=True)
    for odd in ("²", "9" * 30, "1%00"):  # not ids: the filter is left out, never a 500
        assert admin_client.get(f"/admin/deliveries/?stay={odd}&forwarder=rec%00order").status_code == 200
    assert "<td>" not in admin_client.get("/admin/deliveries/?event=voided").get_data(as_text=True)
    failed = next(d for d in deliveries() if d.stay_id == first)
    english = {"Accept-Language": "en"}
    page = admin_client.post(f"/admin/deliveries/{failed.id}/retry", headers=english, follow_redirects=True).get_data(as_text=True)
    assert f"Delivery {failed.id} is queued again." in page
    page = admin_client.post("/admin/deliveries/requeue-dead?forwarder=recorder", headers=english, follow_redirects=True).get_data(as_text=True)
    assert "1 dead deliveries are queued again." in page
    assert {(d.stay_id, d.status, d.attempts) for d in deliveries()} == {(first, "pending", 1), (second, "pending", 0)}
    assert get_huey(admin_client.application).pending_count() == 2  # a delivery turn asked for after each
    deliver_everything()
    assert {d.status for d in deliveries()} == {"delivered"} and len(recorder.received) == 2
    delivered = deliveries()[0]
    before = (delivered.status, delivered.attempts, delivered.updated_at)
    page = admin_client.post(f"/admin/deliveries/{delivered.id}/retry", headers=english, follow_redirects=True).get_data(as_text=True)
    assert "queued again" not in page and "being sent" not in page
    db.session.refresh(delivered)
    assert (delivered.status, delivered.attempts, delivered.updated_at) == before  # a delivered one is left as it is
    deliver_everything()
    assert len(recorder.received) == 2


def test_retry_now_leaves_a_delivery_that_a_worker_is_sending_to_that_worker(admin_client, operator_client, operator, offices, recorder):
    report_guest(operator_client, make_lodging(operator))
    recorder.failures = [ConnectionError("refused")]
    run_once()  # failed once: pending, waiting for its backoff
    make_due_now()
    token, (delivery_id,) = claim_due(10, lease_seconds=60)  # a worker claims it and calls the forwarder ...
    page = admin_client.post(f"/admin/deliveries/{delivery_id}/retry", headers={"Accept-Language": "en"},
                             follow_redirects=True).get_data(as_text=True)
    assert f"Delivery {delivery_id} is being sent right now; look again in a moment." in page
    (delivery,) = deliveries()
    assert (delivery.status, delivery.attempts, delivery.claim_token) == ("pending", 2, token)  # still the worker's
    recorder.deliver(db.session.get(OutboxEvent, delivery.outbox_event_id).payload)
    record([Outcome(delivery_id, token, True, status_code=200)])  # ... and records the answer
    deliver_everything()
    assert [d.status for d in deliveries()] == ["delivered"] and len(recorder.received) == 1


def test_retry_now_and_requeue_dead_deliver_at_once_without_waiting_for_the_sweep(app, admin_client, operator_client, operator,
                                                                                   offices, recorder):
    first, second = a_failed_and_a_dead_delivery(operator_client, operator, recorder)
    failed = next(d for d in deliveries() if d.stay_id == first)
    huey = get_huey(app)
    huey.immediate = True  # enqueued tasks run at once, as a worker running only huey's consumer would
    try:
        admin_client.post(f"/admin/deliveries/{failed.id}/retry")
        assert [sid for sid, _, _, _ in recorder.received] == [first]
        admin_client.post("/admin/deliveries/requeue-dead")
        assert [sid for sid, _, _, _ in recorder.received] == [first, second]
    finally:
        huey.immediate = False
    assert {d.status for d in deliveries()} == {"delivered"}


def test_a_retry_is_kept_when_the_job_queue_cannot_be_reached(app, admin_client, operator_client, operator, offices, recorder,
                                                              monkeypatch, caplog):
    report_guest(operator_client, make_lodging(operator))
    recorder.failures = [DeliveryFailed("HTTP 400", status_code=400)]
    run_once()
    huey = get_huey(app)

    def queue_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(huey, "enqueue", queue_down)
    (delivery,) = deliveries()
    assert admin_client.post(f"/admin/deliveries/{delivery.id}/retry").status_code == 303
    assert "could not enqueue serasi.deliver_now" in caplog.text
    db.session.refresh(delivery)
    assert delivery.status == "pending"
    deliver_everything()  # what the sweep does
    assert len(recorder.received) == 1


def test_the_delivery_page_loads_its_events_with_the_page_not_one_query_per_row(app, admin_client, operator_client, operator,
                                                                              offices):
    from .helpers import recorded_statements, selects

    lodging = make_lodging(operator)

    def selects_of_the_page():
        with recorded_statements() as statements:
            assert admin_client.get("/admin/deliveries/").status_code == 200
        return len(selects(statements))

    report_guest(operator_client, lodging)
    dispatch_new_events()
    with_one = selects_of_the_page()
    for number in range(9):
        report_guest(operator_client, lodging, document_number=f"X{number}777777", surname="Other" + "abcdefghi"[number])
    dispatch_new_events()
    assert len(deliveries()) == 10
    assert selects_of_the_page() == with_one


def test_only_admins_see_the_delivery_page(operator_client, admin_client):
    assert operator_client.get("/admin/deliveries/").status_code == 404
    assert admin_client.get("/admin/deliveries/").status_code == 200
    assert "/admin/deliveries/" in admin_client.get("/admin/").get_data(as_text=True)


def test_the_operator_sees_the_forwarding_status_on_the_stay(operator_client, operator, offices, recorder):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    assert 'class="delivery-status"' in operator_client.get(f"/stays/{stay_id}").get_data(as_text=True)
    recorder.failures = [DeliveryFailed("HTTP 503", status_code=503)]
    run_once()
    page = operator_client.get(f"/stays/{stay_id}").get_data(as_text=True)
    assert "recorder (Laporan diterima · versi 1)" in page and "delivery-pending" in page
    make_due_now()
    deliver_everything()
    assert "delivery-delivered" in operator_client.get(f"/stays/{stay_id}").get_data(as_text=True)


def test_events_delivered_everywhere_are_forgotten_after_the_keeping_period_and_no_other(app, operator_client, operator, offices, recorder):
    from serasi_web.delivery.models import OutboxEvent
    from serasi_web.jobs import get_huey
    from serasi_web.stays.models import Stay, StayVersion

    lodging = make_lodging(operator)
    refused = report_guest(operator_client, lodging)
    recorder.failures = [DeliveryFailed("HTTP 422: invalid", status_code=422)]
    deliver_everything()  # refused for good: waits for a person
    delivered = report_guest(operator_client, lodging, document_number="X7777777", surname="Other")
    recent = report_guest(operator_client, lodging, document_number="X8888888", surname="Recent")
    deliver_everything()
    long_ago = utcnow() - timedelta(days=91)
    for stay_id in (refused, delivered):
        db.session.execute(update(OutboxEvent).where(OutboxEvent.stay_id == stay_id).values(created_at=long_ago))
        db.session.execute(update(Delivery).where(Delivery.stay_id == stay_id, Delivery.status == "delivered").values(delivered_at=long_ago))
    db.session.commit()

    app.config["OUTBOX_KEEP_DAYS"] = 0  # kept for ever
    assert get_huey(app).serasi_tasks["outbox_retention"].call_local() == 0
    app.config["OUTBOX_KEEP_DAYS"] = 90
    assert get_huey(app).serasi_tasks["outbox_retention"].call_local() == 1
    db.session.expire_all()
    assert set(db.session.execute(select(OutboxEvent.stay_id)).scalars()) == {refused, recent}
    assert {d.stay_id: d.status for d in deliveries()} == {refused: "failed", recent: "delivered"}
    # The report and its history stay.
    assert db.session.get(Stay, delivered).status == "reported"
    assert db.session.execute(select(StayVersion).where(StayVersion.stay_id == delivered)).scalars().all()


def test_events_written_while_no_forwarder_loads_wait_and_are_delivered_once_one_appears(
        admin_client, operator_client, operator, offices, recorder, idle):
    """A forwarder plugin that failed to load (or none set up yet) must not swallow events: they
    stay undispatched, the admin sees them waiting, and each forwarder gets each one once."""
    recorder._configured = False
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    assert run_once() == 0 and deliver_everything() is None
    event = db.session.execute(select(OutboxEvent)).scalar_one()
    assert event.dispatched_at is None and deliveries() == []
    page = admin_client.get("/admin/deliveries/").get_data(as_text=True)
    assert 'id="no-forwarder"' in page

    recorder._configured = idle._configured = True  # the plugin loads again
    deliver_everything()
    deliver_everything()
    db.session.refresh(event)
    assert event.dispatched_at is not None
    assert sorted((d.forwarder, d.status) for d in deliveries()) == [("idle", "delivered"), (RECORDER, "delivered")]
    assert [(sid, name) for sid, name, _, _ in recorder.received] == [(stay_id, "reported")]
    assert recorder.received[0][3] == event.payload["idempotency_key"]
    assert 'id="no-forwarder"' not in admin_client.get("/admin/deliveries/").get_data(as_text=True)


class DatabaseBlip:
    """The database goes away for the app while a forwarder is being called, the way a restart
    looks to it: on SQLite another process holds the write lock past the app's busy timeout; on
    PostgreSQL the app's connection is terminated while it waits for a lock."""

    def __init__(self, url: str):
        self.url = url
        self.thread = None

    def start(self):
        if self.url.startswith("sqlite"):
            import sqlite3

            self.holder = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
            self.holder.execute("BEGIN EXCLUSIVE")
            return
        import threading

        import psycopg

        self.holder = psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"))
        self.holder.execute("LOCK TABLE delivery IN ACCESS EXCLUSIVE MODE")
        self.thread = threading.Thread(target=self._terminate_the_waiting_connection)
        self.thread.start()

    def _terminate_the_waiting_connection(self):
        import time

        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # poll the server's own view until the app waits on the lock
                pids = watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    " AND pid <> %s", (self.holder.info.backend_pid,)).fetchall()
                if pids:
                    for (pid,) in pids:
                        watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    break
                time.sleep(0.01)
        self.holder.rollback()

    def end(self):
        if self.thread is not None:
            self.thread.join()
        else:
            self.holder.execute("ROLLBACK")
        self.holder.close()


def test_an_outcome_the_database_could_not_record_is_recorded_on_the_next_turn_not_sent_after_the_lease(
        another_app, app_config, operator_client, operator, offices, recorder):
    """After a blip the delivery is settled on the loop's next turn (seconds later), from the
    outcome kept in memory: the receiver got it once, and nothing waits for the 120 s lease."""
    from sqlalchemy.exc import OperationalError

    from serasi_web.delivery.dispatcher import DeliveryTurns

    lodging = make_lodging(operator)
    report_guest(operator_client, lodging)
    worker = another_app(SQLITE_BUSY_TIMEOUT_MS=100)  # the worker gives up on a locked SQLite quickly
    blip = DatabaseBlip(app_config["SQLALCHEMY_DATABASE_URI"])
    deliver = recorder.deliver

    def deliver_then_lose_the_database(event):
        result = deliver(event)
        if len(recorder.received) == 1:
            blip.start()
        return result

    recorder.deliver = deliver_then_lose_the_database
    turns = DeliveryTurns()
    with worker.app_context():
        with pytest.raises(OperationalError):
            turns.turn()
    blip.end()
    assert len(turns.unrecorded) == 1 and recorder.received and deliveries()[0].status == "pending"
    with worker.app_context():
        assert turns.turn() == 1  # the kept outcome, recorded
        assert turns.unrecorded == []
    db.session.expire_all()
    delivery = deliveries()[0]
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.claim_token is None
    deliver_everything()
    assert len(recorder.received) == 1
