"""Outbound safety: mail over verified TLS (a real aiosmtpd server with STARTTLS and with
implicit TLS, a self-signed certificate made by openssl), no redirects followed by forwarders,
no deliveries to loopback, private or link-local addresses unless listed, https:// in production."""
from __future__ import annotations

import email
import shutil
import ssl
import subprocess
from email import policy

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from serasi_web import create_app
from serasi_web.config import ConfigurationError
from serasi_web.delivery.destinations import check_destination
from serasi_web.delivery.dispatcher import deliver_everything
from serasi_web.delivery.forwarders import DeliveryFailed
from serasi_web.delivery.models import Delivery
from serasi_web.extensions import db
from serasi_web.notifications.mail import send_mail

from ..helpers import make_lodging, report_guest, skip_or_fail
from ..test_forwarders import SECRET, free_port, receiver  # noqa: F401  (the webhook receiver fixture)


# ---- mail over TLS -------------------------------------------------------------------------------

@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    if not shutil.which("openssl"):
        skip_or_fail("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class Collect:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def tls_smtp_server(certificate):
    """An SMTP server that requires STARTTLS before any mail."""
    from aiosmtpd.controller import Controller

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*map(str, certificate))
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=server_context, require_starttls=True)
    controller.start()
    controller.messages = handler.messages
    yield controller
    controller.stop()


def test_mail_goes_through_starttls_with_a_verified_certificate(app, another_app, tls_smtp_server, certificate):
    settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": tls_smtp_server.port, "SMTP_STARTTLS": True, "SMTP_TIMEOUT_SECONDS": 5.0}
    untrusted = another_app(**settings)
    with untrusted.app_context(), pytest.raises(ssl.SSLCertVerificationError):
        send_mail("kanim@example.com", "Uji", "isi")  # a certificate nobody vouches for: refused, nothing sent
    assert tls_smtp_server.messages == []

    trusted = another_app(**settings, SMTP_CA_FILE=str(certificate[0]))  # the office's own CA
    with trusted.app_context():
        send_mail("kanim@example.com", "Uji", "isi")
    assert [recipients for recipients, _ in tls_smtp_server.messages] == [["kanim@example.com"]]


def test_mail_goes_through_implicit_tls_with_a_verified_certificate(app, another_app, certificate):
    import asyncio
    import threading

    from aiosmtpd.smtp import SMTP as SMTPProtocol

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*map(str, certificate))
    handler, port, loop = Collect(), free_port(), asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: SMTPProtocol(handler), "127.0.0.1", port, ssl=server_context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SSL": True, "SMTP_TIMEOUT_SECONDS": 5.0}
        with another_app(**settings).app_context(), pytest.raises(ssl.SSLCertVerificationError):
            send_mail("kanim@example.com", "Uji", "isi")
        with another_app(**settings, SMTP_CA_FILE=str(certificate[0])).app_context():
            send_mail("kanim@example.com", "Uji", "isi")
        assert [recipients for recipients, _ in handler.messages] == [["kanim@example.com"]]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(server.wait_closed())
        loop.close()


@pytest.mark.parametrize("settings, refused", [
    ({"SERASI_SMTP_HOST": "mail.kanim.example"}, True),
    ({"SERASI_SMTP_HOST": "mail.kanim.example", "SERASI_SMTP_STARTTLS": "1"}, False),
    ({"SERASI_SMTP_HOST": "mail.kanim.example", "SERASI_SMTP_SSL": "1", "SERASI_SMTP_PORT": "465"}, False),
    ({"SERASI_SMTP_HOST": "localhost"}, False),  # the machine's own mail server: nothing leaves it in clear
    ({"SERASI_WEBHOOK_URL": "http://hooks.kanim.example/serasi"}, True),
    ({"SERASI_WEBHOOK_URL": "https://hooks.kanim.example/serasi"}, False),
    ({"SERASI_FEDERATION_URL": "http://serasi.kanim.example"}, True),
])
def test_production_refuses_to_start_with_passport_data_leaving_in_clear(tmp_path, monkeypatch, settings, refused):
    monkeypatch.setenv("SERASI_ENV", "production")
    monkeypatch.setenv("SERASI_SECRET_KEY", "7f3a9c2e" + "b41d6e8f05a7c3d9e2f1a6b8c4d7e0f3a5b9c1d8e6f2a4b7")  # random, not guessable
    monkeypatch.setenv("SERASI_PUBLIC_URL", "https://serasi.kanim.example")
    monkeypatch.setenv("SERASI_SOURCE_CREDENTIALS_KEY", "R0OE5PWc5ZQjOdBNaXNVQNy7Aq5UEVToHfTCwPKGmNA=")  # a Fernet key, as production requires
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    config = {"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    if refused:
        with pytest.raises(ConfigurationError):
            create_app(config)
    else:
        create_app(config)


# ---- webhooks and federation ---------------------------------------------------------------------

@pytest.fixture
def redirector(receiver):  # noqa: F811
    """A web server that answers every request with 307 to the webhook receiver (an internal
    address), counting what it got."""
    hits = []

    def application(environ, start_response):
        hits.append(environ["PATH_INFO"])
        return Response(status=307, headers={"Location": receiver.url})(environ, start_response)

    server = make_server("127.0.0.1", 0, application, threaded=True)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", hits
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_a_webhook_that_answers_307_does_not_get_the_payload_resent_elsewhere(app, another_app, operator_client, operator, offices,
                                                                               receiver, redirector):  # noqa: F811
    url, hits = redirector
    sender = another_app(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET)
    report_guest(operator_client, make_lodging(operator))
    with sender.app_context():
        deliver_everything()
    delivery = db.session.execute(select(Delivery)).scalar_one()
    assert hits == ["/hook"] and receiver.events == []  # the signed payload went nowhere else
    assert (delivery.status, delivery.last_status_code) == ("failed", 307)  # a person decides


@pytest.mark.parametrize("url", ["RECEIVER", "http://localhost:{port}/hook", "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/hook", "http://[::1]:{port}/hook", "http://192.168.1.10/hook"])
def test_deliveries_to_loopback_private_and_link_local_addresses_are_refused(app, another_app, operator_client, operator, offices,
                                                                             receiver, url):  # noqa: F811
    url = receiver.url if url == "RECEIVER" else url.format(port=free_port())
    sender = another_app(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, OUTBOUND_ALLOWED_HOSTS=[])
    report_guest(operator_client, make_lodging(operator))
    with sender.app_context():
        deliver_everything()
    delivery = db.session.execute(select(Delivery)).scalar_one()
    assert delivery.status == "failed" and "refused" in delivery.last_error
    assert receiver.events == []
    # An admin may list the host.
    with another_app(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"]).app_context():
        check_destination(receiver.url)


def test_production_sends_only_to_https(app, another_app):
    with another_app().app_context():
        from flask import current_app

        current_app.config["ENV_NAME"] = "production"
        current_app.config["OUTBOUND_ALLOWED_HOSTS"] = ["hooks.kanim.example"]
        with pytest.raises(DeliveryFailed, match="https"):
            check_destination("http://hooks.kanim.example/serasi")
        with pytest.raises(DeliveryFailed, match="scheme"):
            check_destination("ftp://hooks.kanim.example/serasi")
        check_destination("https://hooks.kanim.example/serasi")  # listed: no lookup needed
