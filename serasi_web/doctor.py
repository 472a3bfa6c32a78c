"""``serasi-web doctor``: check the configuration and the surroundings an instance depends on.

Each check gives one line: ``ok`` with what was found, or ``PROBLEM`` with what is wrong and how
to fix it. The command exits non-zero when any check finds a problem. Checks read and connect;
they write nothing (a SQLite database that does not exist is reported, not created).
"""
from __future__ import annotations

import ipaddress
import shutil
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .extensions import db

CLOCK_TOLERANCE_SECONDS = 30.0
INDONESIAN_ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
NETWORK_TIMEOUT_SECONDS = 5.0


@dataclass
class Check:
    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'PROBLEM':<8} {self.name}: {self.message}"


def run_checks(min_free_bytes: int = 1024 * 1024 * 1024) -> list[Check]:
    """Every check, in the order an operator fixes things. A check that fails in a way it did
    not foresee is a problem line too (never a traceback)."""
    checks: list[Check] = []
    for name, function in (
        ("secret key", check_secret_key),
        ("database", check_database),
        ("redis", check_redis),
        ("smtp", check_smtp),
        ("forwarders", check_forwarders),
        ("disk", lambda: check_disk(min_free_bytes)),
        ("clock", check_clock),
        ("time zones", check_time_zones),
        ("plugins", check_plugins),
    ):
        try:
            found = function()
        except Exception as error:  # noqa: BLE001 - reported as a problem line
            found = Check(name, False, f"the check itself failed ({type(error).__name__}: {_first_line(error)})")
        checks.extend(found if isinstance(found, list) else [found])
    return checks


# ---- secret key ----------------------------------------------------------------------------

def check_secret_key() -> Check:
    """The same rule production starts with (``config.secret_key_problem``), so doctor and the
    start never disagree about a key."""
    from .config import secret_key_problem

    key = str(current_app.config.get("SECRET_KEY") or "")
    problem = secret_key_problem(key)
    if problem:
        return Check("secret key", False, problem)
    instance_key = Path(current_app.instance_path) / "secret_key"
    source = "generated in the instance folder" if instance_key.exists() and instance_key.read_text().strip() == key else "from the settings"
    return Check("secret key", True, f"{len(key)} characters, {source}")


# ---- database ------------------------------------------------------------------------------

def database_label() -> str:
    """The database URL without its password."""
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)


def check_database() -> Check:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    label = database_label()
    if db.engine.dialect.name == "sqlite":
        path = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database or ""
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
            return Check("database", False, f"no database file at {path}: fix SERASI_DATABASE_URL, or create it with "
                                            "`serasi-web db upgrade`")
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # noqa: BLE001 - any failure to connect is this one problem
        return Check("database", False, f"cannot connect to {label} ({_database_error(error)}): check SERASI_DATABASE_URL "
                                        "(host, port, database name, user, password) and that the server is running")
    finally:
        db.engine.dispose()
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = set(script.get_heads())
    if not current:
        return Check("database", False, f"{label} is reachable but not migrated (no schema): run `serasi-web db upgrade`")
    if current == heads:
        return Check("database", True, f"{label} reachable, schema at the newest revision {', '.join(sorted(heads))}")
    known = {revision.revision for revision in script.walk_revisions()}
    if current - known:
        return Check("database", False, f"{label} is at schema revision {', '.join(sorted(current))}, unknown to this version "
                                        "(a newer SERASI Web migrated it): install that version again")
    return Check("database", False, f"{label} is at schema revision {', '.join(sorted(current))}, this version needs "
                                    f"{', '.join(sorted(heads))}: run `serasi-web db upgrade`")


def _database_error(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return (lines[0] if lines else type(original).__name__)[:300]


# ---- redis ---------------------------------------------------------------------------------

def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def check_redis() -> list[Check]:
    config = current_app.config
    urls = [url for url in (config.get("REDIS_URL"), config.get("RATELIMIT_STORAGE_URI")) if url and url.startswith(("redis://", "rediss://"))]
    if not urls:
        return [Check("redis", True, "not configured (jobs queue in the instance folder, rate limits per process)")]
    import redis

    checks = []
    for url in dict.fromkeys(urls):
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=NETWORK_TIMEOUT_SECONDS, socket_timeout=NETWORK_TIMEOUT_SECONDS)
            try:
                client.ping()
                version = client.info("server").get("redis_version", "?")
            finally:
                client.close()
        except Exception as error:  # noqa: BLE001 - any failure is "cannot use Redis"
            checks.append(Check("redis", False, f"cannot use {_hide_password(url)} ({_first_line(error)}): start Redis, or fix "
                                                "SERASI_REDIS_URL (unset it to queue jobs in the instance folder)"))
        else:
            checks.append(Check("redis", True, f"{_hide_password(url)} answers (Redis {version})"))
    return checks


# ---- smtp ----------------------------------------------------------------------------------

def check_smtp() -> Check:
    from .notifications.mail import tls_context

    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        return Check("smtp", True, "not configured (no reminder e-mails and no e-mail forwarding)")
    where = f"{host}:{config.get('SMTP_PORT')}"
    username, starttls = config.get("SMTP_USERNAME"), config.get("SMTP_STARTTLS")
    if username and not starttls:
        return Check("smtp", False, f"{where}: logging in without TLS would send the password in clear: set SERASI_SMTP_STARTTLS=1")
    try:
        with smtplib.SMTP(host, int(config["SMTP_PORT"]), timeout=min(config["SMTP_TIMEOUT_SECONDS"], NETWORK_TIMEOUT_SECONDS)) as smtp:
            smtp.ehlo()
            if starttls:
                if not smtp.has_extn("starttls"):
                    return Check("smtp", False, f"{where} does not offer STARTTLS: use a server that does, or unset SERASI_SMTP_STARTTLS")
                smtp.starttls(context=tls_context(config))
                smtp.ehlo()
            if username:
                smtp.login(username, config.get("SMTP_PASSWORD") or "")
            smtp.noop()
    except ssl.SSLCertVerificationError as error:
        return Check("smtp", False, f"{where}: the server's TLS certificate is not trusted ({error.verify_message}): "
                                    "install its certificate authority on this machine, or set SMTP_CA_FILE to the "
                                    "certificate you decided to trust")
    except ssl.SSLError as error:
        return Check("smtp", False, f"{where}: TLS failed ({_first_line(error)}): check the server's TLS settings")
    except smtplib.SMTPAuthenticationError:
        return Check("smtp", False, f"{where}: login as {username} refused: check SERASI_SMTP_USERNAME and SERASI_SMTP_PASSWORD")
    except (OSError, smtplib.SMTPException) as error:
        return Check("smtp", False, f"cannot talk to {where} ({_first_line(error)}): check SERASI_SMTP_HOST and "
                                    "SERASI_SMTP_PORT and that the server is running")
    done = ["answers"] + (["TLS certificate verified"] if starttls else []) + ([f"login as {username} accepted"] if username else [])
    return Check("smtp", True, f"{where} " + ", ".join(done))


# ---- forwarders ----------------------------------------------------------------------------

def check_forwarders() -> list[Check]:
    from .plugins import registry

    app = current_app._get_current_object()
    configured = [forwarder for forwarder in registry().forwarders if forwarder.configured(app)]
    if not configured:
        return [Check("forwarders", True, "none configured (reports stay here; see docs/delivery.md)")]
    checks = []
    for forwarder in configured:
        name = f"forwarder {forwarder.name}"
        if forwarder.name == "webhook":
            checks.append(check_url(name, app.config["WEBHOOK_URL"]))
        elif forwarder.name == "federation":
            checks.append(check_url(name, app.config["FEDERATION_URL"].rstrip("/") + "/healthz"))
        elif forwarder.name == "email":
            ok = bool(app.config.get("SMTP_HOST"))
            checks.append(Check(name, ok, "sends through the SMTP server checked above" if ok else
                                "SERASI_DELIVERY_EMAIL_TO is set but SERASI_SMTP_HOST is not: set the SMTP settings"))
        else:
            checks.append(Check(name, True, "configured (a plugin's forwarder: its target is not checked here)"))
    return checks


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_url(name: str, url: str) -> Check:
    """The target answers over HTTPS with a certificate this machine trusts (any HTTP status
    counts as an answer); plain HTTP only to this machine."""
    import requests

    parts = urlsplit(url)
    shown = urlunsplit(parts._replace(query="", fragment=""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check(name, False, f"{shown!r} is not an http(s) URL: fix the setting")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return Check(name, False, f"{shown} is plain HTTP: reports would travel unencrypted; use an https:// URL")
    try:
        response = requests.head(url, timeout=NETWORK_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.exceptions.SSLError as error:
        return Check(name, False, f"{shown}: TLS failed ({_ssl_reason(error)}): the receiver needs a certificate this machine "
                                  "trusts (install its certificate authority, or set REQUESTS_CA_BUNDLE)")
    except requests.RequestException as error:
        return Check(name, False, f"cannot reach {shown} ({type(error).__name__}): check the URL, the receiver and the firewall")
    return Check(name, True, f"{shown} answers over {'TLS' if parts.scheme == 'https' else 'HTTP on this machine'} (HTTP {response.status_code})")


def _ssl_reason(error: Exception) -> str:
    text_ = str(error)
    for reason in ("self-signed certificate", "certificate has expired", "unable to get local issuer certificate",
                   "Hostname mismatch", "certificate verify failed"):
        if reason in text_:
            return reason
    return type(error).__name__


# ---- disk, clock, time zones, plugins ------------------------------------------------------

def check_disk(min_free_bytes: int) -> Check:
    instance = Path(current_app.instance_path)
    folder = instance if instance.exists() else instance.parent
    usage = shutil.disk_usage(folder)
    free_mb = usage.free // (1024 * 1024)
    if usage.free < min_free_bytes:
        return Check("disk", False, f"only {free_mb} MB free for the instance folder {instance} (needs {min_free_bytes // (1024 * 1024)} MB): "
                                    "free space or give the instance folder a larger disk (backups and the database grow)")
    return Check("disk", True, f"{free_mb} MB free for the instance folder {instance}")


def check_clock() -> Check:
    """This machine's clock against the database server's (PostgreSQL) and Redis's: deadlines,
    tokens and receipts carry times, so a clock that drifts shows as wrong times."""
    compared = []
    worst = 0.0
    if db.engine.dialect.name == "postgresql":
        try:
            with db.engine.connect() as connection:
                before = time.time()
                server = connection.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
                after = time.time()
            compared.append("the database server")
            worst = max(worst, abs(float(server) - (before + after) / 2))
        except Exception:  # noqa: BLE001 - unreachable: the database check says so
            pass
        finally:
            db.engine.dispose()
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis

            client = redis.Redis.from_url(redis_url, socket_connect_timeout=NETWORK_TIMEOUT_SECONDS, socket_timeout=NETWORK_TIMEOUT_SECONDS)
            try:
                before = time.time()
                seconds, microseconds = client.time()
                after = time.time()
            finally:
                client.close()
            compared.append("Redis")
            worst = max(worst, abs(seconds + microseconds / 1e6 - (before + after) / 2))
        except Exception:  # noqa: BLE001 - unreachable: the redis check says so
            pass
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if worst > CLOCK_TOLERANCE_SECONDS:
        return Check("clock", False, f"this machine's clock is {worst:.0f} s off {' and '.join(compared)}: turn on time "
                                     "synchronisation (Debian: apt install systemd-timesyncd) on every machine")
    if not compared:
        return Check("clock", True, f"{now} (no server clock to compare with)")
    return Check("clock", True, f"{now}, within {CLOCK_TOLERANCE_SECONDS:.0f} s of {' and '.join(compared)}")


def check_time_zones() -> Check:
    """Lodgings' local times (WIB, WITA, WIT) need the time zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    missing = []
    for zone in INDONESIAN_ZONES:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            missing.append(zone)
    if missing:
        return Check("time zones", False, f"{', '.join(missing)} unknown: install the time zone database (Debian: apt install tzdata)")
    local = time.strftime("%Z %z")
    return Check("time zones", True, f"WIB, WITA and WIT known; this machine runs on {local} (times are stored in UTC)")


def check_plugins() -> Check:
    from importlib.metadata import entry_points

    from .plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, plugin_failures, registry

    manager = current_app.extensions["serasi.plugins"]
    disabled = set(current_app.config.get("DISABLED_PLUGINS") or ())
    loaded = {manager.get_name(plugin) for plugin in manager.get_plugins()}
    expected = [name for name in DEFAULT_PLUGINS if name not in disabled and name.split(".")[-1] not in disabled]
    expected += [entry.name for entry in entry_points(group=ENTRY_POINT_GROUP) if entry.name not in disabled]
    missing = [name for name in expected if name not in loaded]
    failures = plugin_failures()
    if failures:  # a degraded start (SERASI_ALLOW_DEGRADED_START): the reasons were kept
        return Check("plugins", False, "; ".join(failures) + ": fix it (often pip install the missing module) or name the "
                                                           "plugin in SERASI_DISABLED_PLUGINS")
    if missing:
        return Check("plugins", False, f"not loaded: {', '.join(missing)}: see the start-up log for the reason (often a missing "
                                       "module: pip install it), or name the plugin in SERASI_DISABLED_PLUGINS")
    forwarders = ", ".join(forwarder.name for forwarder in registry().forwarders) or "none"
    return Check("plugins", True, f"{len(loaded)} loaded" + (f" ({len(disabled)} disabled)" if disabled else "") +
                 f"; forwarders: {forwarders}")


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:300]
