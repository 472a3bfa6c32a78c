"""Install and run SERASI Web the way a regional office does (docs/deploy.md), for real:

a wheel built from this checkout, installed (not editable, no dev extras, with the tested
constraints) into a fresh venv, run from an empty folder against PostgreSQL in production mode:
``db upgrade``, ``create-admin``, ``serve`` (gunicorn) and ``worker``, behind nginx from Debian's
package with a self-signed certificate and the site file of ``deploy/nginx/serasi.conf``. A report
submitted over HTTPS is delivered to a local webhook receiver by the worker.

Slow (a build and an install): it runs once, on PostgreSQL, not per database.
"""
from __future__ import annotations

import json
import os
import re
import base64
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .helpers import guest_form, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
DEPLOY_DATABASE = "serasi_deploy_check"
WEBHOOK_SECRET = "webhook-" + secrets.token_hex(16)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - not up yet
            last = error
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout} s (last error: {last})")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv with the wheel and its constraints only; returns its bin folder."""
    if not POSTGRES_URL:
        skip_or_fail("SERASI_TEST_DATABASE_URL is not set: the deployment check runs on PostgreSQL")
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(folder / "dist"), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=900)
    wheel = next((folder / "dist").glob("serasi_web-*.whl"))
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # Without PYTHONPATH: the checkout on it (tests/t.sh sets it) holds the build's egg-info, and
    # pip would take serasi-web for installed already and leave the venv without it.
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    pip = subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel),
                          "-c", str(ROOT / "deploy/constraints.txt")], capture_output=True, text=True, timeout=900, env=clean)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin"


def test_the_constraints_pin_everything_the_wheel_installs(installed):
    frozen = subprocess.run([str(installed / "pip"), "freeze", "--all", "--exclude-editable"], capture_output=True, text=True,
                            check=True).stdout.split()
    pins = {line.split("==")[0].lower().replace("_", "-") for line in (ROOT / "deploy/constraints.txt").read_text().split()
            if "==" in line}
    installed_names = {line.split("==")[0].lower().replace("_", "-") for line in frozen if "==" in line}
    unpinned = installed_names - pins - {"serasi-web", "pip", "setuptools", "wheel"}
    assert not unpinned, f"not in deploy/constraints.txt (run make constraints): {sorted(unpinned)}"


class _Receiver(BaseHTTPRequestHandler):
    events: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.events.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def deploy_database():
    server = make_url(POSTGRES_URL)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DEPLOY_DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DEPLOY_DATABASE}"'))
    url = server.set(database=DEPLOY_DATABASE).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DEPLOY_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def _nginx_site(tmp: Path, http_port: int, https_port: int, app_port: int, static: str) -> Path:
    """deploy/nginx/serasi.conf with this machine's ports, certificate and static folder."""
    site = (ROOT / "deploy/nginx/serasi.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/serasi/fullchain.pem": str(tmp / "cert.pem"),
        "/etc/ssl/serasi/privkey.pem": str(tmp / "key.pem"),
        "alias /opt/serasi/static/;": f"alias {static}/;",
        # On 443 $host is what the browser sent; on this test's own port it would lose the port,
        # and the CSRF check compares the Referer with the host, port included.
        "proxy_set_header Host $host;": "proxy_set_header Host $http_host;",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/serasi.conf no longer has {old!r}: update this test and docs/deploy.md"
        site = site.replace(old, new)
    (tmp / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
    uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
    return tmp / "nginx.conf"


def test_an_office_installs_runs_and_delivers_behind_nginx(installed, deploy_database, tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or not shutil.which("openssl"):
        skip_or_fail("nginx or openssl is missing (apt-get install nginx openssl; make test installs them as root)")
    http_port, https_port, app_port, hook_port = (_free_port() for _ in range(4))
    workdir = tmp_path / "office"  # an empty folder: nothing of the checkout is reachable from here
    workdir.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True, timeout=120)
    # The office's receiving system, over HTTPS (production sends nowhere else) with a private CA.
    receiver = ThreadingHTTPServer(("127.0.0.1", hook_port), _Receiver)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    receiver.socket = tls.wrap_socket(receiver.socket, server_side=True)
    _Receiver.events = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SERASI_", "FLASK_", "PYTHON"))}
    env.update({
        "SERASI_ENV": "production", "SERASI_SECRET_KEY": secrets.token_hex(32),
        "SERASI_SOURCE_CREDENTIALS_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "SERASI_PUBLIC_URL": f"https://127.0.0.1:{https_port}", "SERASI_DATABASE_URL": deploy_database,
        "SERASI_INSTANCE_PATH": str(workdir / "instance"), "SERASI_TRUSTED_PROXY_COUNT": "1",
        "SERASI_BIND": f"127.0.0.1:{app_port}", "SERASI_WORKERS": "2",
        "SERASI_WEBHOOK_URL": f"https://127.0.0.1:{hook_port}/serasi", "SERASI_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # The receiver is on this machine (a loopback address is refused unless listed) and its
        # certificate is from a private CA, trusted the way requests documents it.
        "SERASI_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1", "REQUESTS_CA_BUNDLE": str(tmp_path / "cert.pem"),
        "SERASI_DELIVERY_POLL_SECONDS": "0.2", "SERASI_ADMIN_PASSWORD": "an admin passphrase 2026",
    })
    console = str(installed / "serasi-web")

    def run(*args: str) -> str:
        result = subprocess.run([console, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"serasi-web {' '.join(args)}: {result.stderr[-2000:]}"
        return result.stdout

    # Before the schema exists, serving refuses with the fix to apply.
    early = subprocess.run([console, "serve"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert early.returncode != 0 and "serasi-web db upgrade" in early.stderr
    run("db", "upgrade")
    heads = run("db", "heads")  # the bundled plugins' own branches travel in the wheel
    for head in ("push_api_0002", "spreadsheet_import_0001", "company_mess_0003"):
        assert head in heads, heads
    run("create-admin", "admin@kanim.example.go.id", "--name", "Admin Kanim")
    listing = run("plugins")
    for module in ("plugins.lodging_types", "plugins.push_api", "plugins.spreadsheet_import", "plugins.company_mess",
                   "plugins.zxing_decoder", "plugins.zbar_decoder", "plugins.mrz_payload", "plugins.labelled_payload",
                   "plugins.forwarders"):
        assert re.search(rf"^plugin\s+{re.escape(module)}$", listing, re.M), listing
    assert re.search(r"^forwarder\s+webhook \(configured\)$", listing, re.M), listing
    doctor = run("doctor")  # every check of docs/deploy.md step 8 passes on this setup
    assert "No problems found." in doctor and "PROBLEM" not in doctor, doctor
    run("demo")  # offices, an operator and a verified lodging to report at
    operator_password = re.search(r"kos\.jimbaran@serasi\.test\s+(\S+)", (workdir / "instance/demo-logins.txt").read_text()).group(1)
    static = run("static-folder").strip()
    assert "site-packages" in static  # the installed package's files, not the checkout's

    nginx_conf = _nginx_site(tmp_path, http_port, https_port, app_port, static)
    processes, logs = [], {name: open(tmp_path / f"{name}.log", "w") for name in ("serve", "worker", "nginx")}
    try:
        processes.append(subprocess.Popen([console, "serve"], cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                                          stderr=logs["serve"], start_new_session=True))
        processes.append(subprocess.Popen([console, "worker", "--no-periodic"], cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                                          stderr=logs["worker"], start_new_session=True))
        processes.append(subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(nginx_conf), "-g", "daemon off;"],
                                          stderr=logs["nginx"], start_new_session=True))
        https = f"https://127.0.0.1:{https_port}"
        browser = requests.Session()
        browser.trust_env = False  # the machine's proxy and CA settings must not stand in for ours
        browser.verify = str(tmp_path / "cert.pem")
        browser.headers["Referer"] = f"{https}/"  # as a browser sends it (Flask-WTF checks it over HTTPS)
        health = _wait_for(lambda: browser.get(f"{https}/healthz", timeout=5), 60, "HTTPS /healthz through nginx")
        assert health.status_code == 200 and health.json()["status"] == "ok", (health.text, (tmp_path / "serve.log").read_text()[-2000:])
        assert health.headers["Strict-Transport-Security"].startswith("max-age=31536000")

        plain = browser.get(f"http://127.0.0.1:{http_port}/login?next=/stays", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"] == "https://127.0.0.1/login?next=/stays"

        css = browser.get(f"{https}/static/style.css", timeout=5)
        assert css.status_code == 200 and "public" in css.headers.get("Cache-Control", "") and css.headers.get("Expires")
        assert "immutable" not in css.headers["Cache-Control"] and css.headers.get("Content-Encoding") == "gzip"
        # The page links it with its content hash: that URL is kept a year.
        login_page = browser.get(f"{https}/login", timeout=5)
        versioned = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', login_page.text).group(1)
        css = browser.get(https + versioned, timeout=5)
        assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"] and "max-age=31536000" in css.headers["Cache-Control"]
        assert login_page.headers.get("Content-Encoding") == "br" and "no-store" not in css.headers["Cache-Control"]  # the app's Brotli, passed through

        # The client address the app sees is nginx's view of the client, never a forged header.
        login_page = browser.get(f"{https}/login", timeout=5)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page.text).group(1)
        refused = browser.post(f"{https}/login", data={"csrf_token": token, "email": "nobody@example.com", "password": "wrong password"},
                               headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False, timeout=10)
        assert refused.status_code in (200, 422)
        engine = create_engine(deploy_database)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT remote_addr FROM login_failure")).scalars().all() == ["127.0.0.1"]

        # The operator reports a guest over HTTPS (Secure session cookie, CSRF, production settings).
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', browser.get(f"{https}/login", timeout=5).text).group(1)
        logged_in = browser.post(f"{https}/login", data={"csrf_token": token, "email": "kos.jimbaran@serasi.test",
                                                          "password": operator_password}, allow_redirects=False, timeout=10)
        assert logged_in.status_code in (302, 303), logged_in.text[-1000:]
        assert any(cookie.secure for cookie in browser.cookies)
        with engine.connect() as connection:
            lodging_id = connection.execute(text("SELECT id FROM lodging WHERE name = 'Kos Melati Jimbaran'")).scalar_one()
        form_page = browser.get(f"{https}/lodgings/{lodging_id}/stays/new", timeout=10)
        assert form_page.status_code == 200
        form = guest_form(check_in_at=_wita_an_hour_ago())
        form["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form_page.text).group(1)
        form["form_token"] = re.search(r'name="form_token" type="hidden" value="([^"]+)"', form_page.text).group(1)
        reported = browser.post(f"{https}/lodgings/{lodging_id}/stays/new", data=form, allow_redirects=False, timeout=30)
        assert reported.status_code == 303, reported.text[-2000:]
        stay_page = browser.get(https + reported.headers["Location"] if reported.headers["Location"].startswith("/")
                                else reported.headers["Location"], timeout=10)
        receipt_number = re.search(r"STT-[A-Z0-9-]+", stay_page.text).group(0)

        # The worker delivers it to the webhook, signed.
        headers, body = _wait_for(lambda: _Receiver.events and _Receiver.events[0], 60, "the webhook delivery")
        event = json.loads(body)
        assert event["event"] == "reported" and event["stay"]["receipt_number"] == receipt_number
        from plugins.forwarders.webhook import verify_signature

        assert verify_signature(WEBHOOK_SECRET, headers["X-Serasi-Timestamp"], body, headers["X-Serasi-Signature"])

        # The nightly backup of deploy/systemd/serasi-backup.service, while the app runs.
        (tmp_path / "backups").mkdir()
        assert "Backup written to" in run("backup", "--output", str(tmp_path / "backups"))
        assert len(list((tmp_path / "backups").glob("serasi-backup-*.tar.gz"))) == 1
        engine.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        receiver.shutdown()
        receiver.server_close()
        for log in logs.values():
            log.close()


def _wita_an_hour_ago() -> str:
    from .helpers import local_now

    return local_now(delta_hours=-1)
