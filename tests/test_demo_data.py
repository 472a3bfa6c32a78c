"""`flask serasi demo-data --stays N`: realistic reports in bulk, usable by the console at once."""
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from serasi_web.demo_data import NATIONALITY_MIX, generate
from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.stays.models import Stay, StayVersion
from serasi_web.stays.services import fold_name

from .helpers import login


def test_demo_data_makes_realistic_reports(app):
    result = generate(3000, days=120, seed=11)
    assert result.stays == 3000 == db.session.scalar(select(func.count()).select_from(Stay))
    assert result.lodgings >= 20 and result.versions == db.session.scalar(select(func.count()).select_from(StayVersion))
    stays = db.session.execute(select(Stay)).scalars().all()
    statuses = Counter(stay.status for stay in stays)
    assert statuses["checked_out"] > statuses["reported"] > 0 and statuses["voided"] >= 1
    nationalities = Counter(stay.nationality for stay in stays)
    assert nationalities.most_common(1)[0][0] == "AUS" and set(nationalities) <= set(NATIONALITY_MIX)
    reported = [stay for stay in stays if stay.reported_at is not None]
    late_share = sum(stay.late for stay in reported) / len(reported)
    assert 0.02 < late_share < 0.12
    assert all(stay.late == (stay.reported_at > stay.deadline_at) for stay in reported)
    assert all(1 <= (stay.planned_check_out - stay.check_in_at.date()).days <= 31 for stay in stays)
    assert all(stay.name_folded == fold_name(stay.given_names, stay.surname) for stay in stays)
    assert all(stay.receipt_number for stay in reported)
    # Some guests moved between lodgings, and some overstay.
    moved = db.session.execute(select(Stay.document_number).group_by(Stay.document_number, Stay.issuing_state)
                               .having(func.count(func.distinct(Stay.lodging_id)) > 1)).all()
    assert len(moved) > 50
    today = date.today()
    assert any(stay.status == "reported" and stay.permit_valid_until and stay.permit_valid_until < today for stay in stays)
    # Every stay has the version history the services would have written.
    for stay in stays[:200]:
        assert [version.version for version in stay.versions] == list(range(1, stay.version + 1))
        assert stay.versions[0].action in ("submitted", "created") and stay.versions[0].snapshot["surname"] == stay.surname
    assert db.session.scalar(select(func.count()).select_from(Lodging).where(Lodging.office_id.is_not(None))) >= 15


def test_demo_data_runs_twice_and_the_console_reads_it(app):
    generate(400, days=30, seed=1)
    generate(400, days=30, seed=1)  # receipt numbers and accounts never collide
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 800
    client = app.test_client()
    supervisor_password = None
    from serasi_web.demo import logins_file

    for line in logins_file().read_text().splitlines():
        role, email, password = line.split()
        if email == "timpora.kuta@serasi.test":
            supervisor_password = password
    login(client, "timpora.kuta@serasi.test", supervisor_password)
    for path in ("/officer/inbox", "/officer/stays?nationality=AUS", "/officer/watch/overstays", "/officer/statistics"):
        assert client.get(path).status_code == 200, path


def test_the_demo_data_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["serasi", "demo-data", "--stays", "250", "--days", "20", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "250 stays" in result.output
    assert runner.invoke(args=["serasi", "demo-data", "--stays", "0"]).exit_code != 0


def _stay_indexes() -> list[tuple[str, str]]:
    from sqlalchemy import text

    return db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('stay', 'stay_version') ORDER BY indexname")).all()


def test_a_bulk_load_on_postgresql_sets_the_indexes_aside_and_builds_them_again_even_when_interrupted(app):
    if db.engine.dialect.name != "postgresql":
        return  # SQLite always inserts row by row with its indexes (and FTS triggers) in place
    before = _stay_indexes()
    assert len(before) > 10
    result = generate(600, days=60, seed=4, bulk=True)
    assert result.stays == 600 == db.session.scalar(select(func.count()).select_from(Stay))
    assert result.versions == db.session.scalar(select(func.count()).select_from(StayVersion))
    assert _stay_indexes() == before
    # COPY wrote what the INSERT path writes: snapshots as JSON objects, defaults filled in.
    stay = db.session.scalars(select(Stay).order_by(Stay.id.desc())).first()
    assert stay.source == "form" and stay.versions[0].snapshot["surname"] == stay.surname

    def interrupt(done, total):
        if done >= 200:
            raise KeyboardInterrupt

    from serasi_web import demo_data

    original = demo_data.BATCH_SIZE
    demo_data.BATCH_SIZE = 100
    try:
        with pytest.raises(KeyboardInterrupt):
            generate(600, days=60, seed=5, bulk=True, progress=interrupt)
    finally:
        demo_data.BATCH_SIZE = original
    assert _stay_indexes() == before
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 800  # the batches written are kept


def test_the_logins_file_lists_this_databases_accounts_only(app):
    """A database made again (instance/serasi.db deleted) starts the file again: `make run` prints
    logins that work, not also those of the database before."""
    from serasi_web.demo import load_demo_data, logins_file

    path = logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("admin     admin@serasi.test                  from-a-deleted-database\n")
    load_demo_data()
    generate(50, days=10, seed=2)  # adds the supervisor's line to the same file
    lines = [line.split() for line in path.read_text().splitlines()]
    assert "from-a-deleted-database" not in path.read_text()
    assert [email for _role, email, _password in lines].count("admin@serasi.test") == 1
    assert "timpora.kuta@serasi.test" in [email for _role, email, _password in lines]
    client = app.test_client()
    password = next(password for _role, email, password in lines if email == "kos.jimbaran@serasi.test")
    login(client, "kos.jimbaran@serasi.test", password)  # asserts the login went through
