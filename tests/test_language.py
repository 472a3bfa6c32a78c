"""Everything shown in the user's language: the pages of each kind of user are crawled in
Indonesian (the default) and may contain neither an English message id nor a raw internal code
(an audit action such as ``stay.checked_out``, a field name such as ``stay_permit``)."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import render_template
from flask_babel import force_locale

from serasi_web.extensions import db
from serasi_web.lodgings.services import decide

from .helpers import guest_form, local_now, login, make_lodging, search

CATALOGUE = Path(__file__).parents[1] / "serasi_web" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
MAX_PAGES = 120
# Paths not to follow: they change state on GET, download files or leave the app.
SKIP = re.compile(r"^/(static|logout|healthz|verify)|\.(csv|xlsx|json|jpg|pdf)$|/export")
AUDIT_CODE = re.compile(r"\b(?:stay|console|admin|import)\.[a-z_]+\b")
SNAKE_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def english_phrases() -> list[str]:
    """Pieces of English message ids that have an Indonesian translation of their own: the
    literal parts between placeholders, long enough (three words) not to occur by chance."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="id")
    phrases = set()
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        msgstr = message.string[0] if isinstance(message.string, tuple) else message.string
        if not msgstr or msgstr == msgid:
            continue
        for piece in re.split(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", msgid):
            piece = piece.strip(" .,:;()\n")
            if len(re.findall(r"[A-Za-z]{2,}", piece)) >= 3 and piece not in msgstr:
                phrases.add(piece)
    return sorted(phrases)


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", unescape(page))


def crawl(client, start: list[str]) -> dict[str, str]:
    """GET pages reachable from ``start`` by links (one URL per path), as {url: visible text}."""
    seen_paths, pages, queue = set(), {}, list(start)
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen_paths or SKIP.search(path):
            continue
        seen_paths.add(path)
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        page = response.get_data(as_text=True)
        pages[url] = visible_text(page)
        for href in re.findall(r'href="([^"#]+)"', page):
            href = unescape(href)
            if href.startswith("/") and not href.startswith("//"):
                queue.append(href)
    return pages


@pytest.fixture
def world(app, offices, operator, officer, admin, client):
    """A lodging with every kind of history: a corrected report (room A3 -> B1), one checked
    out, one voided, a group and a draft; officer and admin views recorded in the audit log."""
    lodging = make_lodging(operator)
    decide(lodging, officer, True)
    db.session.commit()
    operator_client = app.test_client()
    login(operator_client, operator.email)

    def report(**overrides):
        response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", data=guest_form(**overrides))
        assert response.status_code == 303
        return int(response.location.rstrip("/").split("/")[-1])

    corrected = report(room="A3", document_number="C0000001")
    assert operator_client.post(f"/stays/{corrected}/correct", data=guest_form(room="B1", document_number="C0000001", reason="Pindah kamar")).status_code == 303
    checked_out = report(document_number="C0000002")
    assert operator_client.post(f"/stays/{checked_out}/check-out", data={"checked_out_at": local_now()}).status_code == 303
    voided = report(document_number="C0000003")
    assert operator_client.post(f"/stays/{voided}/void", data={"reason": "Salah tamu"}).status_code == 303
    report(document_number="C0000004", action="draft")
    group = operator_client.post(f"/lodgings/{lodging.id}/groups/new", data={"name": "Keluarga", "check_in_at": local_now(delta_hours=-1), "purpose": "family"}).location
    officer_client = app.test_client()
    login(officer_client, officer.email)
    officer_client.get(f"/officer/stays/{corrected}")
    search(officer_client, "/officer/stays", "name=eriksson")
    admin_client = app.test_client()
    login(admin_client, admin.email)
    return dict(operator=operator_client, officer=officer_client, admin=admin_client, anonymous=client,
                stay_ids=(corrected, checked_out, voided), operator_extra=[urlsplit(group).path, urlsplit(group).path + "/guests/new",
                                                                            f"/lodgings/{lodging.id}/check-out", f"/lodgings/{lodging.id}/groups/new"])


def allowed_codes() -> set[str]:
    """Names people must type as they are: the columns of the offices' CSV file."""
    from serasi_web.offices.csv_io import COLUMNS

    return set(COLUMNS)


def problems_of(pages: dict[str, str], phrases: list[str]) -> list[str]:
    problems = []
    allowed = allowed_codes()
    for url, text in pages.items():
        for phrase in phrases:
            if phrase in text:
                problems.append(f"{url}: English {phrase!r}")
        for code in (set(AUDIT_CODE.findall(text)) | set(SNAKE_CODE.findall(text))) - allowed:
            problems.append(f"{url}: code {code!r}")
    return problems


@pytest.mark.parametrize("role, start", [
    ("operator", ["/dashboard", "/stays", "/lodgings/", "/notifications/settings"]),
    ("officer", ["/officer/inbox", "/officer/stays?name=eriksson", "/officer/lodgings", "/officer/statistics"]),
    ("admin", ["/admin/", "/admin/audit", "/admin/visa-indexes", "/admin/deliveries/", "/officer/stays?name=eriksson"]),
    ("anonymous", ["/", "/login", "/signup", "/signup/sent"]),
])
def test_every_page_is_in_indonesian_without_internal_codes(world, role, start):
    client = world[role]
    if role == "operator":
        start = start + [f"/stays/{stay_id}" for stay_id in world["stay_ids"]] + world["operator_extra"]
    if role in ("officer", "admin"):
        start = start + [f"/officer/stays/{stay_id}" for stay_id in world["stay_ids"]]
    pages = crawl(client, start)
    assert len(pages) >= len(start) - 1, sorted(pages)
    problems = problems_of(pages, english_phrases())
    assert problems == [], "\n".join(problems[:60])


def test_history_shows_field_labels_and_the_audit_log_event_names(world):
    corrected = world["stay_ids"][0]
    page = visible_text(world["operator"].get(f"/stays/{corrected}").get_data(as_text=True))
    assert "Kamar: A3 → B1" in page and "room:" not in page
    audit = visible_text(world["admin"].get("/admin/audit").get_data(as_text=True))
    assert "Laporan dikoreksi" in audit and "Petugas melihat laporan" in audit
    assert "Tamu sudah check-out" in audit
    visa = visible_text(world["admin"].get("/admin/visa-indexes").get_data(as_text=True))
    assert "Visa kunjungan satu kali perjalanan: wisata" in visa


def test_the_stay_event_mail_subject_is_in_indonesian_without_personal_data(app):
    event = {"event": "checked_out", "stay": {"receipt_number": "STT-AAAA-BBBB-CCCC", "id": 7, "version": 3,
                                              "guest": {"surname": "Eriksson", "given_names": "Anna"}}}
    with app.test_request_context(), force_locale("id"):
        subject = render_template("emails/stay_event_subject.txt", event=event).strip()
    assert subject == "[SERASI] Tamu sudah check-out: STT-AAAA-BBBB-CCCC (versi 3)"


def test_the_crawler_would_see_a_raw_code_or_an_english_message():
    """The check itself: a page with a raw code or an untranslated message id is caught."""
    phrases = english_phrases()
    assert "The report was voided. It stays in the history" in phrases
    pages = {"/x": visible_text("<p>Riwayat: console.stay_viewed · checked_out</p><p>The report was voided. It stays in the history.</p>")}
    assert len(problems_of(pages, phrases)) == 4  # the phrase, console.stay_viewed (and its stay_viewed), checked_out


def test_every_audit_action_recorded_has_words_in_indonesian(app):
    """Every ``record("area.action", ...)`` in the core and the bundled plugins has a label, so the
    audit log never says "Other event" for our own actions (a plugin outside may still)."""
    from serasi_web.audit.labels import action_label

    root = Path(__file__).resolve().parent.parent
    recorded = set()
    for source in [*root.joinpath("serasi_web").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]:
        recorded.update(re.findall(r"""\brecord\(\s*["']([a-z_]+\.[a-z_]+)["']""", source.read_text(encoding="utf-8")))
    recorded.update(re.findall(r'"(account\.mfa_[a-z_]+)"', root.joinpath("serasi_web/accounts/routes.py").read_text(encoding="utf-8")))
    assert {"federation.peer_created", "account.mfa_device_replaced", "import.completed"} <= recorded
    with app.test_request_context(), force_locale("id"):
        other = action_label("no_such.action")
        unnamed = sorted(action for action in recorded if action_label(action) == other)
    assert unnamed == []
