"""Helpers shared by the benchmarks: databases, seeding, gunicorn, an HTTP load generator.

Everything here talks to the app the way production does: the schema comes from the migrations,
accounts and lodgings from the app's own services, and requests go over HTTP to gunicorn.
"""
from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent  # gunicorn is installed next to the interpreter running us
HOST = "127.0.0.1"

POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
BENCH_DATABASE = "serasi_bench"
BENCH_PASSWORD = "bench password 2024"
# One key per benchmark run (shared by the workers). The server runs in development mode:
# production mode requires HTTPS (Secure cookies), which a plain-HTTP benchmark client cannot
# send back; nothing else differs between the modes.
SECRET_KEY = secrets.token_hex(32)

# Kuta Selatan (Badung, Bali): covered by the office we create, in the WITA zone (UTC+8).
LODGING_ADDRESS = dict(province_code="51", regency_code="51.03", district_code="51.03.05", village_code="51.03.05.1006")
LODGING_ZONE = ZoneInfo("Asia/Makassar")


# ---- databases --------------------------------------------------------------------------------

@contextmanager
def temp_folder(prefix: str = "serasi-bench-") -> Iterator[Path]:
    """A temporary folder (instance folder, SQLite file, logs), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'serasi.db'}"


def recreate_postgres_database(name: str = BENCH_DATABASE) -> str:
    """Drop and create the benchmark database; returns its SQLAlchemy URL."""
    if name in ("test", "postgres", "template0", "template1"):
        raise ValueError(f"refusing to recreate the database {name!r}")
    import psycopg

    # CREATE/DROP DATABASE cannot run inside a transaction: autocommit.
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_SERVER_URL}/{name}"


def make_app(database_url: str, instance: Path):
    """An app on ``database_url`` (for migrating, seeding and counting rows in this process)."""
    from serasi_web import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance),
        "SECRET_KEY": SECRET_KEY, "WTF_CSRF_ENABLED": False,
    })


def migrate(app) -> None:
    """Build the schema the only supported way: the Alembic migrations."""
    import logging

    from serasi_web.database import upgrade_schema

    with app.app_context():
        upgrade_schema()
    # Alembic's env.py reconfigures logging to INFO; keep our output to the figures.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def dispose(app) -> None:
    """Close this process's connections (before gunicorn starts and at the end)."""
    from serasi_web.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# ---- seeding ----------------------------------------------------------------------------------

@dataclass
class SeededOperator:
    user_id: int
    email: str
    password: str
    lodging_ids: list[int]


def _bench_office_and_officer():
    """The office covering Kuta Selatan and one of its officers (created once per database)."""
    from sqlalchemy import select

    from serasi_web.accounts.models import User
    from serasi_web.accounts.services import create_user
    from serasi_web.extensions import db
    from serasi_web.offices.services import OfficeRow, replace_areas, upsert_office

    officer = db.session.execute(select(User).where(User.email == "officer@bench.test")).scalar_one_or_none()
    if officer is not None:
        return officer
    office = upsert_office(OfficeRow("KANIM-NGURAH-RAI", "Kanim Ngurah Rai", region_codes=["51.03.05"]))
    replace_areas(office, ["51.03.01", "51.03.05", "51.03.06"])
    officer = create_user(email="officer@bench.test", password=BENCH_PASSWORD, full_name="Bench Officer",
                          role="officer", office_id=office.id)
    db.session.commit()
    return officer


def seed_operator(app, email: str, lodging_count: int = 1) -> SeededOperator:
    """An operator with ``lodging_count`` lodgings, each registered and verified by an officer
    through the app's services (so routing and statuses are what the app itself produces)."""
    from serasi_web.accounts.services import create_user
    from serasi_web.extensions import db
    from serasi_web.lodgings.services import decide, register_lodging

    with app.app_context():
        officer = _bench_office_and_officer()
        operator = create_user(email=email, password=BENCH_PASSWORD, full_name=email.split("@")[0].title(),
                               role="operator", account_kind="lodging_business")
        db.session.commit()
        lodging_ids = []
        for number in range(1, lodging_count + 1):
            lodging = register_lodging(operator, dict(
                name=f"Villa Bench {number}", lodging_type="villa", street_address=f"Jl. Uluwatu No. {number}",
                postal_code="80362", nib=f"91200012345{number:02d}", room_count=40, person_in_charge="Wayan",
                phone="0812 3456 7890", **LODGING_ADDRESS,
            ))
            if lodging.office_id is None:
                raise RuntimeError("the bench lodging was not routed to an office")
            decide(lodging, officer, verified=True)
            lodging_ids.append(lodging.id)
        result = SeededOperator(operator.id, operator.email, BENCH_PASSWORD, lodging_ids)
        db.session.remove()
    return result


# ---- gunicorn -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class GunicornServer:
    """gunicorn as a subprocess on a free loopback port; ``with`` starts it and stops it.

    ``args`` are gunicorn's own arguments (config file, workers...), ``env`` is added to the
    environment. Its output goes to ``log_path`` (a pipe nobody reads would fill up with the
    access log and block the workers).
    """

    def __init__(self, app_spec: str, args: list[str], env: dict[str, str], log_path: Path,
                 health_path: str = "/healthz", start_timeout: float = 60.0, cwd: Path = REPO_ROOT):
        self.app_spec, self.args, self.extra_env, self.cwd = app_spec, args, env, cwd
        self.log_path, self.health_path, self.start_timeout = log_path, health_path, start_timeout
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def bind(self) -> str:
        return f"{HOST}:{self.port}"

    def __enter__(self) -> "GunicornServer":
        env = dict(os.environ)
        # DATABASE_URL would silently win over SERASI_DATABASE_URL (read later): never inherit it.
        env.pop("DATABASE_URL", None)
        env.update({key: value.replace("{bind}", self.bind) for key, value in self.extra_env.items()})
        args = [arg.replace("{bind}", self.bind) for arg in self.args]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), *args, self.app_spec], cwd=self.cwd, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}:\n"
                                   + self.log_tail())
            connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                connection.request("GET", self.health_path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass  # not listening yet, or the worker is still booting
            finally:
                connection.close()
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {self.health_path} within {self.start_timeout:.0f} s:\n" + self.log_tail())

    def stop(self) -> None:
        """SIGTERM to the master (graceful: workers finish their request), SIGKILL after 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session: master and its workers
                self.process.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def serasi_server(database_url: str, workers: int, log_path: Path) -> GunicornServer:
    """The real app exactly as the README deploys it: ``gunicorn -c gunicorn.conf.py wsgi:app``."""
    return GunicornServer("wsgi:app", ["-c", "gunicorn.conf.py"], {
        "SERASI_SECRET_KEY": SECRET_KEY, "SERASI_DATABASE_URL": database_url,
        "SERASI_WORKERS": str(workers), "SERASI_BIND": "{bind}",
    }, log_path)


def bare_server(workers: int, log_path: Path) -> GunicornServer:
    """bench/bare_app.py with the settings of gunicorn.conf.py given on the command line.

    gunicorn.conf.py itself cannot serve it: its pre_fork hook disposes the SERASI database
    engine, which a Flask app without Flask-SQLAlchemy does not have. gunicorn also reads
    ./gunicorn.conf.py by itself when it exists, so this one runs from bench/.
    """
    return GunicornServer("bare_app:app", [
        "--bind", "{bind}", "--workers", str(workers), "--threads", "1", "--timeout", "60",
        "--access-logfile", "-", "--preload",
    ], {}, log_path, cwd=REPO_ROOT / "bench")


# ---- a small HTTP client with a cookie jar --------------------------------------------------------

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


class Browser:
    """One keep-alive connection with cookies, enough to log in and post forms.

    gunicorn's sync workers answer ``Connection: close``; http.client then reconnects by itself
    on the next request, exactly as a browser would.
    """

    def __init__(self, host: str, port: int, timeout: float = 60.0):
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.keep_cookies = True

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """Send one request; returns (status, headers, body bytes)."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if body is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a broken connection: the next request opens a new one
            raise
        if self.keep_cookies:
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def get(self, path: str):
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict):
        return self.request("POST", path, body=urlencode(fields).encode())

    def csrf_token(self, path: str) -> str:
        status, _, page = self.get(path)
        found = CSRF_PATTERN.search(page.decode("utf-8", "replace"))
        if status != 200 or not found:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {status})")
        return found.group(1)

    def login(self, email: str, password: str, totp_secret: str | None = None) -> None:
        """Log in; with ``totp_secret``, also the second step as staff must (``MFA_REQUIRED_ROLES``),
        with the code an authenticator app would show now."""
        token = self.csrf_token("/login")
        status, headers, page = self.post_form("/login", {"email": email, "password": password, "csrf_token": token})
        if status != 303:
            raise RuntimeError(f"login of {email} failed: HTTP {status}")
        if totp_secret is not None:
            import pyotp

            token = self.csrf_token("/login/code")
            status, headers, page = self.post_form("/login/code", {"code": pyotp.TOTP(totp_secret).now(), "csrf_token": token})
            if status != 303:
                raise RuntimeError(f"second login step of {email} failed: HTTP {status}")

    def close(self) -> None:
        self.connection.close()


def enable_two_step_login(email: str) -> str:
    """Turn two-step login on for the account ``email`` (inside an app context; as its owner
    would on the account page) and return its secret, for ``Browser.login``."""
    from sqlalchemy import select

    from serasi_web.accounts import mfa
    from serasi_web.accounts.models import User
    from serasi_web.database import utcnow
    from serasi_web.extensions import db

    user = db.session.execute(select(User).where(User.email == email)).scalar_one()
    row = mfa.enabled_totp(user) or mfa.pending_enrolment(user)
    row.enabled_at = row.enabled_at or utcnow()
    db.session.commit()
    return row.secret


# ---- the guest report -------------------------------------------------------------------------

def guest_report_fields(document_number: str, form_token: str, csrf_token: str, check_in: str) -> dict:
    """A complete valid report of one adult guest, as tests/helpers.py guest_form() posts it
    (24 form fields, plus csrf_token and the per-form form_token a browser sends back)."""
    today = date.today()
    return dict(
        csrf_token=csrf_token, form_token=form_token,
        surname="Eriksson", given_names="Anna María", sex="F", date_of_birth="1974-08-12", place_of_birth="Stockholm",
        nationality="SWE", document_type="passport", document_number=document_number, issuing_state="SWE",
        document_expiry=(today + timedelta(days=2000)).isoformat(), entry_date=(today - timedelta(days=3)).isoformat(),
        port_of_entry="Ngurah Rai", visa_index="C1", stay_permit="", permit_number="", permit_valid_until="",
        entry_stamp_qr="", check_in_at=check_in, planned_check_out="", room="7", purpose="tourism", notes="",
        accompanying_stay_id="", action="submit",
    )


def local_check_in(hours_ago: float = 1.0) -> str:
    """A check-in time as the lodging's datetime-local input sends it (Bali time)."""
    return (datetime.now(LODGING_ZONE) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M")


@dataclass
class GuestReportScenario:
    """POST complete guest reports to ``/lodgings/<id>/stays/new``, each with a unique document number.

    With ``email`` set the client logs in first (GET /login, POST /login) and then takes the
    CSRF token from the report form, because logging in starts a new session (and a new CSRF
    secret). After that the cookie is frozen: every successful report flashes a message into
    the session cookie, which a browser drops on the next page it opens; replaying the ever
    growing cookie would measure something no browser does.
    """

    lodging_id: int
    email: str | None = None
    password: str | None = None
    expected_status: int = 303
    document_prefix: str = "P"  # another per run against a kept database: a guest cannot be in twice

    @property
    def path(self) -> str:
        return f"/lodgings/{self.lodging_id}/stays/new"

    def prepare(self, browser: Browser, client_index: int) -> dict:
        csrf = ""
        if self.email:
            browser.login(self.email, self.password)
            csrf = browser.csrf_token(self.path)
        browser.keep_cookies = False
        return {"client": client_index, "csrf": csrf, "check_in": local_check_in()}

    def request(self, state: dict, sequence: int) -> tuple[str, str, bytes]:
        # prefix + client (2 digits) + sequence (8 digits): unique in the run, valid for the form.
        document = f"{self.document_prefix}{state['client']:02d}{sequence:08d}"
        fields = guest_report_fields(document, secrets.token_urlsafe(32), state["csrf"], state["check_in"])
        return "POST", self.path, urlencode(fields).encode()


# ---- the load generator -----------------------------------------------------------------------

@dataclass
class ClientResult:
    requests: int = 0  # everything sent, warm-up included
    successes: int = 0  # answers with the expected status, warm-up included
    errors: int = 0
    measured_successes: int = 0  # completed inside the measured window
    measured_errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, measured window only
    error_kinds: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    failure: str = ""  # the client could not start (login failed...)


@dataclass
class LoadResult:
    clients: int
    seconds: float
    warmup: float
    results: list[ClientResult]

    @property
    def successes(self) -> int:
        return sum(r.successes for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    @property
    def measured_successes(self) -> int:
        return sum(r.measured_successes for r in self.results)

    @property
    def measured_errors(self) -> int:
        return sum(r.measured_errors for r in self.results)

    @property
    def requests_per_second(self) -> float:
        """Successful answers per second in the measured window."""
        return self.measured_successes / self.seconds

    @property
    def latencies(self) -> list[float]:
        return sorted(value for r in self.results for value in r.latencies)

    @property
    def error_kinds(self) -> Counter:
        total = Counter()
        for r in self.results:
            total.update(r.error_kinds)
        return total

    @property
    def failures(self) -> list[str]:
        return [r.failure for r in self.results if r.failure]


def _client_main(scenario, client_index: int, port: int, warmup: float, seconds: float, barrier, queue) -> None:
    """One load-generating process: prepare (log in), wait for the others, then send requests
    back to back for warm-up + measured seconds. Only requests completing inside the measured
    window count for requests/s and latency; every answer counts for the totals."""
    result = ClientResult()
    browser = Browser(HOST, port)
    try:
        state = scenario.prepare(browser, client_index)
    except Exception:  # reported, not raised: the parent must not wait for us forever
        result.failure = traceback.format_exc(limit=3)
        barrier.abort()
        queue.put(result)
        return
    try:
        barrier.wait(timeout=120)
    except Exception:
        result.failure = "another client failed to start"
        queue.put(result)
        return
    measured_from = time.perf_counter() + warmup
    until = measured_from + seconds
    sequence = 0
    while True:
        started = time.perf_counter()
        if started >= until:
            break
        sequence += 1
        method, path, body = scenario.request(state, sequence)
        result.requests += 1
        try:
            status, _, data = browser.request(method, path, body=body)
            ok = status == scenario.expected_status
            kind = f"HTTP {status}"
        except (http.client.HTTPException, OSError) as error:
            ok, kind, data = False, type(error).__name__, str(error).encode()
        finished = time.perf_counter()
        measured = measured_from <= finished < until
        if ok:
            result.successes += 1
            if measured:
                result.measured_successes += 1
        else:
            result.errors += 1
            result.error_kinds[kind] += 1
            if len(result.error_samples) < 3:
                result.error_samples.append(f"{kind}: {_visible_text(data)[:300]}")
            if measured:
                result.measured_errors += 1
        if measured:
            result.latencies.append(finished - started)
    browser.close()
    queue.put(result)


def _visible_text(data: bytes) -> str:
    """The error messages of an HTML answer, or its beginning."""
    text = data.decode("utf-8", "replace")
    messages = re.findall(r'class="(?:error|flash[^"]*)"[^>]*>([^<]+)', text)
    return " | ".join(m.strip() for m in messages) if messages else " ".join(text.split())


def run_load(port: int, scenario, clients: int, seconds: float, warmup: float = 2.0) -> LoadResult:
    """Drive ``scenario`` from ``clients`` processes (each one connection, one request at a time).

    Processes rather than threads: one Python thread could not generate enough load, and the
    generator must not be the bottleneck it measures. They are spawned (not forked) so they
    share nothing with this process's database connections.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients)
    queue = context.Queue()
    processes = [context.Process(target=_client_main, args=(scenario, index, port, warmup, seconds, barrier, queue),
                                 daemon=True) for index in range(clients)]
    for process in processes:
        process.start()
    results = []
    # Bounded: login (argon2) + warm-up + measured time + the slowest request, with margin.
    deadline = time.monotonic() + 180 + warmup + seconds
    while len(results) < clients and time.monotonic() < deadline:
        try:
            results.append(queue.get(timeout=1))
        except Exception:
            if not any(p.is_alive() for p in processes) and queue.empty():
                break
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    if len(results) < clients:
        results.extend(ClientResult(failure="client process gave no result") for _ in range(clients - len(results)))
    return LoadResult(clients, seconds, warmup, results)


# ---- the machine ----------------------------------------------------------------------------

def machine_description(database_url: str | None = None) -> str:
    """CPU, memory, versions and the load average before we start (other work skews figures)."""
    import platform
    import sqlite3

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal"))
        memory = f"{memory_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory = "? GiB"
    load = os.getloadavg()
    text = (f"{os.cpu_count()} x {cpu}, {memory}; Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if database_url and database_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
        text += f"; PostgreSQL {version.split()[0]}"
    if load[0] > 0.5:
        text += "\nWARNING: the machine is busy before we start; figures will be lower than on an idle machine."
    return text


# ---- statistics -------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100) by linear interpolation; ``values`` need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"
