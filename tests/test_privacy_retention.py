"""The retention policy and its daily job (docs/privacy.md): with reports aged by a test clock,
the job pseudonymises and deletes exactly what the policy says, keeps what is under a legal hold,
and does nothing the second time."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, update

from plugins.company_mess.models import RosterSync
from plugins.spreadsheet_import.models import ImportJob
from serasi_web.accounts.models import LoginFailure, UserSession
from serasi_web.audit.models import AuditEvent
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.jobs import get_huey
from serasi_web.notifications.models import NotificationSent
from serasi_web.privacy.models import LegalHold, RetentionRun
from serasi_web.privacy.retention import DEFAULT_DAYS, policy, run_retention, set_period
from serasi_web.stays.models import Stay, StayVersion

from .helpers import MENGWI, guest_form, local_now, login, make_lodging, report_guest

FIVE_YEARS = timedelta(days=DEFAULT_DAYS["stays"])


def later(days: float):
    """The test clock: ``days`` from now."""
    return utcnow() + timedelta(days=days)


@pytest.fixture
def lodging(app, operator, offices):
    lodging = make_lodging(operator, name="Villa Jimbaran")
    lodging.status = "verified"
    db.session.commit()
    return lodging


def stay(stay_id: int) -> Stay:
    db.session.expire_all()
    return db.session.get(Stay, stay_id)


def nationality_counts() -> dict:
    return dict(db.session.execute(select(Stay.nationality, func.count()).group_by(Stay.nationality)).all())


def test_stays_past_retention_lose_the_identity_and_keep_the_statistics(app, operator_client, lodging, operator):
    checked_out = report_guest(operator_client, lodging)
    tanaka_values = dict(surname="Tanaka", given_names="Yuki", nationality="JPN", issuing_state="JPN", document_number="TK1234567",
                         date_of_birth="1990-06-30", permit_number="ITK-778899", notes="Room upgrade for Ms Tanaka")
    corrected = report_guest(operator_client, lodging, **tanaka_values)
    assert operator_client.post(f"/stays/{checked_out}/check-out", data={"checked_out_at": local_now()}).status_code == 303
    form = guest_form(**tanaka_values, room="12")
    form.pop("action")
    assert operator_client.post(f"/stays/{corrected}/correct", data=form | {"reason": "moved to room 12"}).status_code == 303
    receipt = stay(corrected).receipt_number
    before = nationality_counts()
    set_period("audit_events", 10 * 365)  # kept longer than the stays: their entries must lose the values

    assert run_retention(now=later(FIVE_YEARS.days - 1))["stays_pseudonymised"] == 0  # a day early: nothing
    assert stay(corrected).surname == "Tanaka"

    counts = run_retention(now=later(FIVE_YEARS.days + 1))
    assert counts["stays_pseudonymised"] == 2
    tanaka = stay(corrected)
    assert (tanaka.surname, tanaka.given_names, tanaka.name_folded, tanaka.document_number, tanaka.permit_number, tanaka.notes) \
        == ("", "", "", "", "", "")
    assert tanaka.date_of_birth == date(1990, 1, 1)  # the birth year stays, for ages in the statistics
    assert tanaka.pseudonymised_at is not None
    assert (tanaka.nationality, tanaka.issuing_state, tanaka.sex, tanaka.room, tanaka.status, tanaka.receipt_number) \
        == ("JPN", "JPN", "F", "12", "reported", receipt)
    assert nationality_counts() == before
    versions = db.session.execute(select(StayVersion).where(StayVersion.stay_id == corrected)).scalars().all()
    assert len(versions) == 2 and all(v.snapshot == {} and v.changes == {} and v.reason == "" for v in versions)
    stay_events = db.session.execute(select(AuditEvent).where(AuditEvent.object_type == "Stay", AuditEvent.object_id == corrected,
                                                              AuditEvent.action.like("stay.%"))).scalars().all()
    assert stay_events and all(event.changes == {} for event in stay_events)
    # Found by nobody any more: the name and the document search come back empty.
    assert db.session.scalar(select(func.count()).where(Stay.name_folded.like("%tanaka%"))) == 0

    again = run_retention(now=later(FIVE_YEARS.days + 2))
    assert again["stays_pseudonymised"] == 0 and again["drafts_deleted"] == 0


def test_a_draft_never_submitted_is_deleted_with_its_versions(app, operator_client, lodging):
    draft = report_guest(operator_client, lodging, action="draft")
    reported = report_guest(operator_client, lodging, document_number="X7654321")
    counts = run_retention(now=later(FIVE_YEARS.days + 1))
    assert counts["drafts_deleted"] == 1 and counts["stays_pseudonymised"] == 1
    assert stay(draft) is None and stay(reported) is not None
    assert db.session.scalar(select(func.count()).select_from(StayVersion).where(StayVersion.stay_id == draft)) == 0


def test_a_guest_still_in_the_house_by_the_planned_check_out_is_kept(app, operator_client, lodging):
    resident = report_guest(operator_client, lodging, planned_check_out=(date.today() + timedelta(days=FIVE_YEARS.days + 30)).isoformat(),
                            stay_permit="itas")
    assert run_retention(now=later(FIVE_YEARS.days + 1))["stays_pseudonymised"] == 0
    assert stay(resident).surname == "Eriksson"
    assert run_retention(now=later(2 * FIVE_YEARS.days + 60))["stays_pseudonymised"] == 1


def test_a_legal_hold_keeps_the_stay_and_every_stay_of_its_document_until_released(app, operator_client, lodging, operator, officer):
    other_lodging = make_lodging(operator, MENGWI, name="Kos Mengwi")
    other_lodging.status = "verified"
    db.session.commit()
    held = report_guest(operator_client, lodging)
    assert operator_client.post(f"/stays/{held}/check-out", data={"checked_out_at": local_now()}).status_code == 303
    same_document_elsewhere = report_guest(operator_client, other_lodging)  # another office's area
    someone_else = report_guest(operator_client, lodging, surname="Tanaka", document_number="TK1234567", issuing_state="JPN", nationality="JPN")

    officer_client = app.test_client()
    login(officer_client, officer.email)
    page = officer_client.post(f"/officer/stays/{held}/hold", data={"reason": ""}, headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Say why the reports must be kept." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 0
    assert officer_client.post(f"/officer/stays/{held}/hold", data={"reason": "Case 12/2026"}).status_code == 303
    hold = db.session.execute(select(LegalHold)).scalar_one()
    assert hold.reason == "Case 12/2026" and hold.set_by_id == officer.id and hold.released_at is None
    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.action == "stay.legal_hold_set")).scalar_one()
    assert "Case 12/2026" in officer_client.get(f"/officer/stays/{held}").get_data(as_text=True)
    # Set twice: refused with a message, still one hold.
    assert officer_client.post(f"/officer/stays/{held}/hold", data={"reason": "again"}, follow_redirects=True).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 1

    counts = run_retention(now=later(FIVE_YEARS.days + 1))
    assert counts["stays_pseudonymised"] == 1
    assert stay(held).surname == "Eriksson" and stay(same_document_elsewhere).surname == "Eriksson"
    assert stay(someone_else).surname == ""

    login(officer_client, officer.email)  # five years on, the session is gone too
    assert officer_client.post(f"/officer/stays/{held}/hold/release").status_code == 303
    assert db.session.execute(select(LegalHold)).scalar_one().released_by_id == officer.id
    assert run_retention(now=later(FIVE_YEARS.days + 2))["stays_pseudonymised"] == 2
    assert stay(held).surname == "" and stay(same_document_elsewhere).surname == ""
    # Nothing left to keep: a hold on a pseudonymised report is refused, no row is written.
    login(officer_client, officer.email)
    officer_client.post(f"/officer/stays/{held}/hold", data={"reason": "too late"})
    assert db.session.scalar(select(func.count()).select_from(LegalHold).where(LegalHold.released_at.is_(None))) == 0


def test_only_officers_of_the_office_set_legal_holds(app, operator_client, lodging, admin, denpasar_officer):
    held = report_guest(operator_client, lodging)
    assert operator_client.post(f"/officer/stays/{held}/hold", data={"reason": "x"}).status_code in (403, 404)
    other_office = app.test_client()
    login(other_office, denpasar_officer.email)
    assert other_office.post(f"/officer/stays/{held}/hold", data={"reason": "x"}).status_code == 404
    admin_client = app.test_client()
    login(admin_client, admin.email)
    assert admin_client.post(f"/officer/stays/{held}/hold", data={"reason": "x"}).status_code in (403, 404)
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 0


def test_a_report_corrected_while_the_job_runs_is_left_alone(app, operator_client, lodging, operator):
    """A purge running while reports come in: the write repeats the selection, so a stay that
    changed after it was read keeps its data (and is looked at again in five years)."""
    racing = report_guest(operator_client, lodging)
    quiet = report_guest(operator_client, lodging, document_number="X7654321")
    moment = later(FIVE_YEARS.days + 1)
    engine = db.engine
    fired = []

    def correct_meanwhile(connection, cursor, statement, parameters, context, executemany):
        if not fired and statement.lstrip().upper().startswith("UPDATE STAY SET"):
            fired.append(True)
            with engine.connect() as other:  # another request, in its own transaction
                other.execute(update(Stay.__table__).where(Stay.__table__.c.id == racing).values(room="99", updated_at=moment))
                other.commit()

    event.listen(engine, "before_cursor_execute", correct_meanwhile)
    try:
        assert run_retention(now=moment)["stays_pseudonymised"] == 1
    finally:
        event.remove(engine, "before_cursor_execute", correct_meanwhile)
    assert fired
    assert stay(racing).surname == "Eriksson" and stay(racing).room == "99"
    assert stay(quiet).surname == ""
    versions = db.session.execute(select(StayVersion.snapshot).where(StayVersion.stay_id == racing)).scalars().all()
    assert all(snapshot for snapshot in versions)


def test_batches_walk_every_stay_once(app, operator_client, lodging):
    ids = [report_guest(operator_client, lodging, document_number=f"B{n:07d}") for n in range(5)]
    draft_ids = [report_guest(operator_client, lodging, document_number=f"D{n:07d}", action="draft") for n in range(3)]
    counts = run_retention(now=later(FIVE_YEARS.days + 1), batch_size=2)
    assert counts["stays_pseudonymised"] == 5 and counts["drafts_deleted"] == 3
    assert all(stay(stay_id).surname == "" for stay_id in ids)
    assert all(stay(stay_id) is None for stay_id in draft_ids)


def test_the_other_kinds_go_after_their_periods(app, operator, operator_client, lodging):
    from serasi_web.capture.models import CapturePhoto

    old, recent = utcnow() - timedelta(days=400), utcnow() - timedelta(days=1)
    for at in (old, recent):
        db.session.add(LoginFailure(email="x@example.com", remote_addr="192.0.2.1", created_at=at))
        db.session.add(UserSession(key_hash=f"{at.timestamp():064.0f}"[:64], user_id=operator.id, created_at=at, last_seen_at=at))
        db.session.add(ImportJob(lodging_id=lodging.id, filename="guests.csv", file_format="csv", status="done", created_at=at,
                                 errors=[{"row": 2, "column": "surname", "message": "Eriksson?"}]))
        db.session.add(RosterSync(lodging_id=lodging.id, received_from="api:HR", status="confirmed", created_at=at,
                                  problems=[{"external_id": "E1", "field": "surname", "message": "Eriksson?"}]))
        db.session.add(CapturePhoto(lodging_id=lodging.id, form_token=f"token-{at.timestamp()}", content=b"jpeg", created_at=at))
        db.session.add(NotificationSent(user_id=operator.id, kind="draft_overdue", subject_key=f"stay-{at.timestamp()}", sent_at=at))
    db.session.add(ImportJob(lodging_id=lodging.id, filename="running.csv", file_format="csv", status="importing", created_at=old))
    db.session.add(AuditEvent(action="console.search", object_type="Console", object_id=0, at=utcnow() - FIVE_YEARS - timedelta(days=1),
                              changes={"name": "eriksson"}))
    db.session.commit()

    counts = run_retention()
    assert counts["login_failures_deleted"] == 1 and counts["sessions_deleted"] == 1
    # The plugins' own records go through their serasi_purge_expired, with the same period.
    assert counts["import_jobs_deleted"] == 1 and counts["roster_syncs_deleted"] == 1 and counts["capture_photos_deleted"] == 1
    assert counts["notices_deleted"] == 0  # kept as long as stays
    assert counts["audit_events_deleted"] == 1
    assert db.session.scalar(select(func.count()).select_from(ImportJob).where(ImportJob.status == "importing")) == 1
    assert db.session.scalars(select(RosterSync.created_at)).all() == [recent]
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.last_seen_at == recent)) == 1


def test_each_run_is_recorded_and_audited_with_what_it_did(app, operator_client, lodging):
    report_guest(operator_client, lodging)
    counts = run_retention(now=later(FIVE_YEARS.days + 1))
    run = db.session.execute(select(RetentionRun)).scalar_one()
    assert run.counts == counts and run.finished_at is not None
    # The job's own entry survives the audit purge of the same run (it is written after it).
    entry = db.session.execute(select(AuditEvent).where(AuditEvent.action == "retention.run")).scalar_one()
    assert entry.changes == counts and entry.object_id == run.id and entry.actor_label == "retention"


def test_the_policy_is_data_and_zero_keeps_for_ever(app, operator_client, lodging):
    report_guest(operator_client, lodging)
    set_period("stays", 0, by="dpo@example.com")
    assert policy()["stays"] == 0
    changed = db.session.execute(select(AuditEvent).where(AuditEvent.action == "retention.policy_changed")).scalar_one()
    assert changed.changes == {"kind": "stays", "days": [DEFAULT_DAYS["stays"], 0]} and changed.actor_label == "dpo@example.com"
    counts = run_retention(now=later(3 * FIVE_YEARS.days))
    assert "stays_pseudonymised" not in counts
    assert stay(1).surname == "Eriksson"
    set_period("stays", 30)
    assert run_retention(now=later(31))["stays_pseudonymised"] == 1
    with pytest.raises(ValueError):
        set_period("stays", -1)
    with pytest.raises(ValueError):
        set_period("guests", 10)


def test_the_commands_show_set_and_run_the_policy(app, operator_client, lodging):
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["serasi", "retention", "show"])
    assert shown.exit_code == 0 and "stays" in shown.output and "1825" in shown.output
    assert runner.invoke(args=["serasi", "retention", "set", "sessions", "7"]).exit_code == 0
    assert policy()["sessions"] == 7
    refused = runner.invoke(args=["serasi", "retention", "set", "guests", "7"])
    assert refused.exit_code != 0 and "unknown kind" in refused.output
    ran = runner.invoke(args=["serasi", "retention", "run"])
    assert ran.exit_code == 0 and "stays_pseudonymised" in ran.output


def test_the_worker_runs_the_job_daily(app, operator_client, lodging):
    task = get_huey(app).serasi_tasks["retention"]
    assert task.call_local() == run_retention()  # nothing is old yet: the same empty counts
    assert db.session.scalar(select(func.count()).select_from(RetentionRun)) == 2


def test_recent_reports_are_never_touched(app, operator_client, lodging):
    """Nothing outside the policy is deleted: a run with the real clock changes no stay."""
    ids = [report_guest(operator_client, lodging), report_guest(operator_client, lodging, action="draft", document_number="X1234567")]
    before = db.session.execute(select(Stay.id, Stay.surname, Stay.document_number, Stay.updated_at).order_by(Stay.id)).all()
    counts = run_retention()
    assert counts["stays_pseudonymised"] == 0 and counts["drafts_deleted"] == 0
    assert db.session.execute(select(Stay.id, Stay.surname, Stay.document_number, Stay.updated_at).order_by(Stay.id)).all() == before
    assert [stay(stay_id).id for stay_id in ids] == ids


def test_nobody_edits_or_deletes_the_log_through_the_web(app, admin_client, officer_client, operator_client, lodging):
    """The log is append-only: its pages only read, and writing to them is refused (the
    retention job is the only thing that deletes entries, and it logs its own run). The one
    POST, the admin's filter, keeps the filter behind a search id (terms out of URLs) and
    leaves the entries as they were."""
    report_guest(operator_client, lodging)
    before = db.session.execute(select(AuditEvent.id, AuditEvent.changes).order_by(AuditEvent.id)).all()
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            allowed = {"GET", "HEAD", "OPTIONS"} | ({"POST"} if rule.endpoint == "admin.audit_log" else set())
            assert rule.methods <= allowed, rule.rule
    for client in (admin_client, officer_client):
        for method in ("put", "patch", "delete"):
            assert getattr(client, method)("/admin/audit", data={"id": "1"}).status_code in (404, 405)
    assert officer_client.post("/admin/audit", data={"id": "1"}).status_code == 404  # not an admin
    response = admin_client.post("/admin/audit", data={"id": "1", "action": "delete"})
    assert response.status_code == 303 and response.location.startswith("/admin/audit/s/")
    after = db.session.execute(select(AuditEvent.id, AuditEvent.changes).order_by(AuditEvent.id)).all()
    assert after[:len(before)] == before
