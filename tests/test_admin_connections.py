"""The administrator's side of connected systems: every lodging's connections on one page,
their settings (the operator's form: secrets never shown, an empty one kept), pause, resume and
"pull now"; no run's refused bookings (they name guests). Creating, editing, pausing, resuming
and deleting a connection is in the audit log, in words, without the secrets."""
from __future__ import annotations

from sqlalchemy import select

from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.integrations import sources
from serasi_web.integrations.models import SourceConnection, SourceRun

from .helpers import login
from .test_source_connections import SECRET, _connect, _connection, app_config  # noqa: F401  (the front desk source)

EN = {"Accept-Language": "en"}


def test_admin_lists_every_connection_failing_first_without_run_problems(app, operator_client, lodging, admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    connection.last_status, connection.failing_since = "failing", utcnow()
    connection.failure = sources.failure(sources._l("The export file cannot be read."))
    db.session.add(SourceRun(connection_id=connection.id, refused_count=1,
                             problems=[{"external_id": "BOOKING-4711", "field": "surname", "message": "Tanaka Hiroshi"}]))
    db.session.commit()
    index = admin_client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/connections"' in index
    page = admin_client.get("/admin/connections")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert lodging.name in body and "operator@example.com" in body and "Front desk" in body and "gagal sejak" in body
    assert "BOOKING-4711" not in body and "Tanaka" not in body  # the refused bookings are the owner's alone
    assert f"/admin/connections/{connection.id}/edit" in body


def test_admin_edits_a_connection_the_secret_kept_when_empty_and_a_new_one_encrypted(app, operator_client, lodging,
                                                                                   admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    url = f"/admin/connections/{connection.id}/edit"
    form = admin_client.get(url).get_data(as_text=True)
    assert SECRET not in form and 'type="password"' in form and "P-1" in form
    data = {"setting_property_id": "P-2", "setting_api_key": "", "interval_minutes": "15", "enabled": "y"}
    assert admin_client.post(url, data=data).status_code == 303
    connection = _connection()
    assert connection.settings == {"property_id": "P-2"} and connection.interval_minutes == 15
    assert sources.decrypt_secrets(connection.secrets_encrypted) == {"api_key": SECRET}
    assert admin_client.post(url, data={**data, "setting_api_key": "a-new-key-0815"}).status_code == 303
    connection = _connection()
    assert "a-new-key-0815" not in connection.secrets_encrypted
    assert sources.decrypt_secrets(connection.secrets_encrypted) == {"api_key": "a-new-key-0815"}


def test_bad_input_on_the_admin_form_comes_back_at_the_field_with_the_values_kept(app, operator_client, lodging, admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    url = f"/admin/connections/{connection.id}/edit"
    page = admin_client.post(url, data={"setting_property_id": "", "setting_api_key": "typed-key", "interval_minutes": "15"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'aria-invalid="true"' in body and "typed-key" not in body
    assert admin_client.post(url, data={"setting_property_id": "x" * 600, "interval_minutes": "not a number"}).status_code == 200
    english = admin_client.post(url, data={"setting_property_id": "", "interval_minutes": "15"}, headers=EN).get_data(as_text=True)
    assert "Enter Property id." in english
    assert _connection().settings == {"property_id": "P-1"}


def test_admin_pauses_and_resumes_and_resuming_pulls_at_once(app, operator_client, lodging, admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    assert admin_client.post(f"/admin/connections/{connection.id}/pause").status_code == 303
    connection = _connection()
    assert connection.enabled is False and connection.next_run_at is None
    page = admin_client.get("/admin/connections").get_data(as_text=True)
    assert "dijeda" in page and f"/admin/connections/{connection.id}/resume" in page
    connection.last_status = "stopped"
    db.session.commit()
    before = utcnow()
    assert admin_client.post(f"/admin/connections/{connection.id}/resume").status_code == 303
    connection = _connection()
    assert connection.enabled is True and connection.next_run_at >= before.replace(microsecond=0)
    assert connection.last_status == "failing"  # resuming lifts the stop, like saving the settings
    assert admin_client.post(f"/admin/connections/{connection.id}/pull").status_code == 303
    assert admin_client.post("/admin/connections/999999/pause").status_code == 404


def test_operators_and_officers_get_404_on_the_admin_pages(app, operator_client, lodging, officer_client):
    _connect(operator_client, lodging)
    connection = _connection()
    for client in (operator_client, officer_client):
        assert client.get("/admin/connections").status_code == 404
        assert client.get(f"/admin/connections/{connection.id}/edit").status_code == 404
        for action in ("edit", "pause", "resume", "pull"):
            response = client.post(f"/admin/connections/{connection.id}/{action}",
                                   data={"setting_property_id": "intruder", "interval_minutes": "15"})
            assert response.status_code == 404
    connection = _connection()
    assert connection.enabled is True and connection.settings == {"property_id": "P-1"}


def test_connection_events_are_in_the_audit_log_in_words_without_secrets(app, operator_client, lodging, admin_client):
    _connect(operator_client, lodging)
    connection = _connection()
    operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/edit",
                         data={"setting_property_id": "P-9", "setting_api_key": "another-secret-42", "interval_minutes": "60",
                               "enabled": "y"})
    admin_client.post(f"/admin/connections/{connection.id}/pause")
    admin_client.post(f"/admin/connections/{connection.id}/resume")
    operator_client.post(f"/lodgings/{lodging.id}/connections/{connection.id}/delete")
    from serasi_web.audit.models import AuditEvent

    events = db.session.execute(select(AuditEvent).where(AuditEvent.action.like("connection.%"))
                                .order_by(AuditEvent.id)).scalars().all()
    assert [event.action for event in events] == ["connection.created", "connection.edited", "connection.paused",
                                                  "connection.resumed", "connection.deleted"]
    assert events[1].changes["fields"] == ["property_id", "api_key"]
    assert all(SECRET not in str(event.changes) and "another-secret-42" not in str(event.changes) for event in events)
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    for label in ("Sistem dihubungkan", "Pengaturan koneksi diubah", "Koneksi dijeda", "Koneksi dilanjutkan", "Koneksi dihapus",
                  "Sistem terhubung"):
        assert label in page
    assert "connection." not in page and "SourceConnection" not in page and "api_key" not in page
    assert "Diubah: ID properti, Kunci API" in page and "P-9" not in page  # the fields by their labels, not their values
    english = admin_client.get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "Connection settings changed" in english and "Connected system" in english
    assert "changed: property id, api key" in english.lower()


def test_a_stranger_gets_404_for_a_connection_that_is_not_there(app, admin_client, other_operator):
    stranger = app.test_client()
    login(stranger, other_operator.email)
    assert stranger.get("/admin/connections").status_code == 404
    assert admin_client.get("/admin/connections/424242/edit").status_code == 404
    assert db.session.execute(select(SourceConnection)).first() is None


def test_admin_connects_a_lodging_by_its_number_with_the_operators_form_audited(app, lodging, operator, admin_client,
                                                                               operator_client):
    """The issue: a source is configured "by the operator or admin". The admin chooses the lodging
    (by its number) and the system, then the same settings as the operator's form: the secret
    stored encrypted, the first pull queued, the event in the audit log with the admin as actor,
    and the operator sees the connection on their own page."""
    from serasi_web.audit.models import AuditEvent

    listing = admin_client.get("/admin/connections").get_data(as_text=True)
    assert 'href="/admin/connections/new"' in listing
    first = admin_client.get("/admin/connections/new").get_data(as_text=True)
    assert 'name="lodging"' in first and 'name="source"' in first and 'method="post" action="/admin/connections/new"' not in first
    form = admin_client.get(f"/admin/connections/new?lodging={lodging.id}&source=front_desk").get_data(as_text=True)
    assert lodging.name in form and operator.email in form and 'type="password"' in form and "Izin tinggal" in form
    assert f'name="lodging" value="{lodging.id}"' in form
    data = {"lodging": str(lodging.id), "source": "front_desk", "setting_property_id": "P-7", "setting_api_key": SECRET,
            "interval_minutes": "30", "enabled": "y"}
    response = admin_client.post("/admin/connections/new", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/connections")
    connection = _connection()
    assert (connection.lodging_id, connection.settings, connection.interval_minutes) == (lodging.id, {"property_id": "P-7"}, 30)
    assert SECRET not in connection.secrets_encrypted and sources.decrypt_secrets(connection.secrets_encrypted) == {"api_key": SECRET}
    assert connection.next_run_at is not None
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "connection.created")).scalar_one()
    assert event.actor_id != operator.id and event.lodging_id == lodging.id and SECRET not in str(event.changes)
    own = operator_client.get(f"/lodgings/{lodging.id}/connections/").get_data(as_text=True)
    assert "Front desk" in own
    # One connection per system and lodging: the system is no longer offered for this lodging.
    again = admin_client.get(f"/admin/connections/new?lodging={lodging.id}").get_data(as_text=True)
    assert 'value="front_desk"' not in again
    listing = admin_client.get("/admin/connections").get_data(as_text=True)
    assert f'/admin/connections/new?lodging={lodging.id}' in listing and f"#{lodging.id}" in listing


def test_admin_connection_bad_input_comes_back_at_the_field_and_nothing_is_saved(app, lodging, admin_client):
    data = {"source": "front_desk", "setting_property_id": "P-7", "setting_api_key": "typed-key", "interval_minutes": "30",
            "enabled": "y"}
    for lodging_value, message in (("", "Isi nomor penginapan."), ("999999", "Tidak ada penginapan dengan nomor ini."),
                                   ("12abc", "Tidak ada penginapan dengan nomor ini."), ("9" * 40, "Gunakan maksimal 12 karakter.")):
        page = admin_client.post("/admin/connections/new", data={**data, "lodging": lodging_value})
        body = page.get_data(as_text=True)
        assert page.status_code == 200 and message in body and 'aria-invalid="true"' in body, lodging_value
        assert "typed-key" not in body
    page = admin_client.post("/admin/connections/new", data={**data, "lodging": str(lodging.id), "setting_property_id": ""})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'aria-invalid="true"' in body and "typed-key" not in body
    english = admin_client.post("/admin/connections/new", data={**data, "lodging": "999999"}, headers=EN).get_data(as_text=True)
    assert "No lodging has this number." in english
    assert db.session.execute(select(SourceConnection)).first() is None


def test_only_admins_connect_lodgings_from_the_admin_side(app, lodging, operator_client, officer_client):
    data = {"lodging": str(lodging.id), "source": "front_desk", "setting_property_id": "P-7", "setting_api_key": SECRET,
            "interval_minutes": "30", "enabled": "y"}
    for client in (operator_client, officer_client):
        assert client.get("/admin/connections/new").status_code == 404
        assert client.post("/admin/connections/new", data=data).status_code == 404
    assert db.session.execute(select(SourceConnection)).first() is None
