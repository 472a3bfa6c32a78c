"""Sending mail through SMTP with the standard library (``SMTP_*`` and ``MAIL_FROM`` settings).

TLS is STARTTLS (``SMTP_STARTTLS``) or implicit TLS (``SMTP_SSL``, port 465), always with a
verified certificate and host name (``ssl.create_default_context``; ``SMTP_CA_FILE`` adds a
private CA). Production refuses to start with a mail server reached without TLS, unless it is on
this machine (config.py).
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app


class MailNotConfigured(RuntimeError):
    """``SMTP_HOST`` is not set."""


def mail_configured(app=None) -> bool:
    return bool((app or current_app).config.get("SMTP_HOST"))


def tls_context(config) -> ssl.SSLContext:
    """The TLS settings of STARTTLS: the server's certificate is verified against the system's
    certificate authorities, or the file ``SMTP_CA_FILE`` names (a private CA or a server's own
    self-signed certificate that the office decided to trust)."""
    return ssl.create_default_context(cafile=config.get("SMTP_CA_FILE") or None)


def build_message(to: str | list[str], subject: str, text_body: str, html_body: str | None = None,
                  headers: dict | None = None) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join([to] if isinstance(to, str) else to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="serasi.invalid")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text_body)
    if html_body:
        message.add_alternative(html_body, subtype="html")
    return message


def send_message(message: EmailMessage) -> None:
    """Send one message; raises on any SMTP or network error (callers decide about retrying)."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        raise MailNotConfigured("SMTP_HOST is not set")
    host, port, timeout = config["SMTP_HOST"], int(config["SMTP_PORT"]), config["SMTP_TIMEOUT_SECONDS"]
    if config.get("SMTP_SSL"):
        smtp = _SMTPS(host, port, timeout=timeout, context=tls_context(config))
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("SMTP_STARTTLS") and not config.get("SMTP_SSL"):
            smtp.starttls(context=tls_context(config))
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


class _SMTPS(smtplib.SMTP_SSL):
    """``SMTP_SSL`` that closes its socket when the TLS handshake fails (the standard library's
    leaves it open, e.g. on a certificate that does not verify)."""

    def _get_socket(self, host, port, timeout):
        plain = smtplib.SMTP._get_socket(self, host, port, timeout)
        try:
            return self.context.wrap_socket(plain, server_hostname=self._host)
        except BaseException:
            plain.close()
            raise


def send_mail(to, subject: str, text_body: str, html_body: str | None = None, headers: dict | None = None) -> None:
    send_message(build_message(to, subject, text_body, html_body, headers))
