"""The console reads from a real PostgreSQL streaming replica, and falls back to the primary.

The test starts its own primary cluster and a standby made from it with ``pg_basebackup`` (each on
its own port, in a temporary folder), so nothing of the machine's PostgreSQL is changed. It runs
once, not per database: it is PostgreSQL's replication that it proves.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from serasi_web import create_app
from serasi_web.extensions import db

from .conftest import BASE_CONFIG, RequestIsolatedClient
from .helpers import (
    login,
    make_lodging,
    make_offices,
    make_user,
    report_guest,
    search,
    skip_or_fail,
)


def _postgres_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "pg_basebackup").exists() and (folder / "initdb").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], *, as_postgres: bool) -> None:
    # PostgreSQL refuses to run as root: a root test run starts the clusters as the postgres user.
    if as_postgres:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}"


@pytest.fixture(scope="module")
def replicated_postgres():
    """``(primary_url, replica_url, run_sql_on_replica, stop_replica)`` of a fresh primary and its
    streaming standby."""
    binaries = _postgres_bin()
    if binaries is None:
        skip_or_fail("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    as_postgres = os.geteuid() == 0
    # Not under pytest's temporary folder: that one is private to the user running the tests, and
    # the clusters run as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="serasi-replication-"))
    folder.chmod(0o755)
    primary_dir, replica_dir = folder / "primary", folder / "replica"
    if as_postgres:
        shutil.chown(folder, "postgres")
    primary_port, replica_port = _free_port(), _free_port()
    _run([str(binaries / "initdb"), "-D", str(primary_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"], as_postgres=as_postgres)
    settings = (f"port = {primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off\n")
    (primary_dir / "postgresql.auto.conf").write_text(settings)
    started = []
    try:
        _run([str(binaries / "pg_ctl"), "-D", str(primary_dir), "-l", str(folder / "primary.log"), "-w", "start"], as_postgres=as_postgres)
        started.append(primary_dir)
        _run([str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
              "-D", str(replica_dir), "-R", "-X", "stream"], as_postgres=as_postgres)
        with (replica_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {replica_port}\n")
        _run([str(binaries / "pg_ctl"), "-D", str(replica_dir), "-l", str(folder / "replica.log"), "-w", "start"], as_postgres=as_postgres)
        started.append(replica_dir)

        def stop_replica():
            _run([str(binaries / "pg_ctl"), "-D", str(replica_dir), "-m", "immediate", "-w", "stop"], as_postgres=as_postgres)
            started.remove(replica_dir)

        replica_url = f"postgresql+psycopg://postgres@127.0.0.1:{replica_port}/postgres"

        def on_replica(sql: str):
            engine = create_engine(replica_url)
            try:
                with engine.connect() as connection:
                    return connection.execute(text(sql)).scalar()
            finally:
                engine.dispose()

        yield f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/postgres", replica_url, on_replica, stop_replica
    finally:
        for data_dir in reversed(started):
            _run([str(binaries / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"], as_postgres=as_postgres)
        shutil.rmtree(folder, ignore_errors=True)


def _caught_up(primary_url: str, on_replica) -> None:
    engine = create_engine(primary_url)
    with engine.connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    engine.dispose()
    deadline = time.monotonic() + 30
    while on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is not True:
        assert time.monotonic() < deadline, "the replica did not catch up in 30 s"
        time.sleep(0.1)


def _app(primary_url: str, replica_url: str, tmp_path, **overrides):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": primary_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_REPLICA_URL": replica_url, "REPLICA_CHECK_SECONDS": 0, **overrides})
    app.test_client_class = RequestIsolatedClient
    return app


def test_the_console_reads_the_replica_falls_back_when_it_lags_or_stops_and_shows_your_own_writes(replicated_postgres, tmp_path):
    from serasi_web.database import upgrade_schema

    primary_url, replica_url, on_replica, stop_replica = replicated_postgres
    app = _app(primary_url, replica_url, tmp_path, REPLICA_MAX_LAG_SECONDS=3600)
    strict = _app(primary_url, replica_url, tmp_path, REPLICA_MAX_LAG_SECONDS=1)
    with app.app_context():
        upgrade_schema()
        offices = make_offices()
        operator = make_user("operator@example.com")
        officer = make_user("officer.ngurahrai@example.com", role="officer", office_id=offices["ngurah_rai"].id)
        lodging = make_lodging(operator)
        lodging.status = "verified"
        db.session.commit()
        operator_client, officer_client, strict_officer = app.test_client(), app.test_client(), strict.test_client()
        login(operator_client, operator.email)
        login(officer_client, officer.email)
        with strict.app_context():
            login(strict_officer, officer.email)
        report_guest(operator_client, lodging, surname="Lindqvist")
        _caught_up(primary_url, on_replica)
        assert officer_client.get("/healthz").get_json()["replica"] == "ok"
        assert "LINDQVIST" in search(officer_client, "/officer/stays", "name=Lindqvist").get_data(as_text=True).upper()

        # Replay stops: a report made now is on the primary only. The console (lag allowed: an
        # hour) reads the replica, so it does not show it yet: proof that its reads go there.
        on_replica("SELECT pg_wal_replay_pause()::text")
        halvorsen = report_guest(operator_client, lodging, surname="Halvorsen", document_number="P7712093")
        time.sleep(1.5)
        assert officer_client.get(f"/officer/stays/{halvorsen}").status_code == 404

        # The officer's own write (marking the inbox seen) is read back at once from the primary.
        answer = officer_client.post("/officer/inbox/seen", data={"until": datetime.now(UTC).isoformat()})
        assert answer.status_code in (302, 303)
        page = officer_client.get(f"/officer/stays/{halvorsen}")
        assert page.status_code == 200 and "HALVORSEN" in page.get_data(as_text=True).upper()

        # An app that allows one second of lag: the paused replica is now too far behind, the
        # console reads the primary and /healthz says so.
        with strict.app_context():
            health = strict_officer.get("/healthz")
            assert health.status_code == 200
            body = health.get_json()
            assert (body["status"], body["replica"]) == ("degraded", "lagging")
            assert body["replica_lag_seconds"] >= 1
            assert "HALVORSEN" in search(strict_officer, "/officer/stays", "name=Halvorsen").get_data(as_text=True).upper()

        on_replica("SELECT pg_wal_replay_resume()::text")
        _caught_up(primary_url, on_replica)
        with strict.app_context():
            body = strict_officer.get("/healthz").get_json()
            assert (body["status"], body["replica"], body["replica_lag_seconds"]) == ("ok", "ok", 0)

        # The replica stops: the console goes on from the primary; /healthz says the replica is down.
        stop_replica()
        page = search(officer_client, "/officer/stays", "name=Halvorsen")
        assert page.status_code == 200 and "HALVORSEN" in page.get_data(as_text=True).upper()
        body = officer_client.get("/healthz").get_json()
        assert (body["status"], body["replica"]) == ("degraded", "down")
        assert "cannot be used" in officer_client.get("/healthz", headers={"Accept": "text/html", "Accept-Language": "en"}).get_data(as_text=True)
        db.session.remove()
    for each in (app, strict):
        with each.app_context():
            db.engine.dispose()
            each.extensions["serasi.replica"].engine.dispose()


def test_a_replica_needs_postgresql_as_the_main_database(tmp_path):
    from serasi_web.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="SQLite has no replicas"):
        create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                    "DATABASE_REPLICA_URL": "postgresql://postgres@127.0.0.1:1/none"})
