"""Reminders and notices by e-mail, read back from a real SMTP server (aiosmtpd); each kind can be
turned off per user, and each notice goes out once even when the job runs twice."""
from datetime import date, timedelta

import pytest

from serasi_web.extensions import db
from serasi_web.jobs import get_huey
from serasi_web.lodgings.services import decide
from serasi_web.database import utcnow
from serasi_web.notifications.services import owner_digests, send_due_notices, send_officer_digests, send_owner_digests, set_preference

from .helpers import local_now, make_lodging, report_guest
from .test_forwarders import smtp_server  # noqa: F401  (the aiosmtpd fixture)


@pytest.fixture
def mail_app(another_app, smtp_server):  # noqa: F811
    return another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PUBLIC_URL="https://serasi.example")


def mails(smtp_server):  # noqa: F811
    return [(recipients[0], message["Subject"], message.get_content()) for recipients, message in smtp_server.messages]


def test_operator_is_reminded_of_an_old_draft_once(app, mail_app, smtp_server, operator_client, operator, offices):  # noqa: F811
    operator.locale = "en"
    lodging = make_lodging(operator)
    old_draft = report_guest(operator_client, lodging, action="draft", check_in_at=local_now(delta_hours=-13), surname="Lupa")
    report_guest(operator_client, lodging, action="draft", check_in_at=local_now(delta_hours=-2), document_number="N2222222", surname="Baru")
    with mail_app.app_context():
        assert send_due_notices() == 1  # only the draft whose 24-hour deadline nears has its own notice
        assert send_due_notices() == 0  # the job runs again (or in a second worker): nothing twice
        from serasi_web.notifications.services import overdue_drafts

        assert overdue_drafts(utcnow()) == []  # sent ones are not even looked at again
    ((to, subject, body),) = mails(smtp_server)
    assert to == "operator@example.com" and subject == "Reminder: a report is still a draft" and "Lupa" not in subject
    assert "Lupa" in body
    assert f"https://serasi.example/stays/{old_draft}" in body and "https://serasi.example/notifications/settings" in body


def test_an_owner_gets_one_daily_digest_over_all_stays_and_lodgings(app, mail_app, smtp_server, operator_client, operator,  # noqa: F811
                                                                     other_operator, offices):
    operator.locale = "en"
    kos, villa = make_lodging(operator, name="Kos Melati"), make_lodging(operator, name="Villa Kenanga")
    gone = []
    for number, (lodging, surname) in enumerate([(kos, "Tinggal"), (kos, "Lama"), (villa, "Pergi")]):
        gone.append(report_guest(operator_client, lodging, document_number=f"S333333{number}", surname=surname,
                                 check_in_at=local_now(delta_hours=-30), planned_check_out=(date.today() + timedelta(days=3)).isoformat()))
    still_here = report_guest(operator_client, villa, document_number="S4444444", surname="Masih",
                              planned_check_out=(date.today() + timedelta(days=3)).isoformat())
    draft = report_guest(operator_client, villa, action="draft", check_in_at=local_now(delta_hours=-2), document_number="N2222222", surname="Baru")
    from serasi_web.stays.models import Stay

    for stay_id in gone:
        db.session.get(Stay, stay_id).planned_check_out = date.today() - timedelta(days=2)  # the guests should have left
    db.session.commit()
    with mail_app.app_context():
        assert send_due_notices() == 0  # a passed check-out has no notice of its own any more
        assert send_owner_digests() == 1  # one owner with something to do: one e-mail (other_operator has nothing)
        assert send_owner_digests() == 0  # the job runs twice a day (or in two workers): still one digest
    ((to, subject, body),) = mails(smtp_server)
    assert to == operator.email and subject == "SERASI daily summary: 4 guest reports need a step from you"
    assert not any(word in subject for word in ("Tinggal", "Lama", "Pergi", "Baru", "S333", "N222"))  # counts only
    for stay_id in gone + [draft]:
        assert f"https://serasi.example/stays/{stay_id}" in body
    assert f"/stays/{still_here}" not in body
    assert "Planned check-out passed, no check-out reported (3):" in body and "Reports still in draft (1):" in body
    assert "Kos Melati" in body and "Villa Kenanga" in body and "https://serasi.example/notifications/settings" in body


def test_the_owner_digest_is_in_the_owners_language_and_can_be_turned_off(app, mail_app, smtp_server, operator_client, operator,  # noqa: F811
                                                                          other_operator, offices):
    from .helpers import login

    other_client = operator_client.application.test_client()
    login(other_client, other_operator.email)
    operator.locale, other_operator.locale = "id", "en"
    db.session.commit()
    report_guest(operator_client, make_lodging(operator), action="draft", check_in_at=local_now(delta_hours=-30))
    report_guest(other_client, make_lodging(other_operator), action="draft", check_in_at=local_now(delta_hours=-30))
    with mail_app.app_context():
        assert send_owner_digests() == 2
    subjects = {to: subject for to, subject, _ in mails(smtp_server)}
    assert subjects[operator.email] == "Ringkasan harian SERASI: 1 laporan tamu perlu tindakan Anda"
    assert subjects[other_operator.email] == "SERASI daily summary: 1 guest report needs a step from you"
    bodies = {to: body for to, _, body in mails(smtp_server)}
    assert "(lewat)" in bodies[operator.email] and "(passed)" in bodies[other_operator.email]

    set_preference(operator, "owner_digest", False)
    db.session.commit()
    tomorrow, other_email = utcnow() + timedelta(days=1), other_operator.email  # read here: this session's objects
    with mail_app.app_context():
        assert [digest.owner.email for digest in owner_digests(tomorrow)] == [other_email]
        assert send_owner_digests(tomorrow) == 1  # a new day, a new digest, only for the owner who wants it


def test_the_owner_digest_runs_as_a_periodic_job(app, mail_app, smtp_server, operator_client, operator, offices):  # noqa: F811
    report_guest(operator_client, make_lodging(operator), action="draft", check_in_at=local_now(delta_hours=-1))
    with mail_app.app_context():
        huey = get_huey(mail_app)
        assert "serasi.owner_digest" in {task.__name__ for task in huey._registry._periodic_tasks}
        assert huey.serasi_tasks["send_owner_digests"].call_local() == 1
    assert len(smtp_server.messages) == 1


def test_reminders_an_owner_will_not_get_are_not_even_looked_at(app, mail_app, smtp_server, operator_client, operator, offices):  # noqa: F811
    lodging = make_lodging(operator)
    report_guest(operator_client, lodging, action="draft", check_in_at=local_now(delta_hours=-13), surname="Lupa")
    set_preference(operator, "draft_overdue", False)
    db.session.commit()
    with mail_app.app_context():
        from serasi_web.notifications.services import overdue_drafts

        assert send_due_notices() == 0 and overdue_drafts(utcnow()) == []  # turned off: not loaded every 5 minutes
    set_preference(operator, "draft_overdue", True)
    operator.enabled = False
    db.session.commit()
    with mail_app.app_context():
        assert overdue_drafts(utcnow()) == []  # a disabled account gets nothing either
    operator.enabled = True
    db.session.commit()
    with mail_app.app_context():
        assert [stay.surname for stay in overdue_drafts(utcnow())] == ["Lupa"]
        assert send_due_notices() == 1
    assert len(mails(smtp_server)) == 1

def test_lodging_decisions_are_mailed_to_the_owner_unless_turned_off(app, mail_app, smtp_server, operator, other_operator, officer, offices):  # noqa: F811
    verified = make_lodging(operator, name="Villa Kenanga")
    rejected = make_lodging(other_operator, name="Kos Mawar")
    decide(verified, officer, True)
    decide(rejected, officer, False, "Alamat tidak lengkap")
    set_preference(other_operator, "lodging_decision", False)
    operator.locale = "en"
    db.session.commit()
    with mail_app.app_context():
        assert send_due_notices() == 1
    ((to, subject, body),) = mails(smtp_server)
    assert to == "operator@example.com" and "Villa Kenanga" in subject and "verified" in body


def test_officer_gets_a_daily_digest_and_can_turn_it_off(app, mail_app, smtp_server, operator_client, operator, officer, denpasar_officer, offices):  # noqa: F811
    report_guest(operator_client, make_lodging(operator))
    set_preference(denpasar_officer, "officer_digest", False)
    db.session.commit()
    with mail_app.app_context():
        assert send_officer_digests() == 1
        assert send_officer_digests() == 0  # once a day
    ((to, subject, body),) = mails(smtp_server)
    assert to == officer.email and "1" in subject and "https://serasi.example/officer/inbox" in body


def test_the_periodic_job_sends_the_reminders_through_huey(app, mail_app, smtp_server, operator_client, operator, offices):  # noqa: F811
    report_guest(operator_client, make_lodging(operator), action="draft", check_in_at=local_now(delta_hours=-13))
    with mail_app.app_context():
        assert get_huey(mail_app).serasi_tasks["send_reminders"].call_local() == 1
    assert len(smtp_server.messages) == 1


def test_a_user_turns_notices_off_and_on_in_the_settings(operator_client, operator, officer_client):
    page = operator_client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="draft_overdue" checked' in page and "officer_digest" not in page
    response = operator_client.post("/notifications/settings", data={"owner_digest": "on", "lodging_decision": "on"})
    assert response.status_code == 303
    page = operator_client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="draft_overdue">' in page and 'name="owner_digest" checked' in page
    assert 'name="officer_digest" checked' in officer_client.get("/notifications/settings").get_data(as_text=True)


def test_a_failed_mail_is_tried_again_on_the_next_run(app, another_app, operator_client, operator, offices):
    from .test_forwarders import free_port

    down = another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT_SECONDS=1.0)
    report_guest(operator_client, make_lodging(operator), action="draft", check_in_at=local_now(delta_hours=-13))
    with down.app_context():
        assert send_due_notices() == 0
    from sqlalchemy import func, select

    from serasi_web.notifications.models import NotificationSent

    assert db.session.scalar(select(func.count()).select_from(NotificationSent)) == 0


def test_reminders_are_written_in_the_recipients_language(app, mail_app, smtp_server, operator_client, operator, other_operator, offices):  # noqa: F811
    other_client = operator_client.application.test_client()
    from .helpers import login

    login(other_client, other_operator.email)
    operator.locale, other_operator.locale = "id", "en"
    db.session.commit()
    report_guest(operator_client, make_lodging(operator), action="draft", check_in_at=local_now(delta_hours=-13))
    report_guest(other_client, make_lodging(other_operator), action="draft", check_in_at=local_now(delta_hours=-13))
    with mail_app.app_context():
        assert send_due_notices() == 2
    bodies = {to: body for to, _, body in mails(smtp_server)}
    assert "Batas waktu:" in bodies[operator.email] and "Deadline:" in bodies[other_operator.email]
