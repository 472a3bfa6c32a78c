"""Mistakes an owner can see and fix in one round: the error summary at the top of every form,
every rule of a report checked in one pass, required fields marked as they are checked."""
import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import guest_form, lodging_values, local_now

EN = {"Accept-Language": "en"}
TEMPLATES = Path(__file__).parents[1] / "serasi_web" / "templates"
PLUGINS = Path(__file__).parents[1] / "plugins"  # a bundled plugin's pages are in its own folder


def summary_of(page: str) -> str:
    """The error summary block of a page (fails when there is none)."""
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert found, "no error summary"
    return found.group(0)


def field_error(page: str, name: str) -> str:
    block = page[page.index(f'id="{name}-field"'):]
    return block[:block.index("</div>")]


def test_every_rule_of_a_report_is_reported_in_the_first_round(operator_client, lodging):
    today = date.today()
    data = guest_form(
        surname="",  # a form rule
        date_of_birth=(today + timedelta(days=30)).isoformat(),  # the date rules, all at once
        document_expiry=(today - timedelta(days=10)).isoformat(),
        permit_valid_until=(today - timedelta(days=20)).isoformat(),
        planned_check_out=(today - timedelta(days=5)).isoformat(),
        visa_index="", stay_permit="",
    )
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=data, headers=EN).get_data(as_text=True)
    expected = {
        "surname": "Enter the surname.",
        "date_of_birth": "The date of birth is not possible.",
        "document_expiry": "The document had expired at check-in.",
        "permit_valid_until": "The permit cannot end before the date of entry.",
        "planned_check_out": "The planned check-out cannot be before the check-in.",
        "stay_permit": "Choose the stay permit.",
    }
    summary = summary_of(page)
    for name, message in expected.items():
        assert message in field_error(page, name), name
        assert re.search(rf'<a href="#{name}">[^<]*{re.escape(message)}</a>', summary), name
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0


def test_the_summary_takes_the_focus_and_names_the_fields_in_the_users_language(operator_client, lodging):
    page = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(surname="", sex="")).get_data(as_text=True)
    summary = summary_of(page)
    assert re.search(r'<h2 id="error-summary-title" tabindex="-1" autofocus>Ada 2 masalah', summary)
    assert 'aria-labelledby="error-summary-title"' in summary
    assert '<a href="#surname">Nama keluarga: ' in summary
    assert '<a href="#sex-0">' in summary  # a radio group: its first option takes the focus
    assert page.index("error-summary") < page.index('id="surname-field"')


def test_a_correct_form_has_no_summary(operator_client, lodging):
    page = operator_client.get(f"/lodgings/{lodging.id}/stays/new").get_data(as_text=True)
    assert "error-summary" not in page


def test_the_lodging_and_login_forms_have_the_summary_too(operator_client, client, lodging):
    page = operator_client.post("/lodgings/new", data=lodging_values(name="", phone="abc"), headers=EN).get_data(as_text=True)
    summary = summary_of(page)
    assert '<a href="#name">' in summary and '<a href="#phone">' in summary
    page = client.post("/login", data={"email": "", "password": ""}, headers=EN).get_data(as_text=True)
    assert '<a href="#email">' in summary_of(page)


def test_every_template_with_form_fields_has_the_error_summary():
    """The summary is one macro: a template rendering fields in a form must call it."""
    missing = []
    for path in [*TEMPLATES.rglob("*.html"), *PLUGINS.glob("*/templates/**/*.html")]:
        text = path.read_text()
        if "<form" in text and re.search(r"\{\{ field\(", text) and "error_summary(" not in text:
            if path.name != "permit_page.html":  # a page only for browsers without htmx: suggests, never fails
                missing.append(path.name)
    assert missing == []


def test_the_group_form_reports_its_date_rules_with_its_other_mistakes(operator_client, lodging):
    page = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={
        "check_in_at": local_now(delta_hours=-1), "planned_check_out": "2001-01-01", "purpose": ""}, headers=EN).get_data(as_text=True)
    assert "Choose the purpose of the stay." in field_error(page, "purpose")
    assert "cannot be before the check-in" in field_error(page, "planned_check_out")


# ---- required fields marked as they are checked (issue 15, item 2) ----------------------

def test_the_stay_permit_is_marked_required(operator_client, lodging):
    page = operator_client.get(f"/lodgings/{lodging.id}/stays/new", headers=EN).get_data(as_text=True)
    block = field_error(page, "stay_permit")
    assert '<span class="req" aria-hidden="true">*</span>' in block and 'aria-required="true"' in block
    assert "Needed to submit the report" in block


def test_a_group_guest_without_a_stay_permit_is_refused_at_entry(operator_client, lodging):
    group_url = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={
        "check_in_at": local_now(delta_hours=-1), "purpose": "family"}).location
    guest = {k: v for k, v in guest_form().items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    response = operator_client.post(group_url + "/guests/new", data=guest | {"visa_index": "", "stay_permit": "", "surname": ""}, headers=EN)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose the stay permit." in field_error(page, "stay_permit")
    assert "Enter the surname." in field_error(page, "surname")  # in the same round
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0
    # With the permit the guest joins, and the group can be sent at once.
    assert operator_client.post(group_url + "/guests/new", data=guest | {"visa_index": "", "stay_permit": "itk"}).status_code == 303
    assert operator_client.post(group_url + "/submit").status_code == 303
    assert db.session.execute(select(Stay.status)).scalars().all() == ["reported"]


def test_the_nib_is_marked_required_for_a_commercial_lodging_only(operator_client, lodging):
    page = operator_client.get("/lodgings/type-fields?lodging_type=boarding_house", headers=EN | {"HX-Request": "true"}).get_data(as_text=True)
    block = field_error(page, "nib")
    assert '<span class="req" aria-hidden="true">*</span>' in block and "oss.go.id" in block and "No NIB yet?" in block
    # An individual host's home has no NIB at all: the host's NIK, marked required, instead.
    page = operator_client.get("/lodgings/type-fields?lodging_type=private_residence", headers=EN | {"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="nib-field"' not in page and '<span class="req" aria-hidden="true">*</span>' in field_error(page, "host_nik")
    page = operator_client.post("/lodgings/new", data=lodging_values(nib=""), headers=EN).get_data(as_text=True)
    assert "A commercial lodging must give its NIB." in field_error(page, "nib")
    assert '<a href="#nib">' in summary_of(page)
