"""The company mess's roster CSV upload: the request only streams the file to disk (refusing one
over the size cap while it arrives); the worker reads it in a child process under
ROSTER_PARSE_MEMORY_MB, where a very long cell, too many columns or residents, a bad encoding or
a file needing more memory than allowed end the roster with a message on its page. Nothing of a
refused roster is applied or kept."""
from __future__ import annotations

import codecs
import io
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from plugins.company_mess.models import RosterSync
from plugins.company_mess.roster_csv import MAX_CELL_LENGTH, MAX_COLUMNS, MAX_RESIDENTS, MAX_ROSTER_BYTES
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from ..helpers import make_lodging, make_unreadable_for_ever

EN = {"Accept-Language": "en"}
HEADER = b"external_id,surname,given_names\n"


@pytest.fixture
def app_config(app_config):
    """The worker's read runs inside the request here (the child process and its limits are the
    same; the worker path is tested in tests/test_company_mess.py)."""
    return {**app_config, "ROSTER_RUN_INLINE": True}


@pytest.fixture
def mess(app, operator, offices):
    return make_lodging(operator, name="Mess PT Nikel", lodging_type="company_mess", extra={"employer_name": "PT Nikel"})


def multipart(content: bytes) -> dict:
    """Encoded here, so what the test client builds is not counted with what the app holds."""
    boundary, body = encode_multipart(MultiDict({"file": FileStorage(io.BytesIO(content), "roster.csv")}))
    return dict(data=body, content_type=f"multipart/form-data; boundary={boundary}")


def send(client, mess, content: bytes, headers=EN):
    return client.post(f"/lodgings/{mess.id}/roster", headers=headers, **multipart(content))


def peak_of_sending(client, mess, content: bytes):
    """The response, and the most memory allocated in this process while the app took the upload
    (the body is encoded before counting)."""
    body = multipart(content)
    return peak_while(lambda: client.post(f"/lodgings/{mess.id}/roster", headers=EN, **body))


def peak_while(action) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = action()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def rosters_left(app) -> list:
    folder = Path(app.instance_path) / "rosters"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def failed_roster(client, mess, response, headers=EN) -> str:
    assert response.status_code == 303, response.status_code
    record = db.session.get(RosterSync, int(response.location.rsplit("/", 1)[1]))
    assert record.status == "failed" and not record.arrived and not record.departing
    assert db.session.execute(select(func.count()).select_from(Stay)).scalar_one() == 0
    return client.get(response.location, headers=headers).get_data(as_text=True)


def test_a_roster_over_the_size_cap_is_refused_at_the_field_while_it_streams_in(app, operator_client, mess):
    content = HEADER + b"E-1,Wang,Wei\n" * (MAX_ROSTER_BYTES // 13 + 10)
    assert len(content) > MAX_ROSTER_BYTES
    response, peak = peak_of_sending(operator_client, mess, content)
    assert response.status_code == 200 and "The file is larger than 5 MB." in response.get_data(as_text=True)
    assert peak < 2 * 1024 * 1024  # streamed in chunks: never the whole file in memory
    assert db.session.execute(select(func.count()).select_from(RosterSync)).scalar_one() == 0
    assert rosters_left(app) == []


@pytest.mark.parametrize("content, message", [
    (HEADER + b'E-1,"' + b"x" * (MAX_ROSTER_BYTES - 100) + b'"\n', f"A cell on line 2 is longer than {MAX_CELL_LENGTH} characters"),
    (b"external_id" + b"," * (MAX_ROSTER_BYTES - 100) + b"\n", f"Line 1 has more than {MAX_COLUMNS} columns"),
    (HEADER + b"E-1,Wang" + b"," * 4_000_000 + b"\n", f"Line 2 has more than {MAX_COLUMNS} columns"),
    (HEADER + b"".join(b"E-%d,Wang,Wei\n" % n for n in range(MAX_RESIDENTS + 1)), f"at most {MAX_RESIDENTS} residents"),
    (codecs.BOM_UTF16_LE + "external_id,surname\n".encode("utf-16-le") + b"\x00\xd8\x41", "could not be read (it says UTF-16"),
], ids=["one 5 MB cell", "5 million header columns", "4 million cells in a row", "too many residents", "broken UTF-16"])
def test_roster_bombs_are_refused_with_a_message_and_the_web_process_memory_stays_flat(app, operator_client, mess, content, message):
    response, peak = peak_of_sending(operator_client, mess, content)
    assert peak < 2 * 1024 * 1024  # the parsing happened in the child process, not here
    assert message in failed_roster(operator_client, mess, response)
    assert rosters_left(app) == []


def test_a_roster_needing_more_memory_than_allowed_is_stopped_with_a_message(app, operator_client, mess):
    """4 million cells in one line are a list of 32 MB: over a 16 MB limit the child fails
    alone, and the roster's page says so; in Indonesian by default."""
    app.config["ROSTER_PARSE_MEMORY_MB"] = 16
    content = HEADER + b"E-1,Wang" + b"," * 4_000_000 + b"\n"
    assert "needs more than 16 MB of memory" in failed_roster(operator_client, mess, send(operator_client, mess, content))
    indonesian = failed_roster(operator_client, mess, send(operator_client, mess, content, headers={}), headers={})
    assert "memori" in indonesian and "16 MB" in indonesian


def test_a_roster_reader_that_runs_too_long_is_stopped_with_a_message(app, operator_client, mess):
    from plugins.company_mess.service import read_uploaded_roster, roster_path

    app.config.update(ROSTER_RUN_INLINE=False, ROSTER_PARSE_TIMEOUT_SECONDS=2)  # queued: no worker reads it
    response = send(operator_client, mess, HEADER + b"E-1,Wang,Wei\n")
    record = db.session.get(RosterSync, int(response.location.rsplit("/", 1)[1]))
    make_unreadable_for_ever(roster_path(record))
    read_uploaded_roster(record.id)  # what the worker does
    assert "took longer than 2 seconds" in failed_roster(operator_client, mess, response)


def test_an_empty_roster_file_is_refused_at_the_field(operator_client, mess):
    response = send(operator_client, mess, b"")
    assert response.status_code == 200
    assert db.session.execute(select(func.count()).select_from(RosterSync)).scalar_one() == 0


def test_a_roster_file_left_unread_for_a_day_is_deleted_at_the_next_upload(app, operator_client, mess):
    import os
    import time

    folder = Path(app.instance_path) / "rosters"
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / "999.csv", folder / "998.csv"
    for path in (stale, fresh):
        path.write_bytes(HEADER + b"E-1,Wang,Wei\n")
    os.utime(stale, (time.time() - 25 * 3600,) * 2)
    send(operator_client, mess, HEADER + b"E-2,Wang,Wei\n")
    assert not stale.exists() and fresh.exists()
