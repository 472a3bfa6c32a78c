"""Helpers shared by the tests (kept apart from conftest so tests can import them)."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from serasi_web.accounts.services import create_user
from serasi_web.extensions import db
from serasi_web.lodgings.services import register_lodging
from serasi_web.offices.services import OfficeRow, replace_areas, upsert_office

REQUIRE_ALL = os.environ.get("SERASI_REQUIRE_ALL") == "1"
TEST_PASSWORD = "correct horse battery staple"


def skip_or_fail(reason: str):
    """Skip with ``reason``; under SERASI_REQUIRE_ALL=1 (CI) a skip is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"SERASI_REQUIRE_ALL=1 forbids skipping: {reason}")
    pytest.skip(reason)


@contextmanager
def running_worker(app, periodic: bool = False):
    """The worker's huey consumer (two threads) in this process, on the app's own queue, as
    ``flask serasi worker`` makes it: tasks the app enqueues run in the background and, with
    ``periodic``, huey's scheduler queues the periodic jobs when it starts and every minute
    after. Stopped, after its tasks finish, on leaving."""
    import signal

    from serasi_web.jobs import get_huey

    huey = get_huey(app)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    consumer = huey.create_consumer(workers=2, worker_type="thread", periodic=periodic, check_worker_health=False)
    consumer.start()  # sets its own signal handlers: pytest's are put back below
    try:
        yield huey
    finally:
        consumer.stop(graceful=True)
        for number, handler in handlers.items():
            signal.signal(number, handler)


def make_offices() -> dict:
    rows = {
        "jakarta_barat": OfficeRow("KANIM-JAKBAR", "Kanim Jakarta Barat", region_codes=["31.73"]),
        "ngurah_rai": OfficeRow("KANIM-NGURAH-RAI", "Kanim Ngurah Rai", region_codes=["51.03.01", "51.03.05", "51.03.06"]),
        "denpasar": OfficeRow("KANIM-DENPASAR", "Kanim Denpasar", region_codes=["51.71", "51.03.02", "51.03.03", "51.03.04"]),
    }
    offices = {}
    for key, row in rows.items():
        office = upsert_office(row)
        replace_areas(office, row.region_codes)
        offices[key] = office
    db.session.commit()
    return offices


def make_user(email: str, role: str = "operator", **extra):
    if role == "operator":
        extra.setdefault("account_kind", "lodging_business")
    user = create_user(email=email, password=TEST_PASSWORD, full_name=email.split("@")[0].title(), role=role, **extra)
    db.session.commit()
    return user


def login(client, email: str, password: str = TEST_PASSWORD):
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on ``path`` ("" when CSRF is off and the page has none)."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    return found.group(1) if found else ""


def search(client, path: str, query: str | dict = "", headers: dict | None = None):
    """Send a search form as a browser does: POST the criteria (a dict, or a query string such as
    ``"name=common&page=2"``) to ``path``, follow the redirect to the search's own address and
    return that page; a ``page`` is asked of the search's address, as its pager links do."""
    from urllib.parse import parse_qsl

    criteria = dict(parse_qsl(query, keep_blank_values=True)) if isinstance(query, str) else dict(query)
    page = criteria.pop("page", None)
    response = client.post(path, data=criteria, headers=headers or {}, follow_redirects=True)
    if page is not None and response.status_code == 200:
        response = client.get(response.request.path, query_string={"page": page}, headers=headers or {})
    return response


# Lodging addresses by the office that should receive them.
KUTA_SELATAN_JIMBARAN = dict(province_code="51", regency_code="51.03", district_code="51.03.05", village_code="51.03.05.1006")
MENGWI = dict(province_code="51", regency_code="51.03", district_code="51.03.02", village_code="51.03.02.2008")
DENPASAR_SANUR = dict(province_code="51", regency_code="51.71", district_code="51.71.01", village_code="51.71.01.1006")
KUTA_LEGIAN = dict(province_code="51", regency_code="51.03", district_code="51.03.01", village_code="51.03.01.1004")
JAKARTA_BARAT = dict(province_code="31", regency_code="31.73", district_code="31.73.01", village_code="31.73.01.1001")


def lodging_values(address: dict = KUTA_SELATAN_JIMBARAN, **overrides) -> dict:
    values = dict(
        name="Kos Melati", lodging_type="boarding_house", street_address="Jl. Uluwatu No. 12",
        postal_code="80362", nib="9120001234567", room_count=12, person_in_charge="Wayan", phone="0812 3456 7890",
        **address,
    )
    values.update(overrides)
    return values


def make_lodging(owner, address: dict = KUTA_SELATAN_JIMBARAN, **overrides):
    """Register a lodging through the service (``extra`` holds a plugin type's extra fields)."""
    return register_lodging(owner, lodging_values(address, **overrides))


def make_officer_area(owner):
    """Three verified lodgings of ``owner``: Villa Jimbaran and Hotel Legian in Kanim Ngurah Rai's
    area, Villa Sanur in Kanim Denpasar's (the ``offices`` fixture must exist)."""
    from types import SimpleNamespace

    lodgings = SimpleNamespace(
        jimbaran=make_lodging(owner, KUTA_SELATAN_JIMBARAN, name="Villa Jimbaran"),
        legian=make_lodging(owner, KUTA_LEGIAN, name="Hotel Legian"),
        sanur=make_lodging(owner, DENPASAR_SANUR, name="Villa Sanur"),
    )
    for lodging in vars(lodgings).values():
        lodging.status = "verified"
    db.session.commit()
    return lodgings


def local_now(zone: str = "Asia/Makassar", delta_hours: float = 0):
    """A naive local time string for datetime-local inputs (Bali is WITA, UTC+8)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    moment = datetime.now(ZoneInfo(zone)) + timedelta(hours=delta_hours)
    return moment.strftime("%Y-%m-%dT%H:%M")


def guest_form(**overrides) -> dict:
    """What an operator types into the report form for one adult guest (checked in an hour ago)."""
    from datetime import date, timedelta

    data = dict(
        surname="Eriksson", given_names="Anna María", sex="F", date_of_birth="1974-08-12", place_of_birth="Stockholm",
        nationality="SWE", document_type="passport", document_number="l8989 02c3", issuing_state="SWE",
        document_expiry=(date.today() + timedelta(days=2000)).isoformat(), entry_date=(date.today() - timedelta(days=3)).isoformat(), port_of_entry="Ngurah Rai", visa_index="C1",
        stay_permit="", permit_number="", permit_valid_until="", entry_stamp_qr="",
        check_in_at=local_now(delta_hours=-1), planned_check_out="", room="7", purpose="tourism", notes="",
        accompanying_stay_id="", action="submit",
    )
    data.update(overrides)
    return data


def report_guest(client, lodging, **overrides):
    """Submit a guest report through the form; returns the new stay's id."""
    response = client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(**overrides))
    assert response.status_code == 303, re.findall(r"class=\"(?:error|flash[^\"]*)\"[^>]*>([^<]*)", response.get_data(as_text=True))
    return int(response.location.rstrip("/").split("/")[-1])


@contextmanager
def recorded_statements():
    """The SQL statements the app runs inside the block (a list, filled as they run)."""
    statements: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def selects(statements: list[str]) -> list[str]:
    return [statement for statement in statements if statement.upper().startswith("SELECT")]


@contextmanager
def recorded_commits():
    """The transactions the app commits inside the block (a list, one entry per commit)."""
    commits: list[object] = []

    def record(connection):
        commits.append(connection)

    event.listen(db.engine, "commit", record)
    try:
        yield commits
    finally:
        event.remove(db.engine, "commit", record)


def refuse_upserts_of(monkeypatch, external_id: str) -> None:
    """Make the database "refuse" the stay ``external_id`` whenever ``sync.upsert`` writes it."""
    from serasi_web.stays import sync

    real_upsert = sync.upsert

    def upsert(lodging, source, refused_id, raw, actor_label, actor=None):
        if refused_id == external_id:
            raise RuntimeError("the database refused this stay")
        return real_upsert(lodging, source, refused_id, raw, actor_label, actor)

    monkeypatch.setattr(sync, "upsert", upsert)


def downgrade_the_core_one_revision() -> None:
    """``db downgrade -1`` for the core's branch alone (inside an app context): with a plugin's
    own branch installed (the example plugin's), a bare ``-1`` names no single revision."""
    from alembic.script import ScriptDirectory
    from flask import current_app
    from flask_migrate import downgrade

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    plugin_folders = current_app.extensions["serasi.plugin_migrations"]
    [core_head] = [head for head in script.get_heads()
                   if not any(script.get_revision(head).path.startswith(folder) for folder in plugin_folders)]
    downgrade(revision=f"{core_head}-1")


def make_unreadable_for_ever(path) -> None:
    """Replace a stored upload with a named pipe no one writes to: a reader that opens it waits
    for good, so a time limit is met for certain, however fast or loaded the machine is."""
    os.unlink(path)
    os.mkfifo(path, 0o600)
