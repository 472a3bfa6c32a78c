"""Privacy notices (docs/privacy.md): the guest notice in Indonesian, English and Chinese that a
lodging prints or links to, the operators' page, and the receipt's link to the notice."""
from __future__ import annotations

import re

from serasi_web.privacy.retention import set_period

from .helpers import make_lodging, report_guest

EN = {"Accept-Language": "en"}


def test_the_guest_notice_is_public_and_in_three_languages_with_the_retention_period(app, client):
    page = client.get("/privacy/guests")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for language in ("id", "en", "zh"):
        assert f'<section lang="{language}"' in text
    assert "Pemberitahuan privasi untuk tamu asing" in text and "Privacy notice for foreign guests" in text and "外国住客隐私告知" in text
    assert "1825 hari" in text and "1825 days" in text and "1825天" in text
    assert "<script>" not in text and " style=" not in text
    set_period("stays", 1095)
    assert "1095 days" in client.get("/privacy/guests").get_data(as_text=True)
    set_period("stays", 0)
    assert "as long as the immigration office needs it" in client.get("/privacy/guests").get_data(as_text=True)


def test_the_operators_page_says_what_to_tell_guests_in_the_readers_language(app, client):
    indonesian = client.get("/privacy/operators").get_data(as_text=True)
    assert "Privasi: apa yang perlu disampaikan kepada tamu" in indonesian and 'href="/privacy/guests"' in indonesian
    english = client.get("/privacy/operators", headers=EN).get_data(as_text=True)
    assert "Privacy: what to tell your guests" in english
    assert 'href="/privacy/operators"' in client.get("/login").get_data(as_text=True)  # linked from every page's footer


def test_the_receipt_links_to_the_guest_notice(app, operator_client, operator, offices):
    lodging = make_lodging(operator)
    stay_id = report_guest(operator_client, lodging)
    receipt = operator_client.get(f"/stays/{stay_id}/receipt", headers=EN).get_data(as_text=True)
    assert re.search(r'href="http://[^"]+/privacy/guests"', receipt)
    assert "How the guest's data is used" in receipt
