"""The access log of gunicorn (run with our gunicorn.conf.py) keeps no query string and no
Referer: a search by name or document number in a URL does not land in it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ..conftest import BASE_CONFIG
from ..test_forwarders import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_access_log_has_no_query_strings_or_referers(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "SERASI_DATABASE_URL": database_url, "SERASI_SECRET_KEY": BASE_CONFIG["SECRET_KEY"],
           "SERASI_BIND": f"127.0.0.1:{port}", "SERASI_WORKERS": "1", "SERASI_HUEY_SQLITE_PATH": str(tmp_path / "huey.db")}
    env.pop("SERASI_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.1)  # polling for a port to open, not synchronising with our own code
        response = requests.get(base + "/login", params={"next": "/stays?q=Tanaka Hiroshi&document=TK1234567"},
                                headers={"Referer": f"{base}/officer/stays?name=Nguyen+Thi+Mai"}, timeout=5)
        assert response.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        log, _ = server.communicate(timeout=30)
    request_lines = [line for line in log.splitlines() if '"GET /login HTTP/1.1" 200' in line]
    assert request_lines, log[-2000:]
    for secret in ("Tanaka", "TK1234567", "Nguyen", "next="):
        assert secret not in log
