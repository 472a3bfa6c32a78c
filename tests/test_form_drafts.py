"""The server's side of the drafts the browser keeps (serasi_web/form_drafts.py): the key a form
carries names no person, guest or lodging, differs per user and per form, and stays the same
across reloads; a form the server accepts is named back on the next page so the browser deletes
its draft, a refused one is not; logging out clears the site's storage."""
import html
import json
import re

import pytest

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import guest_form, login, make_lodging, report_guest


def attributes_of(page: str, form_id: str | None = None) -> dict[str, str]:
    """The data-keep-draft attributes of the (first, or ``form_id``'s) form of the page."""
    pattern = r"<form[^>]*" + (rf'id="{form_id}"[^>]*' if form_id else "") + r"data-keep-draft[^>]*>"
    tag = re.search(pattern, page).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'(data-(?:keep-draft|draft-restore))(?:="([^"]*)")?', tag)}


def drafts_done(page: str) -> list[str]:
    found = re.search(r"id=\"request-messages\"[^>]*data-drafts-done='([^']*)'", page)
    return json.loads(html.unescape(found.group(1))) if found else []


def test_the_draft_key_names_no_one_and_is_per_user_and_per_form(app, operator, other_operator, lodging):
    other_lodging = make_lodging(other_operator)
    mine, theirs = app.test_client(), app.test_client()
    login(mine, operator.email)
    login(theirs, other_operator.email)
    stay = db.session.get(Stay, report_guest(mine, lodging))

    new_form = attributes_of(mine.get(f"/lodgings/{lodging.id}/stays/new").get_data(as_text=True))
    again = attributes_of(mine.get(f"/lodgings/{lodging.id}/stays/new").get_data(as_text=True))
    correction = attributes_of(mine.get(f"/stays/{stay.id}/correct").get_data(as_text=True))
    check_out = attributes_of(mine.get(f"/stays/{stay.id}/check-out").get_data(as_text=True))
    other = attributes_of(theirs.get(f"/lodgings/{other_lodging.id}/stays/new").get_data(as_text=True))

    key = new_form["data-keep-draft"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}", key)
    assert again["data-keep-draft"] == key  # a reload finds the draft again
    assert len({key, correction["data-keep-draft"], check_out["data-keep-draft"], other["data-keep-draft"]}) == 4
    # Before the ".": the user's mark, the same on all their forms, another for another user.
    owner = key.split(".")[0]
    assert correction["data-keep-draft"].startswith(owner + ".") and not other["data-keep-draft"].startswith(owner)
    assert "data-draft-restore" in new_form  # shown fresh: the browser may put a draft back
    personal = {str(operator.id), operator.email, operator.full_name, str(lodging.id), lodging.name, "stays", "lodgings",
                stay.surname, stay.document_number, str(stay.id)}
    for value in (key, correction["data-keep-draft"], other["data-keep-draft"]):
        assert not any(part.lower() in value.lower() for part in personal if len(part) > 2), value

    # A keyed hash: without the server's secret no one can try user ids until one matches.
    app.secret_key = app.config["SECRET_KEY"] = "another secret key of this test, long enough to be accepted"
    relogged = app.test_client()
    login(relogged, operator.email)
    assert attributes_of(relogged.get(f"/lodgings/{lodging.id}/stays/new").get_data(as_text=True))["data-keep-draft"] != key


def test_a_form_the_server_accepts_is_named_back_once_and_a_refused_one_is_not(app, operator_client, lodging):
    new = f"/lodgings/{lodging.id}/stays/new"
    page = operator_client.get(new).get_data(as_text=True)
    key = attributes_of(page)["data-keep-draft"]
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)

    refused = operator_client.post(new, data=guest_form(form_token=token, surname="", keep_draft=f"{key}:{token}"))
    assert refused.status_code == 200
    assert "data-draft-restore" not in attributes_of(refused.get_data(as_text=True))  # the server's answer wins
    assert drafts_done(operator_client.get("/dashboard").get_data(as_text=True)) == []

    accepted = operator_client.post(new, data=guest_form(form_token=token, keep_draft=f"{key}:{token}"))
    assert accepted.status_code == 303
    assert drafts_done(operator_client.get(accepted.location).get_data(as_text=True)) == [f"{key}:{token}"]
    assert drafts_done(operator_client.get(accepted.location).get_data(as_text=True)) == []  # told once

    # Without JavaScript no name is posted and nothing is said; junk is ignored.
    report_guest(operator_client, lodging, document_number="X1234567")
    assert drafts_done(operator_client.get("/dashboard").get_data(as_text=True)) == []
    operator_client.post(new, data=guest_form(document_number="Y1234567", keep_draft="<script>:x y"))
    assert drafts_done(operator_client.get("/dashboard").get_data(as_text=True)) == []


@pytest.mark.parametrize("form", ["correct", "check-out"])
def test_a_correction_or_check_out_accepted_is_named_back(app, operator_client, lodging, form):
    stay_id = report_guest(operator_client, lodging)
    path = f"/stays/{stay_id}/{form}"
    key = attributes_of(operator_client.get(path).get_data(as_text=True))["data-keep-draft"]
    data = guest_form(room="8", reason="Room changed") if form == "correct" else {"checked_out_at": "2030-01-01T10:00"}
    response = operator_client.post(path, data=data | {"keep_draft": f"{key}:"})
    if form == "check-out":  # a check-out in the future is refused: nothing named back
        assert response.status_code == 200 and drafts_done(operator_client.get("/dashboard").get_data(as_text=True)) == []
        from .helpers import local_now

        response = operator_client.post(path, data={"checked_out_at": local_now(), "keep_draft": f"{key}:"})
    assert response.status_code == 303
    assert drafts_done(operator_client.get(response.location).get_data(as_text=True)) == [f"{key}:"]


def test_logging_out_clears_the_sites_storage_and_tells_the_script_to(app, operator_client):
    response = operator_client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"storage"'
    assert drafts_done(operator_client.get(response.location).get_data(as_text=True)) == ["*"]
