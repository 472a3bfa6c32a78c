"""Guests check themselves in (issue #18): the lodging's poster, the guest's party form with the
report form's capture, the operator's review and one-tap approval through the report form's
rules, and each bad input the issue lists (a rotated or unknown poster code, a rejected lodging's
poster, 500 arrivals from one address, a 10 MB photo, two approvals from two tabs, a guest
already reported)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from serasi_web.arrivals import services
from serasi_web.arrivals.models import Arrival, ArrivalGuest
from serasi_web.audit.models import AuditEvent
from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .capture_samples import td3
from .helpers import guest_form, local_now, login
from .test_forwarders import smtp_server  # noqa: F401  (the aiosmtpd fixture)

ADULT = {"surname": "Smith", "given_names": "John Peter", "sex": "M", "date_of_birth": "1980-01-01", "place_of_birth": "Sydney",
             "nationality": "AUS", "document_number": "PA1234567", "issuing_state": "AUS"}
SPOUSE = {"surname": "Smith", "given_names": "Mary", "sex": "F", "date_of_birth": "1982-05-05", "place_of_birth": "Perth",
              "nationality": "AUS", "document_number": "PB7654321", "issuing_state": "AUS"}
CHILD = {"surname": "Smith", "given_names": "Tom", "sex": "M", "date_of_birth": (date.today() - timedelta(days=365 * 8)).isoformat(),
             "place_of_birth": "Perth", "nationality": "AUS", "document_number": "PC1111111", "issuing_state": "AUS"}


def guest_values(**overrides) -> dict:
    """What a guest types for one member of the party (the guest fields of the report form)."""
    data = {name: value for name, value in guest_form().items()
            if name not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    data.update(stay_permit="", action="save")
    data.update(overrides)
    return data


def switch_on(operator_client, lodging) -> str:
    assert operator_client.post(f"/lodgings/{lodging.id}/self-check-in", data={"action": "on"}).status_code == 303
    page = operator_client.get(f"/lodgings/{lodging.id}/self-check-in").get_data(as_text=True)
    return re.search(r"/c/([A-Z0-9]{10})", page).group(1)


def start(guest, code, **overrides):
    data = {"consent": "y", "check_in_at": local_now(delta_hours=-1), "planned_check_out": "", "purpose": "tourism", "email": ""}
    data.update(overrides)
    return guest.post(f"/c/{code}", data=data)


def start_party(guest, code) -> str:
    """Start an arrival; returns its status page's path (the capability)."""
    response = start(guest, code)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    return response.location.removesuffix("/guests/new")


def add(guest, status_path, **values):
    return guest.post(f"{status_path}/guests/new", data=guest_values(**values))


def adult_choice(guest, status_path, name="John Peter Smith") -> str:
    page = guest.get(f"{status_path}/guests/new").get_data(as_text=True)
    return re.search(r'<option value="(\d+)">' + re.escape(name), page).group(1)


def family_sent(guest, code) -> str:
    status_path = start_party(guest, code)
    assert add(guest, status_path, **ADULT).status_code == 303
    assert add(guest, status_path, **SPOUSE).status_code == 303
    adult = adult_choice(guest, status_path)
    assert add(guest, status_path, **CHILD, accompanying_stay_id=adult).status_code == 303
    assert guest.post(f"{status_path}/send").status_code == 303
    return status_path


def review_data(arrival: Arrival, **stay) -> dict:
    """The review form as the operator sends it: what the guests typed, the stay confirmed."""
    data = {"check_in_at": local_now(delta_hours=-1), "planned_check_out": "", "room": "12", "purpose": "tourism", "notes": ""}
    data.update(stay)
    for guest in arrival.guests:
        for name, value in guest.values.items():
            data[f"g{guest.position}-{name}"] = value or ""
        data[f"g{guest.position}-stay_permit"] = "bvk"
        data[f"g{guest.position}-accompanying_stay_id"] = str(guest.adult_position or "")
    return data


def the_arrival() -> Arrival:
    return db.session.execute(select(Arrival).order_by(Arrival.id.desc())).scalars().first()


def new_guest(app, address: str = "127.0.0.1"):
    """A guest's phone: its own cookies (the pages in English) and client address."""
    client = app.test_client()
    client.set_cookie("serasi_lang", "en")
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def code(operator_client, lodging):
    operator_client.set_cookie("serasi_lang", "en")
    return switch_on(operator_client, lodging)


@pytest.fixture
def guest(app):
    return new_guest(app)


# ---- the poster -------------------------------------------------------------------------------

def test_poster_prints_a_large_qr_of_the_short_guest_url_in_three_languages(operator_client, lodging, code):
    for size in ("a4", "a6"):
        response = operator_client.get(f"/lodgings/{lodging.id}/self-check-in/poster?size={size}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and f'class="sheet {size}"' in page
        assert "<svg" in page and "poster-qr" in page and f"http://localhost/c/{code}" in page
        assert 'lang="id"' in page and 'lang="en"' in page and 'lang="zh"' in page
        assert "Check in with your phone" in page and "用手机" in page


def test_rotating_the_code_stops_the_old_poster(operator_client, lodging, code, guest):
    assert guest.get(f"/c/{code}").status_code == 200
    assert operator_client.post(f"/lodgings/{lodging.id}/self-check-in", data={"action": "rotate"}).status_code == 303
    new_code = re.search(r"/c/([A-Z0-9]{10})", operator_client.get(f"/lodgings/{lodging.id}/self-check-in").get_data(as_text=True)).group(1)
    assert new_code != code
    old = guest.get(f"/c/{code}")
    assert old.status_code == 404 and 'name="consent"' not in old.get_data(as_text=True)
    assert "check-in" in old.get_data(as_text=True).lower()
    assert guest.get(f"/c/{new_code}").status_code == 200
    assert guest.get("/c/NOTACODE42").status_code == 404


def test_switched_off_poster_answers_a_clear_page(operator_client, lodging, code, guest):
    status_path = start_party(guest, code)
    add(guest, status_path, **ADULT)
    assert operator_client.post(f"/lodgings/{lodging.id}/self-check-in", data={"action": "off"}).status_code == 303
    response = guest.get(f"/c/{code}")
    assert response.status_code == 404 and 'name="consent"' not in response.get_data(as_text=True)
    assert operator_client.get(f"/lodgings/{lodging.id}/self-check-in/poster").status_code == 409
    # A party started before cannot be sent any more either.
    page = guest.post(f"{status_path}/send", follow_redirects=True).get_data(as_text=True)
    assert "does not take online check-ins" in page and the_arrival().status == "collecting"


@pytest.mark.parametrize("status", ["rejected", "suspended", "pending"])
def test_poster_of_a_lodging_not_verified_answers_a_clear_page_not_a_form(operator_client, lodging, code, guest, status):
    lodging.status = status
    db.session.commit()
    response = guest.get(f"/c/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and 'name="consent"' not in page and "reception" in page.lower()
    assert start(guest, code).status_code == 403
    assert db.session.scalar(select(func.count(Arrival.id))) == 0
    poster = operator_client.get(f"/lodgings/{lodging.id}/self-check-in/poster")
    assert poster.status_code == 409 and "<svg" not in poster.get_data(as_text=True)


# ---- the guest --------------------------------------------------------------------------------

def test_consent_and_dates_are_checked_and_the_values_come_back(guest, code):
    response = start(guest, code, consent="", email="ann@example.com", check_in_at=local_now(delta_hours=5))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="error-summary"' in page
    assert "ann@example.com" in page
    assert db.session.scalar(select(func.count(Arrival.id))) == 0


def test_a_family_checks_in_and_nothing_is_reported_before_approval(guest, code, lodging, operator_client):
    status_path = start_party(guest, code)
    # A minor without an adult is refused with a message at the field.
    refused = add(guest, status_path, **CHILD)
    assert refused.status_code == 200 and 'id="accompanying_stay_id-error"' in refused.get_data(as_text=True)
    assert add(guest, status_path, **ADULT).status_code == 303
    # The same form sent twice adds the guest once; the same passport in another guest is refused.
    assert add(guest, status_path, **ADULT).status_code == 303
    assert add(guest, status_path, **(ADULT | {"given_names": "Johnny"})).status_code == 200
    assert add(guest, status_path, **SPOUSE).status_code == 303
    adult = adult_choice(guest, status_path)
    assert add(guest, status_path, **CHILD, accompanying_stay_id=adult).status_code == 303
    page = guest.get(status_path).get_data(as_text=True)
    assert "Tom Smith" in page and "Mary Smith" in page and page.count("John Peter Smith") == 1
    assert len(the_arrival().guests) == 3
    # Before sending, the operator sees nothing of it.
    arrival = the_arrival()
    assert operator_client.get(f"/arrivals/{arrival.id}").status_code == 404
    assert guest.post(f"{status_path}/send").status_code == 303
    assert guest.post(f"{status_path}/send").status_code == 303  # resent: nothing changes
    page = guest.get(status_path).get_data(as_text=True)
    assert "Kos Melati" in page and "3" in page and "/verify/" not in page
    assert db.session.scalar(select(func.count(Stay.id))) == 0  # never a report without approval
    assert 'href="/arrivals/' in operator_client.get("/dashboard").get_data(as_text=True)


def test_a_passport_mrz_fills_the_guest_form(guest, code):
    status_path = start_party(guest, code)
    response = guest.post(f"{status_path}/guests/new", data={"action": "capture_mrz", "mrz_text": td3(), "form_token": "x" * 32})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'value="PA1234567"' in page and 'value="SMITH"' in page


def post_photo(guest, path, photo: bytes, **typed):
    """A guest's photo upload, encoded in memory (Werkzeug's test client would spool a large body
    to a file it never closes)."""
    import io

    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    data = guest_values(action="capture_photo", **typed)
    data["photo"] = FileStorage(io.BytesIO(photo), filename="photo.jpg", content_type="image/jpeg")
    boundary, body = encode_multipart(MultiDict(data))
    return guest.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_photo_too_large_or_not_a_photo_gets_a_clear_message_and_keeps_the_values(app, guest, code):
    status_path = start_party(guest, code)
    ten_mb = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024)  # a broken 10 MB "JPEG" sent on a slow line
    page = post_photo(guest, f"{status_path}/guests/new", ten_mb, surname="Keep").get_data(as_text=True)
    assert 'id="photo-error"' in page and 'value="Keep"' in page
    too_big = b"\xff\xd8" + b"\x00" * (app.config["CAPTURE_MAX_BYTES"] + 10)
    response = post_photo(guest, f"{status_path}/guests/new", too_big, surname="Keep")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "15 MB" in page and 'value="Keep"' in page
    assert the_arrival().guests == []


def test_guest_pages_are_not_stored_and_carry_no_personal_data_in_urls(guest, code, operator_client):
    urls = []
    response = start(guest, code, email="ann@example.com")
    urls.append(response.location)
    status_path = response.location.removesuffix("/guests/new")
    response = add(guest, status_path, **ADULT)
    urls.append(response.location)
    assert guest.get(status_path).headers["Cache-Control"] == "no-store"
    assert guest.get(f"/c/{code}").headers["Cache-Control"] == "no-store"
    response = guest.post(f"{status_path}/send")
    urls.append(response.location)
    arrival = the_arrival()
    review = operator_client.get(f"/arrivals/{arrival.id}")
    assert "no-store" in review.headers["Cache-Control"]
    for url in urls:
        for personal in ("Smith", "PA1234567", "ann@example.com", "1980"):
            assert personal not in url
    # The capability is random and only its hash is stored.
    token = status_path.rsplit("/", 1)[1]
    assert len(token) >= 40 and arrival.token_hash != token and token not in str(arrival.token_hash)


def test_other_guests_and_other_operators_see_nothing(app, guest, code, other_operator, operator_client, lodging):
    status_path = family_sent(guest, code)
    arrival = the_arrival()
    stranger = new_guest(app, "10.3.0.1")
    assert stranger.get(status_path + "x").status_code == 404
    assert stranger.get("/c/s/" + "A" * 43).status_code == 404
    other = app.test_client()
    login(other, other_operator.email)
    for method, path in (("get", f"/arrivals/{arrival.id}"), ("post", f"/arrivals/{arrival.id}"), ("post", f"/arrivals/{arrival.id}/reject"),
                         ("post", f"/arrivals/{arrival.id}/delete"), ("get", f"/lodgings/{lodging.id}/self-check-in"),
                         ("post", f"/lodgings/{lodging.id}/self-check-in"), ("get", f"/lodgings/{lodging.id}/self-check-in/poster")):
        assert getattr(other, method)(path).status_code == 404, path
    assert "Smith" not in other.get("/arrivals").get_data(as_text=True)
    assert "Smith" not in other.get("/dashboard").get_data(as_text=True)
    assert the_arrival().status == "waiting"


# ---- the operator's approval ------------------------------------------------------------------

def test_one_tap_approval_reports_each_guest_through_the_report_rules(guest, code, operator_client, lodging):
    status_path = family_sent(guest, code)
    arrival = the_arrival()
    page = operator_client.get(f"/arrivals/{arrival.id}").get_data(as_text=True)
    assert 'value="PA1234567"' in page and 'id="g3-accompanying_stay_id"' in page
    confirmed = local_now(delta_hours=-3)
    data = review_data(arrival, check_in_at=confirmed)
    data["g2-given_names"] = "Mary Ann"  # the operator corrects a name against the passport
    response = operator_client.post(f"/arrivals/{arrival.id}", data=data)
    assert response.status_code == 303, re.findall(r'class="error"[^>]*>([^<]*)', response.get_data(as_text=True))
    stays = db.session.execute(select(Stay).order_by(Stay.id)).scalars().all()
    assert len(stays) == 3 and all(s.receipt_number and s.status == "reported" and s.room == "12" for s in stays)
    assert {s.given_names for s in stays} == {"John Peter", "Mary Ann", "Tom"}
    child = next(s for s in stays if s.given_names == "Tom")
    adult = next(s for s in stays if s.given_names == "John Peter")
    assert child.accompanying_stay_id == adult.id and child.group_id == adult.group_id is not None
    # The 24 hours count from the check-in the operator confirmed.
    assert all(s.deadline_at - s.check_in_at == timedelta(hours=24) for s in stays)
    assert abs((utcnow() - timedelta(hours=3)) - adult.check_in_at) < timedelta(minutes=2)
    # The arrival keeps no personal data once reported.
    assert all(g.values == {} and g.stay_id for g in the_arrival().guests)
    page = guest.get(status_path).get_data(as_text=True)
    assert page.count("/verify/") == 3


def test_approving_twice_from_two_tabs_reports_once_with_a_clear_message(guest, code, operator_client):
    family_sent(guest, code)
    arrival = the_arrival()
    data = review_data(arrival)
    first = operator_client.post(f"/arrivals/{arrival.id}", data=data)
    second = operator_client.post(f"/arrivals/{arrival.id}", data=data)
    assert first.status_code == second.status_code == 303
    assert db.session.scalar(select(func.count(Stay.id))) == 3
    assert "approved already" in operator_client.get(second.location).get_data(as_text=True)
    # The service itself refuses a second approval of the same object in memory (a race).
    with pytest.raises(services.AlreadyDecided):
        services.approve(arrival, {}, {}, None)


def test_a_guest_already_reported_is_answered_clearly_and_nothing_is_reported(guest, code, operator_client, lodging):
    from .helpers import report_guest

    report_guest(operator_client, lodging, **{**ADULT, "document_number": "PA1234567", "stay_permit": "bvk"})
    status_path = start_party(guest, code)
    assert add(guest, status_path, **ADULT).status_code == 303
    assert add(guest, status_path, **SPOUSE).status_code == 303
    guest.post(f"{status_path}/send")
    arrival = the_arrival()
    response = operator_client.post(f"/arrivals/{arrival.id}", data=review_data(arrival))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "already reported" in page and 'id="g1-document_number-error"' in page
    assert db.session.scalar(select(func.count(Stay.id))) == 1
    assert the_arrival().status == "waiting"


def test_approval_keeps_the_report_rules(guest, code, operator_client, lodging):
    status_path = start_party(guest, code)
    add(guest, status_path, **ADULT)
    guest.post(f"{status_path}/send")
    arrival = the_arrival()
    data = review_data(arrival, check_in_at=local_now(delta_hours=30))  # a check-in in the future
    data["g1-stay_permit"] = ""
    response = operator_client.post(f"/arrivals/{arrival.id}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="check_in_at-error"' in page
    assert db.session.scalar(select(func.count(Stay.id))) == 0
    # A rejected lodging obtains no receipt through an approval either.
    lodging.status = "rejected"
    db.session.commit()
    response = operator_client.post(f"/arrivals/{arrival.id}", data=review_data(arrival))
    assert response.status_code == 200 and db.session.scalar(select(func.count(Stay.id))) == 0


def test_reject_deletes_the_details_and_tells_the_guest(guest, code, operator_client):
    status_path = family_sent(guest, code)
    arrival = the_arrival()
    assert operator_client.post(f"/arrivals/{arrival.id}/reject", data={"reason": "Not our guests"}).status_code == 303
    assert db.session.scalar(select(func.count(ArrivalGuest.id))) == 0
    page = guest.get(status_path).get_data(as_text=True)
    assert "Not our guests" in page and "deleted" in page
    assert operator_client.post(f"/arrivals/{arrival.id}", data=review_data(arrival)).status_code == 303
    assert db.session.scalar(select(func.count(Stay.id))) == 0


def test_delete_removes_everything(guest, code, operator_client):
    status_path = family_sent(guest, code)
    arrival = the_arrival()
    assert operator_client.post(f"/arrivals/{arrival.id}/delete").status_code == 303
    assert guest.get(status_path).status_code == 404
    assert db.session.scalar(select(func.count(Arrival.id))) == 0


def test_unapproved_arrivals_expire_and_are_deleted(guest, code, operator_client, lodging):
    operator_client.post(f"/lodgings/{lodging.id}/self-check-in", data={"action": "save", "expiry_hours": "48"})
    status_path = family_sent(guest, code)
    assert services.expire(utcnow() + timedelta(hours=47)) == 0
    assert services.expire(utcnow() + timedelta(hours=49)) == 1
    assert db.session.scalar(select(func.count(ArrivalGuest.id))) == 0
    assert guest.get(status_path).status_code == 404
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "arrival.expired")) == 1


def test_every_step_is_audited_with_translated_labels(app, guest, code, operator_client):
    from flask_babel import force_locale

    from serasi_web.audit.labels import audit_action_label

    family_sent(guest, code)
    arrival = the_arrival()
    operator_client.post(f"/arrivals/{arrival.id}", data=review_data(arrival))
    actions = set(db.session.execute(select(AuditEvent.action).where(AuditEvent.action.like("arrival.%"))).scalars())
    assert {"arrival.self_check_in_on", "arrival.started", "arrival.sent", "arrival.approved"} <= actions
    with app.test_request_context(), force_locale("id"):
        for action in actions:
            assert audit_action_label(action) != action


# ---- abuse limits -----------------------------------------------------------------------------

@pytest.fixture
def app_config(app_config):
    return {**app_config, "ARRIVALS_RATE_PER_ADDRESS": "10 per hour", "ARRIVALS_RATE_PER_POSTER": "25 per hour"}


def test_500_arrivals_from_one_address_are_stopped(guest, code):
    answers = [start(guest, code).status_code for _ in range(500)]
    assert answers.count(303) == 10 and set(answers[10:]) == {429}
    page = start(guest, code).get_data(as_text=True)
    assert "Too many check-ins" in page
    assert db.session.scalar(select(func.count(Arrival.id))) == 10


def test_one_poster_is_limited_whatever_the_address(app, code):
    answers = []
    for number in range(30):
        client = new_guest(app, f"10.0.{number}.1")
        answers.append(start(client, code).status_code)
    assert answers.count(303) == 25 and answers[-1] == 429


def test_waiting_arrivals_per_lodging_are_capped(app, code):
    app.config["ARRIVALS_MAX_WAITING"] = 2
    for number in range(2):
        client = new_guest(app, f"10.1.{number}.1")
        assert start(client, code).status_code == 303
    response = start(new_guest(app, "10.2.0.1"), code)
    assert response.status_code == 200 and "Too many check-ins are waiting" in response.get_data(as_text=True)


# ---- languages ----------------------------------------------------------------------------------

def test_guest_pages_speak_chinese_and_operator_pages_keep_their_languages(guest, code, operator_client):
    response = guest.post("/c/language", data={"language": "zh", "next": f"/c/{code}"})
    assert response.status_code == 303
    page = guest.get(f"/c/{code}").get_data(as_text=True)
    assert 'lang="zh"' in page and "外国住客隐私告知" in page and "继续" in page
    operator_client.delete_cookie("serasi_lang")
    operator_client.set_cookie("serasi_lang", "zh")
    dashboard = operator_client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="id">' in dashboard


# ---- e-mail -------------------------------------------------------------------------------------

def test_the_operator_and_the_guest_get_an_e_mail_without_personal_data_in_subjects(another_app, smtp_server, operator, lodging):  # noqa: F811
    mail_app = another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, PUBLIC_URL="https://serasi.example")
    operator.locale = "en"
    db.session.commit()
    desk = mail_app.test_client()
    login(desk, operator.email)
    code = switch_on(desk, lodging)
    desk.post(f"/lodgings/{lodging.id}/self-check-in", data={"action": "save", "notify_by_email": "y", "expiry_hours": "72"})
    guest = new_guest(mail_app)
    status_path = start(guest, code, email="guest@example.org").location.removesuffix("/guests/new")
    add(guest, status_path, **ADULT)
    guest.post(f"{status_path}/send")
    guest.post(f"{status_path}/send")  # resent: no second mail
    messages = {recipients[0]: message for recipients, message in smtp_server.messages}
    assert len(smtp_server.messages) == 2 and set(messages) == {operator.email, "guest@example.org"}
    to_operator, to_guest = messages[operator.email], messages["guest@example.org"]
    arrival = the_arrival()
    assert "Kos Melati" in to_operator["Subject"] and "Smith" not in to_operator["Subject"]
    assert f"https://serasi.example/arrivals/{arrival.id}" in to_operator.get_content()
    assert "Smith" not in to_guest["Subject"] and f"https://serasi.example{status_path}" in to_guest.get_content()
    assert the_arrival().email == "guest@example.org"
    # Once decided, the guest's address is forgotten.
    desk.post(f"/arrivals/{arrival.id}", data=review_data(arrival))
    assert the_arrival().email == ""


def test_every_guest_post_counts_against_the_address_limit(app, code):
    app.config["ARRIVALS_POST_RATE_PER_ADDRESS"] = "5 per hour"
    guest = new_guest(app, "10.4.0.1")
    answers = [start(guest, code, consent="").status_code for _ in range(8)]  # invalid forms count too
    assert answers[:5] == [200] * 5 and answers[5:] == [429] * 3
    assert new_guest(app, "10.4.0.2").get(f"/c/{code}").status_code == 200  # reading stays possible for others


def test_two_approvals_at_the_same_moment_report_each_guest_once(app, guest, code, operator):
    import threading

    from serasi_web.accounts.models import User

    family_sent(guest, code)
    arrival_id = the_arrival().id
    barrier, results = threading.Barrier(2), []

    def approve():
        with app.app_context():
            arrival = db.session.get(Arrival, arrival_id)
            values = {g.position: services.guest_values(g) | {"stay_permit": "bvk"} for g in arrival.guests}
            stay = {"check_in_at": utcnow() - timedelta(hours=1), "planned_check_out": None, "room": "3", "purpose": "family", "notes": ""}
            actor = db.session.get(User, operator.id)
            barrier.wait()
            try:
                services.approve(arrival, values, stay, actor)
                results.append("approved")
            except services.AlreadyDecided:
                results.append("already decided")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["already decided", "approved"]
    assert db.session.scalar(select(func.count(Stay.id))) == 3


def test_the_browser_is_told_to_forget_a_guest_draft_once_accepted(guest, code):
    response = start(guest, code, keep_draft=".c/x:")
    page = guest.get(response.location).get_data(as_text=True)
    assert "data-drafts-done" in page and "data-keep-draft=" in page and "data-draft-restore" in page
    status_path = response.location.removesuffix("/guests/new")
    refused = guest.post(f"{status_path}/guests/new", data=guest_values(surname="", keep_draft=".c/y:abc"))
    assert "data-draft-restore" not in refused.get_data(as_text=True)  # the server's answer wins over an old draft
    accepted = add(guest, status_path, **ADULT, keep_draft=".c/y:abc")
    assert ".c/y:abc" in guest.get(accepted.location).get_data(as_text=True)
