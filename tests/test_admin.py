"""The administrator finds accounts by e-mail or name, pages through them, disables and enables
them, and lists the offices; each list reads its rows in a fixed number of queries however long
it is."""
import re

import pytest
from sqlalchemy import select

from serasi_web.accounts.models import SupervisionRegion, User, UserSession
from serasi_web.extensions import db
from serasi_web.federation.peers import create_peer
from serasi_web.offices.models import ImmigrationOffice
from serasi_web.offices.services import OfficeRow, replace_areas, upsert_office
from serasi_web.passwords import hash_password
from serasi_web.reference import regions

from .helpers import login, make_user, recorded_statements, search, selects

EN = {"Accept-Language": "en"}


def select_count(client, path: str) -> int:
    with recorded_statements() as statements:
        assert client.get(path).status_code == 200
    return len(selects(statements))


def emails_listed(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r"<td>([^<\s]+@[^<\s]+)</td>", response.get_data(as_text=True))


def add_operators(count: int, prefix: str) -> list[str]:
    """``count`` operator accounts named ``prefix.NN@example.com``; one password hash for all
    (hashing each would take seconds). Returns their e-mails."""
    password_hash = hash_password("operator passphrase 2026")
    accounts = [User(email=f"{prefix}.{number:02d}@example.com", password_hash=password_hash, full_name=f"Owner {number}",
                     role="operator", account_kind="lodging_business") for number in range(count)]
    db.session.add_all(accounts)
    db.session.commit()
    return [account.email for account in accounts]


def add_officers_and_supervisors(numbers: range) -> None:
    """For each number: an office with an officer, and a supervision team with a region."""
    password_hash = hash_password("console passphrase 2026")
    regencies = [region.code for region in regions.children("32")]  # Jawa Barat's
    for number in numbers:
        office = ImmigrationOffice(code=f"KANIM-{number}", name=f"Kanim {number}")
        supervisor = User(email=f"timpora.{number}@example.com", password_hash=password_hash, full_name=f"Timpora {number}",
                          role="supervisor")
        db.session.add_all([office, supervisor])
        db.session.flush()
        db.session.add_all([
            User(email=f"officer.{number}@example.com", password_hash=password_hash, full_name=f"Officer {number}",
                 role="officer", office_id=office.id),
            SupervisionRegion(user_id=supervisor.id, region_code=regencies[number]),
        ])
    db.session.commit()


# ---- queries per page ---------------------------------------------------------------------------

def test_the_accounts_page_reads_offices_and_regions_with_the_page_not_per_row(admin_client):
    add_officers_and_supervisors(range(1))
    few = select_count(admin_client, "/admin/users")
    add_officers_and_supervisors(range(1, 21))
    page = admin_client.get("/admin/users", headers=EN).get_data(as_text=True)
    assert "Kanim 20" in page and "Regions (1)" in page  # every row shows its office or regions
    assert select_count(admin_client, "/admin/users") == few


def office_cards(page: str) -> dict[str, str]:
    """Office name -> the words of its card on the offices page (tags removed)."""
    cards = re.findall(r'<section class="card">(.*?)</section>', page, re.S)
    words = [" ".join(re.sub(r"<[^>]+>", " ", card).split()) for card in cards]
    return {re.search(r'<h2><a [^>]*>([^<]*)</a>', card).group(1): text for card, text in zip(cards, words)}


def test_the_offices_page_shows_each_offices_level_and_instance_reading_them_with_the_offices_not_per_office(app, admin_client, offices):
    app.config["INSTANCE_LEVEL"] = "national"
    few = select_count(admin_client, "/admin/offices")
    jawa_barat = [region.code for region in regions.children("32")][:10]
    for number, regency in enumerate(jawa_barat):
        level = "regional" if number == 1 else "national" if number == 2 else None
        office = upsert_office(OfficeRow(f"KANIM-JABAR-{number}", f"Kanim Jabar {number}", level=level))
        replace_areas(office, [regency], reroute=False)
        if number >= 5:  # half of them stand for an instance sending here
            create_peer(f"SERASI Jabar {number}", f"Kanim Jabar {number}", None)[0].office_id = office.id
    db.session.commit()
    page = admin_client.get("/admin/offices", headers=EN).get_data(as_text=True)
    assert "Kanim Jabar 9" in page and f"({jawa_barat[-1]})" in page  # every office shows its area
    assert select_count(admin_client, "/admin/offices") == few

    cards = office_cards(admin_client.get("/admin/offices").get_data(as_text=True))  # Indonesian, as by default
    assert "Yang dilihat petugasnya: Kantor: penginapan yang diarahkan kepadanya" in cards["Kanim Jabar 0"]
    assert "Yang dilihat petugasnya: Kantor Wilayah (Kanwil): semua penginapan di wilayahnya (provinsi)" in cards["Kanim Jabar 1"]
    assert "Yang dilihat petugasnya: Nasional: semua penginapan" in cards["Kanim Jabar 2"]
    assert "Mewakili instansi: SERASI Jabar 7" in cards["Kanim Jabar 7"]
    assert "Mewakili instansi" not in cards["Kanim Jabar 4"] and "Mewakili instansi" not in cards["Kanim Denpasar"]
    for name, words in cards.items():
        assert not re.search(r"\b(office|regional|national)\b", words), (name, words)  # no internal code shown raw
    # On a Kanwil's instance the national office's officers see what an office's do: said so, with its level kept.
    app.config["INSTANCE_LEVEL"] = "regional"
    national = office_cards(admin_client.get("/admin/offices").get_data(as_text=True))["Kanim Jabar 2"]
    assert ("Yang dilihat petugasnya: Kantor: penginapan yang diarahkan kepadanya (tercatat sebagai Nasional: semua penginapan, "
            "yang tidak berlaku di instans ini: SERASI_INSTANCE_LEVEL)") in national


# ---- disabling and enabling ---------------------------------------------------------------------

def test_a_disabled_account_loses_its_sessions_and_once_enabled_can_log_in_again(app, admin_client, operator):
    operator_browser = app.test_client()
    login(operator_browser, operator.email)
    assert admin_client.post(f"/admin/users/{operator.id}/disable").status_code == 303
    assert operator_browser.get("/lodgings/").status_code == 302  # back to the login page
    assert db.session.scalars(select(UserSession).where(UserSession.user_id == operator.id)).all() == []
    assert f"/admin/users/{operator.id}/enable" in admin_client.get("/admin/users").get_data(as_text=True)

    response = admin_client.post(f"/admin/users/{operator.id}/enable", headers=EN)
    assert response.status_code == 303 and response.location.endswith("/admin/users")
    assert f"{operator.email} is enabled." in admin_client.get("/admin/users", headers=EN).get_data(as_text=True)
    db.session.refresh(operator)
    assert operator.enabled
    assert operator_browser.get("/lodgings/").status_code == 302  # enabling does not revive the ended session
    login(operator_browser, operator.email)
    assert operator_browser.get("/lodgings/").status_code == 200


def test_only_admins_enable_accounts(app, admin_client, officer_client, operator):
    operator.enabled = False
    db.session.commit()
    assert officer_client.post(f"/admin/users/{operator.id}/enable").status_code == 404
    assert app.test_client().post(f"/admin/users/{operator.id}/enable").status_code == 302  # to the login page
    db.session.refresh(operator)
    assert not operator.enabled
    assert admin_client.post("/admin/users/999999/enable").status_code == 404


# ---- search and paging --------------------------------------------------------------------------

@pytest.fixture
def accounts(app):
    """Accounts whose e-mails and names differ, two of them a character apart."""
    make_user("wayan.putra@example.com")
    make_user("wayan_putra@example.com")
    sari = make_user("mputu@example.com")
    sari.full_name = "Made Sari"
    db.session.commit()


@pytest.mark.parametrize("typed, found", [
    ("MPUTU@EXAMPLE", ["mputu@example.com"]),  # the e-mail, whatever the case
    ("sARi", ["mputu@example.com"]),  # the full name, whatever the case
    ("wayan", ["wayan.putra@example.com", "wayan_putra@example.com"]),
    ("wayan_putra", ["wayan_putra@example.com"]),  # "_" is that character, not any one
    ("%", []),  # nor "%" any run of characters
    ("wayan%putra", []),
    ("nobody", []),
])
def test_admin_finds_accounts_by_email_or_name_as_typed(admin_client, accounts, typed, found):
    assert sorted(emails_listed(search(admin_client, "/admin/users", {"q": typed}))) == found


def test_the_account_list_shows_50_a_page_and_the_rest_on_the_next(admin_client, admin):
    emails = add_operators(60, "guest.house")
    first_page = admin_client.get("/admin/users", headers=EN)
    first, second = emails_listed(first_page), emails_listed(admin_client.get("/admin/users?page=2"))
    assert len(first) == 50 and len(second) == 11
    assert sorted(first + second) == sorted(emails + [admin.email])
    assert 'href="/admin/users?page=2"' in first_page.get_data(as_text=True)


def test_the_pages_of_a_search_keep_the_search(admin_client, accounts):
    emails = add_operators(55, "villa")
    sent = admin_client.post("/admin/users", data={"q": "VILLA"})
    assert sent.status_code == 303 and "villa" not in sent.location.lower()  # the term stays out of the address
    first_page = admin_client.get(sent.location, headers=EN)
    assert len(emails_listed(first_page)) == 50
    assert f'href="{sent.location}?page=2"' in first_page.get_data(as_text=True)
    assert "villa" not in " ".join(re.findall(r'href="([^"]*)"', first_page.get_data(as_text=True))).lower()
    second = emails_listed(admin_client.get(sent.location + "?page=2"))
    assert sorted(emails_listed(first_page) + second) == sorted(emails)


@pytest.mark.parametrize("page, accounts_shown", [
    ("3", 0), ("999999", 0), ("99999999999999999999", 0),  # past the end
    ("0", 50), ("-1", 50), ("two", 50), ("1e9", 50),  # not a page: the first
])
def test_a_page_past_the_end_or_not_a_page_never_fails(admin_client, admin, page, accounts_shown):
    add_operators(60, "guest.house")
    assert len(emails_listed(admin_client.get(f"/admin/users?page={page}"))) == accounts_shown
