"""The bundled forwarders against real servers on loopback: a webhook receiver checking the HMAC
signature, a second SERASI Web instance's push API, and an SMTP server (aiosmtpd)."""
import email
import socket
import time
from email import policy

import pytest
from sqlalchemy import select

from bench.delivery_receiver import WebhookReceiver
from plugins.forwarders.webhook import encode, signature, verify_signature
from serasi_web.delivery.dispatcher import deliver_everything, run_once
from serasi_web.delivery.models import Delivery
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import (
    guest_form,
    local_now,
    make_lodging,
    make_offices,
    make_user,
    report_guest,
)

SECRET = "webhook-shared-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver():
    found = WebhookReceiver(SECRET).start()
    yield found
    found.stop()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
            return "250 OK"

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.messages = handler.messages
    yield controller
    controller.stop()


# ---- webhook -------------------------------------------------------------------------------------

@pytest.fixture
def webhook_app(another_app, receiver):
    return another_app(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET, DELIVERY_RETRY_BASE_SECONDS=0.01)


def test_webhook_posts_each_event_signed_and_the_receiver_verifies_it(app, webhook_app, operator_client, operator, offices, receiver):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    with webhook_app.app_context():
        deliver_everything()
    assert receiver.stats()["order"] == [(stay_id, 1), (stay_id, 2)] and receiver.bad_signatures == 0
    assert receiver.events[1]["idempotency_key"] == f"stay-{stay_id}-v2-corrected" and receiver.events[1]["stay"]["stay"]["room"] == "9"
    assert {d.forwarder for d in db.session.execute(select(Delivery)).scalars()} == {"webhook"}


def test_webhook_signature_recipe_refuses_tampering_and_replays():
    body, now = encode({"event": "reported", "idempotency_key": "k"}), time.time()
    stamp = str(int(now))
    header = signature(SECRET, stamp, body)
    assert header.startswith("v1=") and verify_signature(SECRET, stamp, body, header, now=now)
    assert not verify_signature(SECRET, stamp, body + b" ", header, now=now)
    assert not verify_signature("other secret", stamp, body, header, now=now)
    assert not verify_signature(SECRET, stamp, body, header, now=now + 301)


def test_webhook_retries_server_errors_and_a_refusal_needs_a_person(app, webhook_app, operator_client, operator, offices, receiver):
    lodging = make_lodging(operator)
    first = report_guest(operator_client, lodging)
    receiver.fail_next = [503, 429]
    with webhook_app.app_context():
        run_once()
        time.sleep(0.1)
        run_once()
        time.sleep(0.1)
        deliver_everything()
    (delivery,) = db.session.execute(select(Delivery)).scalars().all()
    assert (delivery.status, delivery.attempts) == ("delivered", 3) and receiver.stats()["order"] == [(first, 1)]
    receiver.fail_next = [400]
    second = report_guest(operator_client, lodging, document_number="X7777777", surname="Other")
    with webhook_app.app_context():
        deliver_everything()
    refused = db.session.execute(select(Delivery).where(Delivery.stay_id == second)).scalar_one()
    assert (refused.status, refused.last_status_code) == ("failed", 400)


def test_webhook_receiver_down_is_retried(app, another_app, operator_client, operator, offices):
    port = free_port()
    sender = another_app(WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", WEBHOOK_SECRET=SECRET, DELIVERY_TIMEOUT_SECONDS=1.0)
    report_guest(operator_client, make_lodging(operator))
    with sender.app_context():
        run_once()
    delivery = db.session.execute(select(Delivery)).scalar_one()
    assert delivery.status == "pending" and "ConnectionError" in delivery.last_error


# ---- federation ----------------------------------------------------------------------------------

@pytest.fixture
def office_instance(served_instance):
    """A second SERASI Web (the immigration office's), served over HTTP on loopback, with a
    lodging and a push-API token for the chain's instance (the older, one-lodging federation)."""
    from plugins.push_api.tokens import create_token

    def setup(office_app):
        make_offices()
        owner = make_user("chain@example.com")
        lodging = make_lodging(owner, name="Hotel Chain Kuta")
        office_app.token = create_token(lodging, "chain instance", owner)
        db.session.commit()

    return served_instance("office", setup)


def test_federation_forwards_reports_corrections_check_outs_and_voids_to_another_instance(
        app, another_app, operator_client, operator, offices, office_instance):

    chain = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN=office_instance.token, FEDERATION_EXTERNAL_ID_PREFIX="chain")
    lodging = make_lodging(operator)
    kept = report_guest(operator_client, lodging)
    operator_client.post(f"/stays/{kept}/correct", data=guest_form(room="9") | {"reason": "room"})
    operator_client.post(f"/stays/{kept}/check-out", data={"checked_out_at": local_now()})
    voided = report_guest(operator_client, lodging, document_number="X7777777", surname="Mistake")
    operator_client.post(f"/stays/{voided}/void", data={"reason": "wrong guest"})
    with chain.app_context():
        deliver_everything()
    statuses = {(d.stay_id, d.status, d.last_error) for d in db.session.execute(select(Delivery)).scalars()}
    assert {status for _, status, _ in statuses} == {"delivered"}, statuses
    with office_instance.app_context():
        there = {stay.external_id: stay for stay in db.session.execute(select(Stay)).scalars()}
        assert there[f"chain-{kept}"].status == "checked_out" and there[f"chain-{kept}"].room == "9"
        assert there[f"chain-{kept}"].surname == "ERIKSSON" or there[f"chain-{kept}"].surname.lower() == "eriksson"
        assert there[f"chain-{voided}"].status == "voided"
        db.session.remove()


def test_federation_with_a_wrong_token_fails_for_a_person_to_fix(app, another_app, operator_client, operator, offices, office_instance):
    chain = another_app(FEDERATION_URL=office_instance.base_url, FEDERATION_TOKEN="srs_wrong")
    report_guest(operator_client, make_lodging(operator))
    with chain.app_context():
        deliver_everything()
    delivery = db.session.execute(select(Delivery)).scalar_one()
    assert (delivery.status, delivery.last_status_code) == ("failed", 401)


# ---- e-mail --------------------------------------------------------------------------------------

def test_email_forwarder_sends_each_event_to_a_real_smtp_server(app, another_app, operator_client, operator, offices, smtp_server):
    mailer = another_app(DELIVERY_EMAIL_TO="arsip@kanim.example, backup@kanim.example", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    stay_id = report_guest(operator_client, make_lodging(operator))
    with mailer.app_context():
        deliver_everything()
    (recipients, message), = smtp_server.messages
    assert recipients == ["arsip@kanim.example", "backup@kanim.example"]
    assert message["Message-ID"] == f"<stay-{stay_id}-v1-reported@serasi.invalid>" and message["Subject"].startswith("[SERASI] Laporan diterima: STT-") and "Eriksson" not in message["Subject"]
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == f"stay-{stay_id}-v1-reported.json" and b'"receipt_number"' in attachment.get_content()


def test_email_forwarder_retries_while_the_smtp_server_is_down(app, another_app, operator_client, operator, offices):
    mailer = another_app(DELIVERY_EMAIL_TO="arsip@kanim.example", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT_SECONDS=1.0)
    report_guest(operator_client, make_lodging(operator))
    with mailer.app_context():
        run_once()
    delivery = db.session.execute(select(Delivery)).scalar_one()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error
