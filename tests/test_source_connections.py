"""Connected systems: an operator connects a lodging to a stay source on its page, the
credentials are stored encrypted and never shown again, and the worker pulls on the schedule,
backs off when the source fails, mails the operator at the third failure in a row, and stops
when the source says retrying will not help."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text, update

from serasi_web import hookimpl
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.integrations import sources
from serasi_web.integrations.models import SourceConnection, SourceRun
from serasi_web.plugin_types import SourceError, SourceField
from serasi_web.stays.models import Stay
from serasi_web.stays.sync import ExternalStay
from serasi_web.testing import report_values

from .fake_pms import BEDS24_PROPERTY_ID as PROPERTY_ID
from .fake_pms import REFRESH_TOKEN, booking, identity, today
from .helpers import login
from .test_forwarders import smtp_server  # noqa: F401  (the aiosmtpd fixture)

SECRET = "s3cret-api-key-4711"
EN = {"Accept-Language": "en"}


class FrontDeskSource:
    """A property system reached with an API key: the stays it holds come from the app setting
    FRONT_DESK_STAYS; property "down" is unreachable (retry), a wrong key is refused (no retry).
    It has no place for the entry date, so its stays wait as drafts."""

    name = "front_desk"
    label = _l("Front desk")
    fields = (SourceField("property_id", _l("Property id")),
              SourceField("api_key", _l("API key"), secret=True))
    cannot_supply = ("stay_permit",)

    def pull(self, lodging, settings):
        if settings.get("api_key") != SECRET:
            raise SourceError(_l("The export file cannot be read."), retry=False)
        if settings.get("property_id") == "down":
            raise SourceError(_l("The export file cannot be read."))
        if settings.get("property_id") == "keeps":  # counts its pulls in what it keeps between them
            kept = sources.kept_between_pulls()
            kept["pulls"] = kept.get("pulls", 0) + 1
            if during := current_app.config.get("FRONT_DESK_DURING_PULL"):
                during()
        if delay := current_app.config.get("FRONT_DESK_DELAY", {}).get(settings.get("property_id")):
            import time

            time.sleep(delay)  # a slow system
        return [ExternalStay(external_id, values) for external_id, values in current_app.config.get("FRONT_DESK_STAYS", [])]


class FrontDeskPlugin:
    @hookimpl
    def serasi_register_stay_sources(self, register):
        register(FrontDeskSource())


@pytest.fixture
def app_config(app_config):
    return {**app_config, "EXTRA_PLUGINS": [FrontDeskPlugin()]}


def _connect(client, lodging, **values):
    data = {"source": "front_desk", "setting_property_id": "P-1", "setting_api_key": SECRET,
            "interval_minutes": "60", "enabled": "y", **values}
    return client.post(f"/lodgings/{lodging.id}/connections/new", data=data)


def _connection() -> SourceConnection:
    db.session.expire_all()
    return db.session.execute(select(SourceConnection)).scalar_one()


def test_operator_connects_a_system_and_the_secret_is_stored_encrypted_never_shown(app, operator_client, lodging):
    page = operator_client.get(f"/lodgings/{lodging.id}").get_data(as_text=True)
    assert f'href="/lodgings/{lodging.id}/connections/"' in page and "Sistem terhubung" in page
    form = operator_client.get(f"/lodgings/{lodging.id}/connections/new?source=front_desk").get_data(as_text=True)
    assert 'type="password"' in form and "Izin tinggal" in form  # what it cannot supply is said
    response = _connect(operator_client, lodging)
    assert response.status_code == 303
    connection = _connection()
    raw = db.session.execute(text("SELECT secrets_encrypted, settings FROM source_connection")).one()
    assert SECRET not in str(raw) and "P-1" in str(raw)
    assert sources.decrypt_secrets(connection.secrets_encrypted) == {"api_key": SECRET}
    edit = operator_client.get(f"/lodgings/{lodging.id}/connections/{connection.id}/edit").get_data(as_text=True)
    assert SECRET not in edit and 'value="P-1"' in edit and "kosongkan" in edit.lower()
    # Saving with the secret left empty keeps it.
    saved = operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/edit",
                                 data={"source": "front_desk", "setting_property_id": "P-2", "setting_api_key": "",
                                       "interval_minutes": "15", "enabled": "y"})
    assert saved.status_code == 303
    connection = _connection()
    assert connection.settings == {"property_id": "P-2"} and connection.interval_minutes == 15
    assert sources.decrypt_secrets(connection.secrets_encrypted) == {"api_key": SECRET}


def test_bad_input_comes_back_at_the_field_with_the_values_kept(app, operator_client, lodging):
    page = operator_client.post(f"/lodgings/{lodging.id}/connections/new", data={"source": "", "interval_minutes": "60"})
    assert page.status_code == 200 and "Pilih sistem yang akan dihubungkan." in page.get_data(as_text=True)
    page = _connect(operator_client, lodging, setting_property_id="", setting_api_key="typed-key")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Isi Property id." in body or "Property id" in body
    assert 'aria-invalid="true"' in body and "typed-key" not in body  # a password is never sent back
    english = operator_client.post(f"/lodgings/{lodging.id}/connections/new", data={"source": "", "interval_minutes": "60"},
                                   headers=EN).get_data(as_text=True)
    assert "Choose the system to connect." in english
    assert db.session.execute(select(SourceConnection)).first() is None


def test_the_worker_pulls_due_connections_and_a_second_run_changes_nothing(app, operator_client, lodging):
    app.config["FRONT_DESK_STAYS"] = [("R-1", report_values(document_number="PQ1111111")),
                                      ("R-2", report_values(document_number="PQ2222222", stay_permit="")),
                                      ("R-4", report_values(document_number="PQ4444444", entry_date="")),
                                      ("R-3", report_values(document_number="PQ3333333", nationality="ZZZ"))]
    _connect(operator_client, lodging)
    assert sources.run_due() == 1
    stays = {stay.external_id: stay for stay in db.session.execute(select(Stay)).scalars()}
    assert stays["R-1"].status == "reported" and stays["R-2"].status == "draft" and "R-3" not in stays
    assert stays["R-4"].status == "draft" and stays["R-4"].entry_date is None  # a date it has no place for waits too
    run = db.session.execute(select(SourceRun)).scalar_one()
    assert (run.created_count, run.draft_count, run.refused_count, run.failure) == (1, 2, 1, None)
    connection = _connection()
    assert connection.last_status == "ok" and connection.next_run_at > utcnow() + timedelta(minutes=59)
    assert sources.run_due() == 0  # not due again for an hour
    db.session.execute(update(SourceConnection).values(next_run_at=utcnow()))
    db.session.commit()
    assert sources.run_due() == 1
    second = db.session.execute(select(SourceRun).order_by(SourceRun.id.desc())).scalars().first()
    assert (second.created_count, second.unchanged_count, second.draft_count) == (0, 1, 2)
    assert db.session.execute(select(Stay)).scalars().all().__len__() == 3
    history = operator_client.get(f"/lodgings/{lodging.id}/connections/{connection.id}/runs").get_data(as_text=True)
    assert history.count("<tr>") == 3
    # Each refused item is explained: its booking, the field by its label, the rule's message.
    assert "Pemesanan R-3 · Kewarganegaraan:" in history and "nationality" not in history
    listing = operator_client.get(f"/lodgings/{lodging.id}/connections/").get_data(as_text=True)
    assert "berfungsi" in listing


def test_pull_now_runs_in_the_worker(app, operator_client, lodging, huey_worker):
    app.config["FRONT_DESK_STAYS"] = [("R-1", report_values(document_number="PQ1111111"))]
    _connect(operator_client, lodging)  # saving queues the first pull
    connection = _connection()
    import time

    for _ in range(100):
        if db.session.execute(select(SourceRun)).first():
            break
        time.sleep(0.1)
        db.session.expire_all()
    assert db.session.execute(select(Stay.external_id)).scalars().all() == ["R-1"]
    response = operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/pull")
    assert response.status_code == 303
    for _ in range(100):
        if len(db.session.execute(select(SourceRun)).all()) == 2:
            break
        time.sleep(0.1)
        db.session.expire_all()
    assert len(db.session.execute(select(SourceRun)).all()) == 2


def _due_now():
    db.session.execute(update(SourceConnection).values(next_run_at=utcnow()))
    db.session.commit()


def test_a_failing_source_backs_off_and_the_operator_is_mailed_once_at_the_third_failure(app, operator_client, lodging, operator,
                                                                                     smtp_server):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    _connect(operator_client, lodging, setting_property_id="down")
    waits = []
    for _ in range(4):
        _due_now()
        before = utcnow()
        assert sources.run_due() == 1
        connection = _connection()
        waits.append(round((connection.next_run_at - before) / timedelta(minutes=1)))
    assert waits == [120, 240, 480, 960]  # 60 min * 2^failures
    assert connection.last_status == "failing" and connection.consecutive_failures == 4
    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == [operator.email] and message["Subject"] == "Sistem terhubung terus gagal"
    assert lodging.name in message.get_content() and SECRET not in message.get_content()
    for _ in range(3):
        _due_now()
        sources.run_due()
    assert _connection().next_run_at - utcnow() <= timedelta(hours=24)  # capped
    listing = operator_client.get(f"/lodgings/{lodging.id}/connections/").get_data(as_text=True)
    assert "gagal sejak" in listing
    # It works again: the failures are forgotten.
    operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/edit",
                         data={"source": "front_desk", "setting_property_id": "P-1", "interval_minutes": "60", "enabled": "y"})
    sources.run_due()
    connection = _connection()
    assert connection.last_status == "ok" and connection.consecutive_failures == 0 and connection.failure is None


def test_a_refusal_that_retrying_cannot_fix_stops_the_connection_until_the_settings_change(app, operator_client, lodging,
                                                                                           smtp_server):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    _connect(operator_client, lodging, setting_api_key="wrong-key")
    assert sources.run_due() == 1
    connection = _connection()
    assert connection.last_status == "stopped" and connection.next_run_at is None
    assert len(smtp_server.messages) == 1 and "dihentikan" in smtp_server.messages[0][1].get_content()
    assert sources.run_due() == 0
    paused = operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/pull", follow_redirects=True)
    assert "dijeda" in paused.get_data(as_text=True)
    operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/edit",
                         data={"source": "front_desk", "setting_property_id": "P-1", "setting_api_key": SECRET,
                               "interval_minutes": "60", "enabled": "y"})
    assert sources.run_due() == 1 and _connection().last_status == "ok"


def test_another_operator_and_an_admin_get_404(app, operator_client, lodging, other_operator, admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    stranger = app.test_client()
    login(stranger, other_operator.email)
    base = f"/lodgings/{lodging.id}/connections"
    for url in (f"{base}/", f"{base}/new", f"{base}/{connection.id}/edit", f"{base}/{connection.id}/runs"):
        assert stranger.get(url).status_code == 404
    for url in (f"{base}/{connection.id}/pull", f"{base}/{connection.id}/delete", f"{base}/new"):
        assert stranger.post(url, data={"source": "front_desk"}).status_code == 404
    assert admin_client.get(f"{base}/").status_code == 404
    assert operator_client.post(f"{base}/{connection.id}/delete").status_code == 303
    assert db.session.execute(select(SourceConnection)).first() is None


def test_the_command_line_runs_a_stored_connection_through_the_same_pull(app, operator_client, lodging):
    app.config["FRONT_DESK_STAYS"] = [("R-1", report_values(document_number="PQ1111111"))]
    _connect(operator_client, lodging)
    result = app.test_cli_runner().invoke(args=["serasi", "sources", "run", str(_connection().id)])
    assert result.exit_code == 0 and "created: 1" in result.output
    assert json.loads(json.dumps(_connection().settings)) == {"property_id": "P-1"}


def test_a_beds24_connection_made_in_the_pages_is_pulled_by_the_worker_from_its_fake_server(app, operator_client, lodging, beds24):
    """The issue's "done when" for a real adapter: configured through the pages, pulled on schedule
    by the worker's job from the documented API (a local server), stays marked with their source,
    refused bookings explained on the history page."""
    beds24.bookings = [booking(801), booking(802, lastName="Nobody", infoItems=identity(SERASI_NATIONALITY="ZZ"))]
    form = operator_client.get(f"/lodgings/{lodging.id}/connections/new?source=beds24").get_data(as_text=True)
    assert 'name="setting_refresh_token"' in form and 'type="password"' in form
    response = operator_client.post(f"/lodgings/{lodging.id}/connections/new", data={
        "source": "beds24", "setting_refresh_token": REFRESH_TOKEN, "setting_property_id": PROPERTY_ID,
        "setting_room_map": "", "interval_minutes": "15", "enabled": "y"})
    assert response.status_code == 303
    assert sources.run_due() == 1  # the periodic job's work
    stay = db.session.execute(select(Stay).where(Stay.external_id == "801")).scalar_one()
    assert stay.source == "beds24" and stay.status == "reported" and stay.surname == "Harper"
    shown = operator_client.get(f"/stays/{stay.id}", headers=EN).get_data(as_text=True)
    assert "Brought in by</dt><dd>Beds24 (API V2) · its id 801" in shown  # the stay says where it came from
    listed = operator_client.get("/dashboard").get_data(as_text=True)
    assert "· dari Beds24 (API V2)</small>" in listed  # the operator's list marks it too
    assert any(request.path == "/v2/bookings" and request.headers.get("token") for request in beds24.server.requests)
    connection = _connection()
    assert connection.last_status == "ok" and connection.next_run_at > utcnow() + timedelta(minutes=14)
    history = operator_client.get(f"/lodgings/{lodging.id}/connections/{connection.id}/runs").get_data(as_text=True)
    assert "Pemesanan 802" in history
    listing = operator_client.get(f"/lodgings/{lodging.id}/connections/").get_data(as_text=True)
    assert "Beds24" in listing and REFRESH_TOKEN not in listing


def _beds24_connection(client, lodging, interval: str = "15"):
    response = client.post(f"/lodgings/{lodging.id}/connections/new", data={
        "source": "beds24", "setting_refresh_token": REFRESH_TOKEN, "setting_property_id": PROPERTY_ID,
        "setting_room_map": "", "interval_minutes": interval, "enabled": "y"})
    assert response.status_code == 303
    return _connection()


def _token_calls(beds24) -> int:
    return len([r for r in beds24.server.requests if r.path == "/v2/authentication/token"])


def test_beds24_keeps_its_token_between_pulls_encrypted_until_near_expiry(app, operator_client, lodging, beds24):
    """A pull every 15 minutes asks Beds24 for a token once a day, not every time: the token
    (valid 24 h) is kept encrypted with the connection's secrets, never in its settings; one
    an hour from expiry is replaced; saving the settings drops it; one Beds24 refuses is
    replaced once before the credentials are called refused."""
    from plugins.beds24 import TOKEN_MARGIN

    beds24.bookings = [booking(901)]
    connection = _beds24_connection(operator_client, lodging)
    for _ in range(3):
        _due_now()
        assert sources.run_due() == 1
    assert _token_calls(beds24) == 1 and len([r for r in beds24.server.requests if r.path == "/v2/bookings"]) == 3
    connection = _connection()
    raw = db.session.execute(text("SELECT secrets_encrypted, settings FROM source_connection")).one()
    assert "token-" not in str(raw) and connection.settings == {"property_id": PROPERTY_ID, "room_map": ""}
    assert sources.decrypt_secrets(connection.secrets_encrypted) == {"refresh_token": REFRESH_TOKEN}  # what the form sees
    assert _connection().last_status == "ok"

    # Near its expiry: a new one.
    kept = sources._decrypt_all(connection.secrets_encrypted)
    kept[sources.KEPT_KEY]["expires_at"] = (utcnow() + TOKEN_MARGIN - timedelta(minutes=1)).isoformat()
    connection.secrets_encrypted = sources.encrypt_secrets(kept)
    db.session.commit()
    _due_now()
    sources.run_due()
    assert _token_calls(beds24) == 2

    # Beds24 forgot the kept token (revoked, say): one new token, the pull works.
    import tests.fake_pms as fake

    fake_token = fake.TOKEN
    try:
        fake.TOKEN = "token-rotated-1"
        _due_now()
        sources.run_due()
        assert _token_calls(beds24) == 3 and _connection().last_status == "ok"
    finally:
        fake.TOKEN = fake_token

    # Saving the settings (new credentials, perhaps) drops what was kept.
    operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/edit", data={
        "setting_property_id": PROPERTY_ID, "setting_refresh_token": "", "interval_minutes": "15", "enabled": "y"})
    assert sources.KEPT_KEY not in sources._decrypt_all(_connection().secrets_encrypted)
    sources.run_due()
    assert _token_calls(beds24) == 4


@pytest.mark.parametrize("case", ["server_error", "timeout", "revoked"])
def test_each_failure_of_a_real_system_is_said_on_the_connection_page(app, operator_client, lodging, beds24, case):
    """The issue's bad input, pulled on schedule: Beds24 answering 500 or too slowly is retried
    later (failing, with the reason); credentials revoked stop the connection until the operator
    saves new ones. Nothing reported before is lost or reported again."""
    import time as clock

    from werkzeug.wrappers import Response

    from .fake_pms import FakeApi, json_response

    beds24.bookings = [booking(951)]
    connection = _beds24_connection(operator_client, lodging)
    assert sources.run_due() == 1 and _connection().last_status == "ok"
    slow = None
    if case == "server_error":
        beds24.fail_with = Response("upstream down", status=500)
    elif case == "timeout":
        app.config["SOURCE_TIMEOUT_SECONDS"] = 0.3
        slow = FakeApi(lambda request: (clock.sleep(1.5), json_response({}))[1]).start()
        app.config["BEDS24_API_URL"] = slow.url + "/v2"
    else:
        beds24.fail_with = json_response({"success": False, "code": 401, "error": "Token is missing"}, 401)
    try:
        _due_now()
        assert sources.run_due() == 1
    finally:
        if slow is not None:
            slow.stop()
    connection = _connection()
    listing = operator_client.get(f"/lodgings/{lodging.id}/connections/", headers=EN).get_data(as_text=True)
    expected = {"server_error": ("failing", "Beds24 answered with an error (HTTP 500); the pull will be tried again later."),
                "timeout": ("failing", "Beds24 could not be reached; the pull will be tried again later."),
                "revoked": ("stopped", "Beds24 refused the credentials; check them in the connection&#39;s settings.")}[case]
    assert connection.last_status == expected[0] and expected[1] in listing
    assert (connection.next_run_at is None) == (case == "revoked")
    history = operator_client.get(f"/lodgings/{lodging.id}/connections/{connection.id}/runs", headers=EN).get_data(as_text=True)
    assert expected[1] in history and "upstream" not in history
    stays = db.session.execute(select(Stay)).scalars().all()
    assert [(stay.external_id, stay.status) for stay in stays] == [("951", "reported")]  # nothing lost, nothing twice


def test_the_periodic_job_queues_one_pull_per_connection_so_a_slow_one_holds_up_no_other(app, operator_client, lodging,
                                                                                        other_operator, huey_worker):
    """Two due connections: the job claims both and queues a task each; the slow system's pull
    runs beside the other's, which finishes first. A claimed connection is not queued again by
    the next minute's job, and a task whose claim was taken over runs nothing."""
    import time

    from .helpers import make_lodging

    app.config["FRONT_DESK_STAYS"] = [("R-1", report_values(document_number="PQ1111111"))]
    app.config["FRONT_DESK_DELAY"] = {"slow": 3.0}
    other = make_lodging(other_operator, name="Losmen Lambat")
    for owner_lodging, property_id in ((lodging, "slow"), (other, "P-2")):
        db.session.add(SourceConnection(lodging_id=owner_lodging.id, source="front_desk", settings={"property_id": property_id},
                                        secrets_encrypted=sources.encrypt_secrets({"api_key": SECRET}),
                                        interval_minutes=60, enabled=True, next_run_at=utcnow()))
    db.session.commit()
    assert sources.enqueue_due() == 2
    assert sources.enqueue_due() == 0  # both claimed: not queued twice
    finished = {}
    for _ in range(100):
        db.session.expire_all()
        for run in db.session.execute(select(SourceRun)).scalars():
            finished.setdefault(run.connection_id, run.finished_at)
        if len(finished) == 2:
            break
        time.sleep(0.1)
    slow, fast = (db.session.execute(select(SourceConnection.id).where(SourceConnection.lodging_id == lid)).scalar_one()
                  for lid in (lodging.id, other.id))
    assert finished[fast] < finished[slow]  # the fast one did not wait for the slow one
    assert finished[slow] - finished[fast] > timedelta(seconds=1)
    assert not sources.run_claimed(fast, utcnow().isoformat())  # not its claim: nothing runs
    assert len(db.session.execute(select(SourceRun)).all()) == 2


def test_what_a_source_keeps_comes_back_at_the_next_pull_but_not_over_settings_saved_meanwhile(app, operator_client, lodging):
    _connect(operator_client, lodging, setting_property_id="keeps")
    for expected in (1, 2):
        _due_now()
        sources.run_due()
        assert sources._decrypt_all(_connection().secrets_encrypted)[sources.KEPT_KEY] == {"pulls": expected}

    def operator_saves_a_new_key():  # in another transaction, while the pull runs
        with db.engine.begin() as other:
            other.execute(update(SourceConnection).values(secrets_encrypted=sources.encrypt_secrets({"api_key": "new-key-77"})))

    app.config["FRONT_DESK_DURING_PULL"] = operator_saves_a_new_key
    _due_now()
    sources.run_due()
    assert sources._decrypt_all(_connection().secrets_encrypted) == {"api_key": "new-key-77"}  # kept for the old key: dropped


def _due_now() -> None:
    db.session.execute(update(SourceConnection).values(next_run_at=utcnow()))
    db.session.commit()


def _latest_run() -> SourceRun:
    db.session.expire_all()
    return db.session.execute(select(SourceRun).order_by(SourceRun.id.desc())).scalars().first()


def _completed_by_the_operator(stay: Stay, **overrides) -> dict:
    """The draft's edit form as the operator sends it: what Beds24 brought, and the passport typed in."""
    from serasi_web.stays import services

    from .helpers import guest_form

    check_in = services.to_local(stay.check_in_at, stay.lodging)
    typed = dict(surname=stay.surname, given_names=stay.given_names, room=stay.room, sex="F", date_of_birth="1991-05-06",
                 nationality="NZL", document_number="LN4455667", issuing_state="NZL", stay_permit="bvk",
                 entry_date=(check_in.date() - timedelta(days=1)).isoformat(), check_in_at=check_in.strftime("%Y-%m-%dT%H:%M"),
                 planned_check_out=stay.planned_check_out.isoformat())
    return guest_form(**(typed | overrides))


def test_a_beds24_booking_without_a_passport_waits_as_a_draft_the_operator_completes_and_submits(app, operator_client, lodging, beds24):  # noqa: F811
    """Beds24 has no place for the passport: its booking becomes a draft with the dates empty (not
    refused), the run says so and names what Beds24 cannot supply, later pulls leave the draft
    alone; the operator completes it in the draft's form and submits it (a receipt); the pulls
    after that keep the operator's passport and still bring Beds24's own changes (the check-out).
    A booking with a wrong value is still refused with its message."""
    beds24.bookings = [booking(901, lastName="Nopass", infoItems=[]),  # the guest answered no questions
                       booking(902, lastName="Nobody", infoItems=identity(SERASI_NATIONALITY="ZZ")),
                       booking(903)]
    connection = _beds24_connection(operator_client, lodging)
    assert sources.run_due() == 1
    run = _latest_run()
    assert (run.created_count, run.draft_count, run.refused_count, run.failure) == (1, 1, 1, None)
    draft = db.session.execute(select(Stay).where(Stay.external_id == "901")).scalar_one()
    assert (draft.status, draft.surname, draft.source) == ("draft", "Nopass", "beds24")
    assert (draft.date_of_birth, draft.document_expiry, draft.entry_date, draft.document_number, draft.nationality) == (None, None, None, "", "")
    assert [problem["external_id"] for problem in run.problems] == ["902"]

    history = operator_client.get(f"/lodgings/{lodging.id}/connections/{connection.id}/runs", headers=EN).get_data(as_text=True)
    assert "Booking 902 · Nationality:" in history  # the wrong value, at its field, with the rule's message
    assert "Drafts wait for what Beds24 (API V2) has no place for:" in history
    assert "Date of birth" in history and "Date of entry" in history and "Document number" in history

    _due_now()
    assert sources.run_due() == 1
    second = _latest_run()
    assert (second.created_count, second.updated_count, second.draft_count, second.refused_count) == (0, 0, 1, 1)
    assert second.unchanged_count == 1
    db.session.expire_all()
    assert db.session.execute(select(Stay).where(Stay.external_id == "901")).scalars().all() == [draft]
    assert (draft.status, draft.version, draft.date_of_birth) == ("draft", 1, None)  # left alone

    # The operator finds it among their drafts, opens it, completes it and submits it.
    dashboard = operator_client.get("/dashboard").get_data(as_text=True)
    assert f"/stays/{draft.id}" in dashboard
    shown = operator_client.get(f"/stays/{draft.id}")
    assert shown.status_code == 200 and "Nopass".upper() in shown.get_data(as_text=True).upper()
    assert "Masih perlu diisi sebelum dikirim: Jenis kelamin, Tanggal lahir, Kewarganegaraan" in shown.get_data(as_text=True)
    form = operator_client.get(f"/stays/{draft.id}/edit")
    assert form.status_code == 200 and 'id="date_of_birth"' in form.get_data(as_text=True)
    incomplete = operator_client.post(f"/stays/{draft.id}/edit", data=_completed_by_the_operator(draft, date_of_birth="", entry_date=""))
    assert incomplete.status_code == 200 and "Nopass" in incomplete.get_data(as_text=True)  # back with the values, said at the fields
    assert "Masukkan tanggal lahir." in incomplete.get_data(as_text=True)
    response = operator_client.post(f"/stays/{draft.id}/edit", data=_completed_by_the_operator(draft))
    assert response.status_code == 303 and response.location.endswith(f"/stays/{draft.id}")
    db.session.expire_all()
    assert draft.status == "reported" and draft.receipt_number and draft.document_number == "LN4455667"
    receipt = operator_client.get(f"/stays/{draft.id}/receipt")
    assert receipt.status_code == 200 and draft.receipt_number in receipt.get_data(as_text=True)
    version = draft.version

    # The next pull: Beds24 still has no passport; the operator's stays, nothing is refused for it.
    _due_now()
    assert sources.run_due() == 1
    third = _latest_run()
    assert (third.draft_count, third.refused_count, third.unchanged_count, third.updated_count) == (0, 1, 2, 0)
    db.session.expire_all()
    assert (draft.status, draft.version, draft.document_number, str(draft.date_of_birth)) == ("reported", version, "LN4455667", "1991-05-06")
    # Beds24's own change still comes through: the guest left yesterday.
    beds24.bookings[0]["departure"] = (today() - timedelta(days=1)).isoformat()
    _due_now()
    assert sources.run_due() == 1
    db.session.expire_all()
    assert draft.status == "checked_out" and draft.document_number == "LN4455667"


def test_a_cancelled_booking_voids_its_draft_still_waiting_for_dates_and_a_report_still_needs_them(app, operator_client, lodging, beds24):  # noqa: F811
    """Nobody supplies the passport of a guest who never came: the draft is voided with its gaps
    (migration 0027); a report without them is still refused by the database."""
    from sqlalchemy.exc import IntegrityError

    beds24.bookings = [booking(911, lastName="Nopass", infoItems=[])]
    _beds24_connection(operator_client, lodging)
    assert sources.run_due() == 1
    draft = db.session.execute(select(Stay).where(Stay.external_id == "911")).scalar_one()
    assert (draft.status, draft.date_of_birth, draft.entry_date) == ("draft", None, None)
    beds24.bookings[0]["status"] = "cancelled"
    _due_now()
    assert sources.run_due() == 1
    run = _latest_run()
    assert (run.voided_count, run.refused_count, run.failure) == (1, 0, None)
    db.session.expire_all()
    assert (draft.status, draft.date_of_birth, draft.document_expiry, draft.entry_date) == ("voided", None, None, None)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Stay).where(Stay.id == draft.id).values(status="reported"))
        db.session.flush()
    db.session.rollback()


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_the_operator_completes_a_pulled_draft_in_the_browser(app, operator, lodging, beds24, javascript):  # noqa: F811
    """From the dashboard's drafts to the receipt, with JavaScript on and off: the draft Beds24
    brought without a passport opens on its page (the empty dates shown empty), "Submit" there
    first says what is missing, the form takes the passport and the report is submitted."""
    import re

    from playwright.sync_api import expect

    from serasi_web.plugins import registry

    from .browser import chromium, fill_guest, live_server, log_in

    beds24.bookings = [booking(951, lastName="Nopass", infoItems=[])]
    counts = sources.pull_into(lodging, registry().stay_source("beds24"), {"refresh_token": REFRESH_TOKEN, "property_id": PROPERTY_ID})
    assert counts.drafts == 1
    draft = db.session.execute(select(Stay).where(Stay.external_id == "951")).scalar_one()
    with live_server(app) as base_url, chromium() as browser:
        context = browser.new_context(java_script_enabled=javascript, locale="id")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base_url, operator.email)
        page.click(f"main a[href$='/stays/{draft.id}']")  # among the drafts on the dashboard
        page.wait_for_url(re.compile(rf"/stays/{draft.id}$"))
        page.click("main form button:has-text('Kirim laporan')")  # submitting as it is: told what is missing
        page.wait_for_url(re.compile(rf"/stays/{draft.id}/edit$"))
        expect(page.locator("body")).to_contain_text("Masukkan tanggal lahir.")
        assert page.input_value("#date_of_birth") == "" and page.input_value("#surname").upper() == "NOPASS"
        fill_guest(page, "Nopass", "Olivia", "LN9519519", nationality="NZL", javascript=javascript)
        page.select_option("#purpose", "tourism")
        page.click("button[value=submit]")
        page.wait_for_url(re.compile(rf"/stays/{draft.id}$"))
        expect(page.locator("main")).to_contain_text("LN9519519")
        context.close()
    db.session.expire_all()
    assert draft.status == "reported" and draft.receipt_number and draft.document_number == "LN9519519" and draft.stay_permit == "itk"
