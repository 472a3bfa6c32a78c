"""The report form and the dashboard as an owner on a phone meets them: the form in parts that
are open as served, the entry-stamp QR carried but never typed, plain words for the jargon, the
messages for a failed send in the reader's language, and the family/group and check-out actions
one tap from the default dashboard (a single lodging too)."""
import html
import json
import re

import pytest

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import make_lodging, report_guest

EN = {"Accept-Language": "en"}


def request_messages(page: str) -> dict:
    found = re.search(r"<div id=\"request-messages\" hidden data-messages='([^']*)'>", page)
    assert found, "base.html carries no messages for form-requests.js"
    return json.loads(html.unescape(found.group(1)))


def test_the_report_form_comes_in_parts_open_as_served_with_plain_words(operator_client, lodging):
    page = operator_client.get(f"/lodgings/{lodging.id}/stays/new").get_data(as_text=True)
    parts = re.findall(r'<details class="form-section" id="(\w+)-section" open>', page)
    assert parts == ["guest", "document", "entry", "stay"]
    assert "Tempat pemeriksaan imigrasi (TPI)" in page and "Bandara, pelabuhan laut" in page
    assert "Indeks visa (kode pada visa)" in page and "visa kunjungan saat kedatangan" in page
    # The entry-stamp QR: a hidden field, never a box to type into.
    assert re.search(r'<input id="entry_stamp_qr" name="entry_stamp_qr" type="hidden" value="">', page)
    assert not re.search(r"<textarea[^>]*entry_stamp_qr", page)
    english = operator_client.get(f"/lodgings/{lodging.id}/stays/new", headers=EN).get_data(as_text=True)
    assert "Place of entry (TPI)" in english and "Visa index (the code on the visa)" in english


def test_a_qr_read_into_a_draft_is_kept_and_shown_read_only(operator_client, lodging):
    qr = "https://imigrasi.example/s?permit=ITK2026X77"
    stay_id = report_guest(operator_client, lodging, action="draft", entry_stamp_qr=qr)
    page = operator_client.get(f"/stays/{stay_id}/edit", headers=EN).get_data(as_text=True)
    assert f'<input id="entry_stamp_qr" name="entry_stamp_qr" type="hidden" value="{html.escape(qr)}">' in page
    assert f"<code class=\"wrap\">{html.escape(qr)}</code>" in page and "Read from the photo of the entry-permit sticker" in page
    assert db.session.get(Stay, stay_id).entry_stamp_qr == qr


def test_a_part_with_an_error_is_served_open_and_the_error_at_its_field(operator_client, lodging):
    from .helpers import guest_form

    response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(date_of_birth="2999-01-01"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<details class="form-section" id="guest-section" open>' in page
    assert 'id="date_of_birth-error"' in page


@pytest.mark.parametrize("language, offline, status_word", [("id", "tidak tersambung ke internet", "kode {status}"),
                                                            ("en", "You are offline", "error {status}")])
def test_the_words_for_a_failed_send_come_in_the_readers_language(operator_client, lodging, language, offline, status_word):
    messages = request_messages(operator_client.get("/dashboard", headers={"Accept-Language": language}).get_data(as_text=True))
    assert set(messages) == {"offline", "unreachable", "timeout", "400", "413", "429", "500", "503", "4xx", "5xx"}
    assert offline in messages["offline"] and status_word in messages["4xx"]
    assert all(text.strip() for text in messages.values())


def test_family_and_check_out_are_one_tap_from_the_default_dashboard_of_a_single_lodging(operator_client, lodging):
    stay_id = report_guest(operator_client, lodging)
    page = operator_client.get("/dashboard", headers=EN).get_data(as_text=True)  # the default tab: all lodgings
    assert f'href="/lodgings/{lodging.id}/stays/new"' in page
    assert f'href="/lodgings/{lodging.id}/groups/new"' in page and "Report a family or group" in page
    assert f'href="/lodgings/{lodging.id}/check-out"' in page and "Check out guests" in page
    # And each guest in the house has their own check-out link.
    in_house = page[page.index('id="section-in_house"'):]
    assert f'href="/stays/{stay_id}/check-out"' in in_house
    assert operator_client.get(f"/lodgings/{lodging.id}/groups/new").status_code == 200


def test_every_lodging_has_its_actions_on_the_default_dashboard(operator_client, operator, lodging):
    second = make_lodging(operator, name="Villa Kenanga")
    page = operator_client.get("/dashboard", headers=EN).get_data(as_text=True)
    for item in (lodging, second):
        for path in ("stays/new", "groups/new", "check-out"):
            assert f'href="/lodgings/{item.id}/{path}"' in page, (item.name, path)
    assert "<strong>Villa Kenanga</strong>" in page
