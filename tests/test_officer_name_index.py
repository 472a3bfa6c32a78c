"""An officer finds guests by part of their name however the stays were written (the report form,
a bulk insert, a correction, a deletion), and every route a name search can take on SQLite (the
trigram index of migration 0008, the newest check-ins, the (lodging, name) index) gives exactly
the pages the plain query gives, which is also what PostgreSQL answers."""
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask_migrate import downgrade
from sqlalchemy import delete, inspect, insert, select, text

from serasi_web.database import upgrade_schema
from serasi_web.extensions import db
from serasi_web.officer import queries
from serasi_web.stays.models import Stay
from serasi_web.stays.services import fold_name

from .helpers import local_now, make_officer_area, report_guest, search

EN = {"Accept-Language": "en"}
NAME_INDEX_TRIGGERS = {"stay_name_fts_after_insert", "stay_name_fts_after_update", "stay_name_fts_after_delete"}


@pytest.fixture
def area(app, operator, offices):
    """Villa Jimbaran and Hotel Legian (Kanim Ngurah Rai), Villa Sanur (Kanim Denpasar), verified."""
    return make_officer_area(operator)


def bulk_copies(model_stay_id: int, guests: list[dict]) -> list[int]:
    """Stays written as a bulk import writes them: one Core INSERT of many rows, no ORM, no Python
    hook; each a copy of ``model_stay_id`` with the given surname, given names, lodging, hours ago."""
    model = dict(db.session.execute(select(Stay.__table__).where(Stay.id == model_stay_id)).mappings().one())
    rows = []
    for number, guest in enumerate(guests):
        row = {key: value for key, value in model.items() if key != "id"}
        check_in = datetime.now(timezone.utc) - timedelta(hours=guest["hours_ago"])
        row.update(surname=guest["surname"], given_names=guest.get("given_names", ""),
                   name_folded=fold_name(guest.get("given_names", ""), guest["surname"]),
                   lodging_id=guest.get("lodging_id", model["lodging_id"]), document_number=f"BK{number:07d}",
                   receipt_number=None, form_token=None, check_in_at=check_in, reported_at=check_in, deadline_at=check_in)
        rows.append(row)
    db.session.execute(insert(Stay.__table__), rows)
    db.session.commit()
    return db.session.scalars(select(Stay.id).where(Stay.document_number.like("BK%")).order_by(Stay.document_number)).all()


@pytest.fixture
def guests(area, operator_client):
    """Five "Common" guests and a rare one through the form; through a bulk insert a German, two
    names with LIKE's wildcards in them (and one without, that a wildcard would match), a name
    with a double quote, a "Common" guest of Kanim Denpasar and one written to be deleted."""
    form_ids = [report_guest(operator_client, area.jimbaran, surname=f"Common {letter}", given_names="Sam",
                             document_number=f"CM{number:07d}", check_in_at=local_now(delta_hours=-1 - number))
                for number, letter in enumerate("abcde")]
    rare = report_guest(operator_client, area.legian, surname="Rareperson", document_number="RP1234567",
                        check_in_at=local_now(delta_hours=-30))
    bulk_ids = bulk_copies(form_ids[0], [
        dict(surname="Müller", given_names="Jürgen", hours_ago=2.5),
        dict(surname="Per%cent", given_names="Under_Score", hours_ago=3.5),
        dict(surname="Perxcent", given_names="Underxscore", hours_ago=4.5),
        dict(surname='O"Brien', given_names="Siobhán", hours_ago=5.5, lodging_id=area.legian.id),
        dict(surname="Common z", given_names="Sam", hours_ago=0.5, lodging_id=area.sanur.id),
        dict(surname="Gonetomorrow", hours_ago=6.5),
    ])
    return SimpleNamespace(form=form_ids, rare=rare, bulk=bulk_ids)


def results(client, query: str) -> str:
    page = search(client, "/officer/stays", query, headers=EN).get_data(as_text=True)
    # Each search sent again gets its own id: the pages must match but for it.
    return re.sub(r"/s/[\w-]+", "/s/<id>", page.split('id="results"', 1)[1].split("</main>")[0])


# Each route alone, by how its thresholds are set: (RECENT_WINDOW, FEW_NAME_MATCHES, whether the
# trigram index or the (lodging, name) index answers after the newest check-ins).
ROUTES = {
    # What the search gives without any route: the query walked in full (PostgreSQL's answer too).
    "plain query": (10**9, 0, True),
    # The trigram index alone (a name with few stays).
    "trigram index": (10**9, 10**9, True),
    # The newest check-in only, then the trigram index (the (lodging, name) index for short words).
    "newest check-ins, then the trigram index": (1, 0, True),
    # The newest check-in only, then the (lodging, name) index of the scope's lodgings.
    "newest check-ins, then the (lodging, name) index": (1, 0, False),
    # The newest check-in only, then whichever index costs less by the estimate.
    "newest check-ins, then the cheaper index": (1, 0, None),
}
NAME_QUERIES = [
    "name=common", "name=common&page=2", "name=common&page=3", "name=common&page=4", "name=COMMON+sam",
    "name=common+e",  # a word too short for the index, with one long enough
    "name=co+e", "name=mm", "name=on+sa",  # every word too short for the index
    "name=rareperson", "name=nobody", "name=ommo",
    "name=MÜLLER", "name=jurgen+mull",
    "name=r%25c", "name=r_s", "name=er%25cent", "name=_sc", "name=rxc",  # % and _ are letters here
    "name=o%22brien", "name=%22br", "name=siobhan+%22",
    "name=comm%00on", "name=common+%00sam",  # a NUL: PostgreSQL refuses it, FTS5 would stop at it
    "name=common&region=51.03.05", "name=common&status=reported", "name=common&nationality=SWE",
    "name=common&status=voided",
]


def test_every_route_of_a_name_search_gives_the_same_pages(officer_client, guests, app, monkeypatch):
    app.config["PAGE_SIZE"] = 2
    pages, estimate = {}, queries._index_beats_scan
    for route, (window, few, index_beats_scan) in ROUTES.items():
        monkeypatch.setattr(queries, "RECENT_WINDOW", window)
        monkeypatch.setattr(queries, "FEW_NAME_MATCHES", few)
        monkeypatch.setattr(queries, "_index_beats_scan", estimate if index_beats_scan is None
                            else lambda *_args, answer=index_beats_scan: answer)
        pages[route] = [results(officer_client, query) for query in NAME_QUERIES]
    reference = pages.pop("plain query")
    for route, found in pages.items():
        differing = [query for query, mine, expected in zip(NAME_QUERIES, found, reference) if mine != expected]
        assert not differing, f"{route} differs from the plain query for {differing}"

    shown = dict(zip(NAME_QUERIES, reference))
    assert "Common a" in shown["name=common"] and "Common c" in shown["name=common&page=2"]
    assert "Common e" in shown["name=common&page=3"] and "No report matches" in shown["name=common&page=4"]
    assert "Common z" not in "".join(reference)  # Kanim Denpasar's guest
    assert "Common e" in shown["name=common+e"] and "Common d" not in shown["name=common+e"]
    assert "Per%cent" in shown["name=co+e"]  # "under_score per%cent" has both
    assert "Rareperson" in shown["name=rareperson"] and "No report matches" in shown["name=nobody"]
    assert "Müller" in shown["name=MÜLLER"] and "Müller" in shown["name=jurgen+mull"]
    for query in ("name=r%25c", "name=r_s", "name=er%25cent", "name=_sc"):
        assert "Per%cent" in shown[query] and "Perxcent" not in shown[query], query
    assert "Perxcent" in shown["name=rxc"] and "Per%cent" not in shown["name=rxc"]
    for query in ("name=o%22brien", "name=%22br", "name=siobhan+%22"):
        assert "Brien" in shown[query], query
    assert "Common a" in shown["name=comm%00on"] and "Common a" in shown["name=common+%00sam"]


def test_the_name_index_follows_every_write(officer_client, guests):
    """Form, bulk insert, correction and deletion: the database keeps the index, not the app."""
    assert "Gonetomorrow" in results(officer_client, "name=gonetomorrow")
    renamed = db.session.get(Stay, guests.form[2])
    renamed.surname, renamed.given_names = "Renamed", "Person"
    renamed.name_folded = fold_name(renamed.given_names, renamed.surname)
    db.session.execute(delete(Stay).where(Stay.surname == "Gonetomorrow"))
    db.session.commit()

    assert "Person Renamed" not in results(officer_client, "name=common")
    assert "Person Renamed" in results(officer_client, "name=renamed")
    assert "No report matches" in results(officer_client, "name=gonetomorrow")
    if db.engine.dialect.name == "sqlite":
        for word in ("common", "renamed", "gonetomorrow", "ller", "%ce", "r_s", '"br'):
            assert name_index_ids(word) == like_ids(word), word
        # The index against the stay table, row by row (FTS5's check of an external-content index).
        db.session.execute(text("INSERT INTO stay_name_fts(stay_name_fts, rank) VALUES ('integrity-check', 1)"))
    else:
        assert not inspect(db.engine).has_table("stay_name_fts")  # PostgreSQL has its pg_trgm index


def test_the_name_index_is_kept_by_triggers_at_the_head_revision(app):
    """A later migration that rebuilds ``stay`` in batch mode drops its triggers; this notices."""
    if db.engine.dialect.name != "sqlite":
        assert not inspect(db.engine).has_table("stay_name_fts")
        return
    triggers = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stay'")))
    assert NAME_INDEX_TRIGGERS <= triggers
    assert "USING fts5" in db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'stay_name_fts'"))


def test_the_migration_indexes_the_stays_already_there(officer_client, guests):
    """Upgrading a database that holds stays indexes them (FTS5 'rebuild'); a downgrade drops it all."""
    db.session.remove()
    downgrade(revision="0007")
    assert not inspect(db.engine).has_table("stay_name_fts")
    upgrade_schema()
    assert "Rareperson" in results(officer_client, "name=rareperson")
    assert "Müller" in results(officer_client, "name=mull")
    if db.engine.dialect.name == "sqlite":
        assert name_index_ids("common") == like_ids("common") != []
        db.session.execute(text("INSERT INTO stay_name_fts(stay_name_fts, rank) VALUES ('integrity-check', 1)"))


def name_index_ids(word: str) -> list[int]:
    return sorted(db.session.scalars(
        select(queries.STAY_NAME_FTS.c.rowid).where(queries.STAY_NAME_FTS.c.stay_name_fts.match(queries.trigram_query([word])))))


def like_ids(word: str) -> list[int]:
    return sorted(db.session.scalars(select(Stay.id).where(*queries.name_condition(word))))
