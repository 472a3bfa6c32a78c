"""Bad input never answers 500 and never writes half a record.

Every form and every query-string filter of the web pages, and every call of the JSON API, get
hostile values: 100,000 characters, NUL, numbers past 2**63, non-ASCII digits, impossible dates,
odd Unicode, empty, repeated and missing fields, hostile uploads and hostile JSON.

Nothing here lists a form's fields by hand: the pages are crawled as each kind of user and their
``<form>`` elements read, so a new form or filter is covered without changing this file. URL
parameters are filled with objects the user owns, made through the app's own routes and
services (and made afresh when a request changed them). A POST that is refused (4xx, or the form
again with a message) must commit no INSERT, UPDATE or DELETE (every statement the app sends is
recorded; sessions and login throttling aside), and a form that comes back with 200 must say why.

Each test collects every problem (route, field, value, status, and the traceback's last lines)
into one assertion message, so one run shows them all.
"""
from __future__ import annotations

import io
import itertools
import json
import random
import re
import secrets
import traceback
from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import pytest
from sqlalchemy import event, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from serasi_web.extensions import db
from serasi_web.hookspecs import hookimpl

from .helpers import (KUTA_SELATAN_JIMBARAN, TEST_PASSWORD, guest_form, local_now, lodging_values, login, make_lodging,
                      make_offices, make_user, report_guest)

ROOT = Path(__file__).resolve().parent.parent

# ---- the hostile values ---------------------------------------------------------------------------

MISSING = SimpleNamespace(label="missing")  # the field is not sent at all
REPEATED = SimpleNamespace(label="repeated")  # the field is sent twice, with two different values

ODD_UNICODE = "\u202eAnna \U0001F469\U0001F3FD\u200D\U0001F680 Z\u0335\u0321a\u0301\u20dd"
TEXT_VALUES = {
    "100,000 characters": "Ab" * 50_000,
    "NUL inside": "An\x00na",
    "odd Unicode (RTL override, emoji, combining marks)": ODD_UNICODE,
    "empty": "",
}
# The "all fields at once" pass sends the odd characters one kind at a time as well.
ODD_ONE_BY_ONE = {
    "right-to-left override": "\u202eanna",
    "emoji": "\U0001F469\U0001F3FD\u200D\U0001F680\U0001F3F3\uFE0F\u200D\U0001F308",
    "combining marks": "A\u0301\u0302n\u0334\u0335a\u20dd",
}
NUMBER_VALUES = {
    "past 2**63": str(2**63 + 1),
    "superscript digit": "\u00b2",
    "NUL among digits (1%00 decoded)": "1\x000",
}
MORE_NUMBER_VALUES = {"1%00 typed": "1%00", "Arabic-Indic digits": "\u0661\u0662", "negative": "-1"}
DATE_VALUES = {"30 February": "2023-02-30", "year 1": "0001-01-01", "year 9999": "9999-12-31", "day first": "31/12/2024"}
DATETIME_VALUES = {"far future": "9999-12-31T23:59", "far past": "0001-01-01T00:00", "30 February": "2023-02-30T10:00",
                   "day first": "31/12/2024 10:00"}
STRUCTURAL = {"missing": MISSING, "repeated": REPEATED}


@dataclass(frozen=True)
class Upload:
    content: bytes
    filename: str


FILE_VALUES = {
    "100,000 random bytes": Upload(random.Random(9457).randbytes(100_000), "guests.csv"),
    "empty file": Upload(b"", "empty.csv"),
    "CSV with NUL, odd Unicode and a 100,000-character cell": Upload(
        ("external_id,surname,date_of_birth\r\nA\x00,\u202e\U0001F600,2023-02-30\r\nB," + "x" * 100_000 + ",0001-01-01\r\n").encode(),
        "guests.csv"),
    "odd file name": Upload(b"a,b\r\n1,2\r\n", "\u202evsc.exe\x00\U0001F600.csv"),
    "text instead of a file": "not a file",
}

# Which values go into which kind of field (field by field); every kind also gets STRUCTURAL.
CHOICE_KINDS = {"number", "select", "radio", "checkbox", "hidden", "button", "param"}


def values_for(kind: str) -> dict:
    """The hostile values for one field of ``kind`` (field by field)."""
    if kind == "file":
        return {**FILE_VALUES, **STRUCTURAL}
    values = dict(TEXT_VALUES)
    if kind in CHOICE_KINDS:
        values.update(NUMBER_VALUES)
    if kind in ("date", "param"):
        values.update(DATE_VALUES)
    if kind in ("datetime", "param"):
        values.update({f"date-time {label}": value for label, value in DATETIME_VALUES.items()})
    return {**values, **STRUCTURAL}


# One request per value with every field at once.
ALL_AT_ONCE = {**TEXT_VALUES, **ODD_ONE_BY_ONE, **NUMBER_VALUES, **MORE_NUMBER_VALUES, **DATE_VALUES,
               **{f"date-time {label}": value for label, value in DATETIME_VALUES.items()}, **STRUCTURAL}

# Query strings that the test client would encode differently: invalid UTF-8 and a raw NUL.
RAW_QUERIES = {"invalid UTF-8 percent-escapes": "%FF%FE=%C0%AF&page=%FF", "raw %00": "page=1%00&q=a%00b&status=%00"}


# ---- what the app reads: the rendered forms, and the names the source reads from a request ----------

@dataclass
class Field:
    name: str
    kind: str  # text, number, date, datetime, hidden, select, radio, checkbox, file, button, param
    values: list[str] = dataclass_field(default_factory=list)  # default value(s) as the page shows them
    options: list[str] = dataclass_field(default_factory=list)


@dataclass
class Form:
    method: str
    action: str
    multipart: bool = False
    fields: dict[str, Field] = dataclass_field(default_factory=dict)
    hx_gets: list[str] = dataclass_field(default_factory=list)

    def add(self, name: str, kind: str, value: str | None = None, option: str | None = None) -> Field:
        known = self.fields.setdefault(name, Field(name, kind))
        if value is not None:
            known.values.append(value)
        if option is not None:
            known.options.append(option)
        return known


INPUT_KINDS = {"number": "number", "range": "number", "date": "date", "month": "date", "week": "date",
               "datetime-local": "datetime", "time": "datetime", "hidden": "hidden", "checkbox": "checkbox",
               "radio": "radio", "file": "file", "submit": "button", "image": "button"}


class PageParser(HTMLParser):
    """The forms of a page (their fields with the values shown), its links and its htmx GETs."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.hx_gets: list[str] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._select_chosen = False
        self._textarea: Field | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if attributes.get("hx-get"):
            target = urljoin(self.url, attributes["hx-get"])
            (self._form.hx_gets if self._form is not None else self.hx_gets).append(target)
        if tag == "a" and attributes.get("href"):
            self.links.append(urljoin(self.url, attributes["href"]))
        if tag == "form":
            self._form = Form(method=(attributes.get("method") or "get").lower(), action=urljoin(self.url, attributes.get("action", "")),
                              multipart="multipart" in attributes.get("enctype", ""))
            self.forms.append(self._form)
            return
        if tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            self._select.options.append(value)
            if "selected" in attributes and not self._select_chosen:
                self._select.values, self._select_chosen = [value], True
            return
        name = attributes.get("name")
        if self._form is None or not name:
            return
        if tag == "input":
            kind = INPUT_KINDS.get(attributes.get("type", "text").lower(), "text")
            if kind == "button":
                self._form.add(name, "button", option=attributes.get("value", ""))
            elif kind in ("checkbox", "radio"):
                known = self._form.add(name, kind, option=attributes.get("value", "on"))
                if "checked" in attributes:
                    known.values.append(attributes.get("value", "on"))
            elif kind == "file":
                self._form.add(name, "file")
                self._form.multipart = True
            else:
                self._form.add(name, kind, value=attributes.get("value", ""))
        elif tag == "button" and attributes.get("type", "submit") == "submit":
            self._form.add(name, "button", option=attributes.get("value", ""))
        elif tag == "select":
            self._select, self._select_chosen = self._form.add(name, "select"), False
        elif tag == "textarea":
            self._textarea, self._text = self._form.add(name, "text"), []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            if not self._select_chosen and self._select.options:
                self._select.values = [self._select.options[0]]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea.values.append("".join(self._text).removeprefix("\n"))
            self._textarea = None


def parse_page(url: str, html: str) -> PageParser:
    parser = PageParser(url)
    parser.feed(html)
    parser.close()
    return parser


def names_read_by_the_source() -> tuple[set[str], set[str]]:
    """The query-string and form names the app and its plugins read outside WTForms
    (``request.args.get("page")``, ``text_arg("q")``, ``request.form.get("action")`` ...)."""
    args, form = set(), set()
    pattern = re.compile(r"""(request\.args|request\.form|text_arg)(?:\.get|\.getlist)?[\[(]\s*["']([A-Za-z_][\w-]*)["']""")
    for path in itertools.chain((ROOT / "serasi_web").rglob("*.py"), (ROOT / "plugins").rglob("*.py")):
        for source, name in pattern.findall(path.read_text(encoding="utf-8")):
            (form if source == "request.form" else args).add(name)
    return args, form


# ---- the world: objects each user owns, made through the app's routes and services ----------------

class QuietForwarder:
    """A configured forwarder that is never run: reports then have deliveries for the admin pages."""

    name = "hostile-input-recorder"

    def configured(self, app):
        return True

    def deliver(self, event):
        raise AssertionError("no delivery runs in these tests")


class ForwarderPlugin:
    @hookimpl
    def serasi_register_forwarders(self, register):
        register(QuietForwarder())


@pytest.fixture
def app_config(app_config):
    """Imports and roster uploads run inside the request; a forwarder makes deliveries; no API rate limit."""
    return {**app_config, "IMPORT_RUN_INLINE": True, "ROSTER_RUN_INLINE": True, "EXTRA_PLUGINS": [ForwarderPlugin()], "API_RATE_LIMIT": "1000000 per minute",
            **{name: "1000000 per minute" for name in ("ARRIVALS_RATE_PER_ADDRESS", "ARRIVALS_RATE_PER_POSTER", "ARRIVALS_POST_RATE_PER_ADDRESS")},
            "ARRIVALS_MAX_WAITING": 1_000_000}


def logged_in_client(app, email: str):
    client = app.test_client()
    login(client, email)
    return client


def location_id(response) -> int:
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])
    return int(re.findall(r"/(\d+)", urlsplit(response.location).path)[-1])


class World:
    """What the hostile requests need: users, lodgings, stays, groups, tokens, imports, rosters,
    deliveries, offices. Made on first use; whatever a request may have changed (every object
    its URL used, when the database changed) is made afresh for the next request."""

    def __init__(self, app, audience: str):
        self.app = app
        self.audience = audience
        self.numbers = itertools.count(1)
        self.offices = {key: office.id for key, office in make_offices().items()}
        self.operator = make_user("operator@example.com")
        self.operator_client = logged_in_client(app, self.operator.email)
        self.made: dict[str, object] = {}
        self.used: set[str] = set()
        self._mapping: MultiDict | None = None
        if audience == "officer":
            officer = make_user("officer.ngurahrai@example.com", role="officer", office_id=self.offices["ngurah_rai"])
            self.client = logged_in_client(app, officer.email)
        elif audience == "admin":
            admin = make_user("admin@example.com", role="admin")
            self.client = logged_in_client(app, admin.email)
        elif audience == "operator":
            self.client = self.operator_client
        else:
            self.client = None  # public pages: a new client for every request (a sign-up logs it in)

    # -- objects --------------------------------------------------------------------------------
    def get(self, name: str):
        self.used.add(name)
        if name not in self.made:
            self.made[name] = getattr(self, "make_" + name)()
        return self.made[name]

    def changed(self) -> None:
        """A request wrote: the objects it used are made afresh for the next request (a stay
        voided, a draft submitted, an import checked ... would take other paths)."""
        for name in self.used:
            self.made.pop(name, None)
        self.used.clear()

    def number(self) -> int:
        return next(self.numbers)

    def document(self) -> str:
        return f"HB{self.number():07d}"

    def make_lodging(self):
        lodging = make_lodging(self.operator, KUTA_SELATAN_JIMBARAN, name=f"Villa Jimbaran {self.number()}")
        lodging.status = "verified"
        db.session.commit()
        return lodging.id

    def make_pending_lodging(self):
        return make_lodging(self.operator, KUTA_SELATAN_JIMBARAN, name=f"Kos Baru {self.number()}").id

    def make_mess(self):
        return make_lodging(self.operator, name=f"Mess PT Nikel {self.number()}", lodging_type="company_mess",
                            extra={"employer_name": "PT Nikel Sejahtera"}).id

    def _report(self, **overrides) -> SimpleNamespace:
        lodging_id = self.get("lodging")
        stay_id = report_guest(self.operator_client, SimpleNamespace(id=lodging_id), document_number=self.document(), **overrides)
        return SimpleNamespace(id=stay_id, lodging_id=lodging_id)

    def make_reported_stay(self):
        return self._report()

    def make_draft(self):
        return self._report(action="draft")

    def make_group(self):
        lodging_id = self.get("lodging")
        response = self.operator_client.post(f"/lodgings/{lodging_id}/groups/new", data={
            "name": "Keluarga Eriksson", "check_in_at": local_now(delta_hours=-1), "room": "3", "purpose": "tourism"})
        group_id = location_id(response)
        guest = {key: value for key, value in guest_form(document_number=self.document()).items()
                 if key not in ("check_in_at", "planned_check_out", "room", "purpose", "notes")}
        location_id(self.operator_client.post(f"/groups/{group_id}/guests/new", data=guest | {"action": "add"}))
        return group_id

    def make_token(self):
        from plugins.push_api.models import ApiToken
        from plugins.push_api.tokens import create_token
        from serasi_web.lodgings.models import Lodging

        lodging_id = self.get("lodging")
        secret = create_token(db.session.get(Lodging, lodging_id), f"PMS {self.number()}", self.operator)
        row = db.session.execute(select(ApiToken).where(ApiToken.prefix == secret[:10])).scalar_one()
        return SimpleNamespace(id=row.id, lodging_id=lodging_id, secret=secret)

    def make_uploaded_job(self):
        from .test_spreadsheet_import import csv_file, guest

        lodging_id = self.get("lodging")
        number = self.number()
        rows = [guest(number, external_id=f"R-{number}", document_number=self.document()),
                guest(number + 1, external_id=f"R-{number}-bad", surname="", date_of_birth="1974-02-30", nationality="ZZZ")]
        response = self.operator_client.post(f"/lodgings/{lodging_id}/import", content_type="multipart/form-data",
                                             data={"file": (io.BytesIO(csv_file(rows)), "guests.csv")})
        return SimpleNamespace(id=location_id(response), lodging_id=lodging_id)

    def make_checked_job(self):
        job = self.make_uploaded_job()
        url = f"/lodgings/{job.lodging_id}/import/{job.id}/columns"
        if self._mapping is None:  # every upload has the same columns: the page's preset mapping is read once
            page = parse_page(url, self.operator_client.get(url).get_data(as_text=True))
            self._mapping = defaults(next(form for form in page.forms if form.method == "post" and urlsplit(form.action).path == url))
        location_id(self.operator_client.post(url, data=self._mapping))  # the rows are checked inside the request
        return job

    def make_connection(self):
        from serasi_web.integrations.models import SourceConnection

        lodging = make_lodging(self.operator, KUTA_SELATAN_JIMBARAN, name=f"Villa Terhubung {self.number()}")
        connection = SourceConnection(lodging_id=lodging.id, source="example_pms", settings={"export_file": ""})
        db.session.add(connection)
        db.session.commit()
        return SimpleNamespace(id=connection.id, lodging_id=lodging.id)

    def make_roster(self):
        from plugins.push_api.tokens import create_token
        from serasi_web.lodgings.models import Lodging

        from .test_api import call, stay_body

        mess_id = self.get("mess")
        token = create_token(db.session.get(Lodging, mess_id), f"HR {self.number()}", self.operator)
        residents = [dict(stay_body(document__number=self.document()), external_id=f"E-{self.number()}") for _ in range(2)]
        client = self.app.test_client()
        assert call(client, "put", "/roster", token, {"residents": residents}).status_code == 200
        second = call(client, "put", "/roster", token, {"residents": residents[:1]})
        assert second.status_code == 200 and second.json["status"] == "pending", second.json
        return SimpleNamespace(id=second.json["roster_id"], lodging_id=mess_id)

    def make_delivery(self):
        from serasi_web.delivery.dispatcher import dispatch_new_events
        from serasi_web.delivery.models import Delivery

        stay = self._report()
        dispatch_new_events()
        db.session.commit()
        return db.session.execute(select(Delivery.id).where(Delivery.stay_id == stay.id)).scalars().first()

    def make_office(self):
        from serasi_web.offices.services import OfficeRow, replace_areas, upsert_office

        number = self.number()
        office = upsert_office(OfficeRow(f"KANIM-TEST-{number}", f"Kanim Test {number}", region_codes=[]))
        replace_areas(office, [])
        db.session.commit()
        return office.id

    def make_supervisor(self):
        from serasi_web.officer.services import create_supervisor

        user = create_supervisor(email=f"timpora{self.number()}@example.com", password=TEST_PASSWORD, full_name="Timpora Kuta Selatan",
                                 region_codes=["51.03.05"])
        db.session.commit()
        return user.id

    def make_access_request(self):
        from datetime import date

        from serasi_web.accounts.models import User
        from serasi_web.privacy.access import record_request

        officer = db.session.execute(select(User).where(User.email == "officer.ngurahrai@example.com")).scalar_one()
        return record_request(officer, document_number=self.document(), issuing_state="SWE", received_on=date.today(), channel="email").id

    def _search_of(self, email: str, kind: str, criteria: dict) -> str:
        from serasi_web.accounts.models import User
        from serasi_web.searches.services import save_search

        return save_search(db.session.execute(select(User).where(User.email == email)).scalar_one(), kind, criteria).id

    def make_operator_search(self):
        return self._search_of(self.operator.email, "stays.index", {"q": "eriksson"})

    def make_officer_search(self):
        return self._search_of("officer.ngurahrai@example.com", "officer.stays", {"name": "eriksson"})

    def make_admin_search(self):
        return self._search_of("admin@example.com", "admin.users", {"q": "example"})

    def make_admin_audit_search(self):
        return self._search_of("admin@example.com", "admin.audit", {"actor": "officer.ngurahrai@example.com"})

    def make_victim(self):
        return make_user(f"victim{self.number()}@example.com").id

    def make_federation_peer(self):
        from serasi_web.federation.peers import create_peer

        return create_peer(f"SERASI instance {self.number()}", "Kanim Singaraja", None)[0].id

    def make_federation_backfill(self):
        from serasi_web.federation import backfill

        return backfill.start(date.today(), None).id

    def make_visa_index(self):
        from serasi_web.reference.models import VisaIndex

        return db.session.execute(select(VisaIndex.id).order_by(VisaIndex.id)).scalars().first()

    def make_receipt_token(self):
        from serasi_web.stays.models import Stay
        from serasi_web.stays.receipts import verification_token

        return verification_token(db.session.get(Stay, self.get("reported_stay").id).receipt_number)

    def make_reset_token(self):
        from serasi_web.accounts.services import password_reset_token

        return password_reset_token(make_user(f"forgetful{self.number()}@example.com"))

    def make_verification_token(self):
        from serasi_web.accounts.services import create_user, email_verification_token

        user = create_user(email=f"unconfirmed{self.number()}@example.com", password=TEST_PASSWORD, full_name="Unconfirmed",
                           account_kind="individual", email_verified=False)
        db.session.commit()
        return email_verification_token(user)

    def make_poster_code(self):
        from serasi_web.arrivals import services as arrivals
        from serasi_web.lodgings.models import Lodging

        return arrivals.switch_on(db.session.get(Lodging, self.get("lodging")), self.operator).poster_code

    def make_arrival_token(self):
        """A guest's party still being collected (one guest in it): its status page's capability."""
        from serasi_web.arrivals import services as arrivals
        from serasi_web.database import utcnow

        setting = arrivals.find_poster(self.get("poster_code"))
        arrival, token = arrivals.start_arrival(setting, {"check_in_at": utcnow() - timedelta(hours=1), "planned_check_out": None,
                                                          "purpose": "tourism"}, "en")
        arrivals.add_guest(arrival, {"surname": "Eriksson", "given_names": "Anna", "sex": "F", "date_of_birth": date(1974, 8, 12),
                                     "nationality": "SWE", "document_type": "passport", "document_number": self.document(),
                                     "issuing_state": "SWE", "document_expiry": date.today() + timedelta(days=2000),
                                     "entry_date": date.today() - timedelta(days=3), "visa_index": "C1"}, None)
        return token

    def make_arrival(self):
        """A party the guest sent: waiting for the operator's approval."""
        from serasi_web.arrivals import services as arrivals

        arrival = arrivals.find_by_token(self.make_arrival_token())
        arrivals.send(arrival)
        return arrival.id

    # -- requests -------------------------------------------------------------------------------
    def client_for_request(self):
        return self.client if self.client is not None else self.app.test_client()


# URL parameters: which object of the world fills each one. Routes with two parameters of one
# object (a token and its lodging) are in OBJECT_ROUTES; the others fill each parameter alone.
OBJECT_ROUTES = {
    "tokens.revoke": "token", "roster.show": "roster", "spreadsheet_import.columns": "uploaded_job",
    **{f"connections.{name}": "connection" for name in ("edit", "pull", "delete", "runs")},
    **{f"admin.connection_{name}": "connection" for name in ("edit", "pause", "resume", "pull")},
    **{f"spreadsheet_import.{name}": "checked_job" for name in ("job", "run", "cancel", "discard", "problems_csv")},
}
WATCH_LISTS = ("overstays", "late", "planned", "silent")
PARAMETERS = {  # name -> (world, endpoint) -> a value, or a list of values (each gives a URL)
    "lodging_id": lambda w, endpoint: (w.get("reported_stay").lodging_id if endpoint == "stays.check_out_many"  # a guest in the house
                                       else w.get({"roster.index": "mess", "officer.verify": "pending_lodging",
                                                   "officer.reject": "pending_lodging"}.get(endpoint, "lodging"))),
    "stay_id": lambda w, endpoint: w.get("draft" if endpoint in ("stays.edit", "stays.submit") else "reported_stay").id,
    "group_id": lambda w, endpoint: w.get("group"),
    "delivery_id": lambda w, endpoint: w.get("delivery"),
    "office_id": lambda w, endpoint: w.get("office"),
    "user_id": lambda w, endpoint: w.get("supervisor" if endpoint == "admin.supervisor_regions" else "victim"),
    "visa_index_id": lambda w, endpoint: w.get("visa_index"),
    "peer_id": lambda w, endpoint: w.get("federation_peer"),
    "backfill_id": lambda w, endpoint: w.get("federation_backfill"),
    "request_id": lambda w, endpoint: w.get("access_request"),
    "search_id": lambda w, endpoint: w.get({"stays.saved_search": "operator_search", "officer.saved_search": "officer_search",
                                            "admin.user_search": "admin_search", "admin.audit_search": "admin_audit_search",
                                            "admin.audit_export": "admin_audit_search"}[endpoint]),
    "photo_id": lambda w, endpoint: 1,  # photos are not kept (CAPTURE_KEEP_PHOTOS is off): answers 404
    "token": lambda w, endpoint: w.get({"accounts.reset_password": "reset_token", "accounts.verify_email": "verification_token"}.get(
        endpoint, "arrival_token" if endpoint.startswith("guest_arrivals.") else "receipt_token")),
    "arrival_id": lambda w, endpoint: w.get("arrival"),
    "code": lambda w, endpoint: w.get("poster_code"),
    "position": lambda w, endpoint: 1,
    "key": lambda w, endpoint: "per_day",
    "file_format": lambda w, endpoint: ["csv", "xlsx"],
    "kind": lambda w, endpoint: ["csv", "xlsx"],
    "name": lambda w, endpoint: list(WATCH_LISTS),
}


def _param(world: World, endpoint: str, name: str):
    """The value (or the values, a list) of URL parameter ``name`` for ``endpoint``."""
    if endpoint in OBJECT_ROUTES:
        found = world.get(OBJECT_ROUTES[endpoint])
        return found.lodging_id if name == "lodging_id" else found.id
    return PARAMETERS[name](world, endpoint)


# Valid values, merged over what the page shows, so that one hostile field reaches past validation.
def _stay_baseline(world: World, **extra) -> dict:
    return guest_form(document_number=world.document(), form_token=secrets.token_urlsafe(32), **extra)


def _review_baseline(world: World) -> dict:
    """The operator's review of a waiting self check-in, as its page sends it back."""
    from serasi_web.arrivals.models import Arrival

    arrival = db.session.get(Arrival, world.get("arrival"))
    data = {"check_in_at": local_now(delta_hours=-1), "planned_check_out": "", "room": "4", "purpose": "tourism", "notes": ""}
    for guest in arrival.guests:
        data |= {f"g{guest.position}-{name}": value or "" for name, value in guest.values.items()}
        data[f"g{guest.position}-stay_permit"] = "bvk"
    return data


BASELINES = {
    "stays.new": _stay_baseline,
    "stays.edit": _stay_baseline,
    "stays.correct": lambda w: _stay_baseline(w, reason="The room was wrong"),
    "stays.add_group_guest": lambda w: {k: v for k, v in _stay_baseline(w, action="add").items()
                                        if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes")},
    "stays.new_group": lambda w: {"name": "Keluarga Tanaka", "check_in_at": local_now(delta_hours=-1), "room": "4", "purpose": "tourism"},
    "stays.void": lambda w: {"reason": "Booked twice"},
    "stays.check_out": lambda w: {"checked_out_at": local_now()},
    "stays.check_out_many": lambda w: {"checked_out_at": local_now(), "stay_ids": str(w.get("reported_stay").id)},
    "lodgings.new": lambda w: lodging_values(name=f"Homestay {w.number()}", action="save"),
    "lodgings.edit": lambda w: lodging_values(name=f"Homestay {w.number()}", action="save"),
    "tokens.index": lambda w: {"name": "Front desk PMS", "valid_days": "90", "scope": "write"},
    "connections.new": lambda w: {"source": "example_pms", "setting_export_file": "", "interval_minutes": "60", "enabled": "y"},
    "connections.edit": lambda w: {"source": "example_pms", "setting_export_file": "", "interval_minutes": "60", "enabled": "y"},
    "admin.connection_edit": lambda w: {"setting_export_file": "", "interval_minutes": "60", "enabled": "y"},
    "roster.show": lambda w: {"checked_out_at": local_now(), "action": "confirm"},
    "spreadsheet_import.run": lambda w: {"rows": "valid"},
    "officer.reject": lambda w: {"reason": "The address does not exist"},
    "officer.set_legal_hold": lambda w: {"reason": "Case 12/2026"},
    "privacy.index": lambda w: {"document_number": w.document(), "issuing_state": "SWE", "received_on": date.today().isoformat(),
                                "channel": "email", "reference": ""},
    "officer.inbox_seen": lambda w: {"until": datetime.now(timezone.utc).isoformat()},
    "admin.new_officer": lambda w: {"full_name": "Officer Baru", "email": f"officer{w.number()}@example.com",
                                    "office_id": str(w.offices["denpasar"]), "password": TEST_PASSWORD},
    "admin.office_form": lambda w: {"code": f"KANIM-NEW-{w.number()}", "name": "Kanim Baru"},
    "admin.visa_indexes": lambda w: {"code": f"Q{w.number() % 100}{chr(65 + w.number() % 26)}", "description": "Test",
                                     "suggested_permit": "", "active": "y"},
    "admin.new_supervisor": lambda w: {"full_name": "Timpora", "email": f"timpora.new{w.number()}@example.com",
                                       "password": TEST_PASSWORD, "region_codes": "51.03.05"},
    "admin.supervisor_regions": lambda w: {"region_codes": "51.03.05"},
    "accounts.signup": lambda w: {"account_kind": "lodging_business", "full_name": "Made Wirawan", "email": f"made{w.number()}@example.com",
                                  "password": TEST_PASSWORD, "password_again": TEST_PASSWORD},
    "accounts.login": lambda w: {"email": "operator@example.com", "password": TEST_PASSWORD},
    "accounts.forgot_password": lambda w: {"email": "operator@example.com"},
    "accounts.reset_password": lambda w: {"password": TEST_PASSWORD, "password_again": TEST_PASSWORD},
    "accounts.account": lambda w: {"current_password": TEST_PASSWORD, "password": TEST_PASSWORD, "password_again": TEST_PASSWORD},
    "pages.set_language": lambda w: {"language": "en", "next": "/dashboard"},
    "guest_arrivals.set_language": lambda w: {"language": "zh", "next": "/"},
    "guest_arrivals.start": lambda w: {"consent": "y", "check_in_at": local_now(delta_hours=-1), "planned_check_out": "", "purpose": "tourism",
                                       "email": "guest@example.org"},
    "guest_arrivals.new_guest": lambda w: {k: v for k, v in _stay_baseline(w, action="save").items()
                                           if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes")},
    "arrivals.settings": lambda w: {"action": "save", "notify_by_email": "y", "expiry_hours": "72"},
    "arrivals.review": _review_baseline,
    "arrivals.reject": lambda w: {"reason": "Not our guests"},
}
# Fields a route reads only for one button (the capture buttons of the report form).
FIELD_NEEDS = {"mrz_text": {"action": "capture_mrz"}, "photo": {"action": "capture_photo"}}

# Routes not probed, and why.
NOT_PROBED = {
    "static": "package files; no input",
    "accounts.logout": "ends the session and reads nothing but its CSRF token (see the CSRF test)",
}
PUBLIC = {"pages.index", "health.healthz", "accounts.login", "accounts.signup", "stays.verify", "accounts.forgot_password",
          "accounts.reset_password", "pages.guest_notice", "pages.operator_notice", "accounts.signup_sent", "accounts.verify_email",
          # The guests' self check-in pages (no account: the poster's code, then the party's capability).
          "guest_arrivals.start", "guest_arrivals.set_language", "guest_arrivals.new_guest", "guest_arrivals.permit_field",
          "guest_arrivals.remove_guest", "guest_arrivals.send", "guest_arrivals.status"}
AUDIENCES = ("public", "operator", "officer", "admin")


def audience_of(rule) -> str | None:
    if rule.endpoint in NOT_PROBED:
        return None
    if rule.rule.startswith("/api/"):
        return "api"
    if rule.rule.startswith("/admin"):
        return "admin"
    if rule.rule.startswith("/officer"):
        return "officer"
    return "public" if rule.endpoint in PUBLIC else "operator"


def methods_of(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


def urls_for(world: World, rule) -> list[str]:
    """Every URL of ``rule`` with its parameters filled (a list parameter gives several URLs)."""
    adapter = world.app.url_map.bind("localhost")
    names = sorted(rule.arguments)
    choices = []
    for name in names:
        value = _param(world, rule.endpoint, name)
        choices.append(value if isinstance(value, list) else [value])
    urls = []
    for combination in itertools.product(*choices):
        values = dict(zip(names, combination))
        url = adapter.build(rule.endpoint, values, method="POST" if "POST" in methods_of(rule) and "GET" not in methods_of(rule) else "GET")
        urls.append(url)
    return urls


def rule_key(rule) -> tuple[str, str]:
    """Rules are not hashable: (endpoint, rule text) names one."""
    return rule.endpoint, rule.rule


def match(app, url: str, method: str):
    """The rule that answers ``method url`` (None when none does)."""
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlsplit(url).path, method=method, return_rule=True)[0]
    except RequestRedirect as redirect:
        return match(app, redirect.new_url, method)
    except HTTPException:
        return None


def defaults(form: Form | None) -> MultiDict:
    """What the browser would send: the values shown, every checkbox ticked, the first button."""
    data = MultiDict()
    for field in (form.fields.values() if form else ()):
        if field.kind == "checkbox":
            for option in field.options:
                data.add(field.name, option)
        elif field.kind == "radio":
            data.add(field.name, (field.values or field.options or [""])[0])
        elif field.kind == "button":
            data.add(field.name, field.options[0] if field.options else "")
        elif field.kind != "file":
            for value in field.values or [""]:
                data.add(field.name, value)
    return data


@dataclass
class Site:
    """What a crawl of every page of an audience found."""

    forms: dict[object, Form] = dataclass_field(default_factory=dict)  # POST rule -> its fields (merged)
    params: dict[object, dict[str, str]] = dataclass_field(default_factory=dict)  # GET rule -> query names and kinds
    filter_names: set[str] = dataclass_field(default_factory=set)  # names of GET forms' fields and of links' query strings


PAGES_PER_ROUTE = 5  # a crawl follows links to at most this many pages of one route (a draft's page, a group's ...)


def crawl(world: World, audience: str, prober: "Prober") -> Site:
    """Visit every page of the audience (and the pages their links lead to) and note every form."""
    site = Site()
    rules = [rule for rule in world.app.url_map.iter_rules() if audience_of(rule) == audience]
    queue = []
    for rule in rules:  # every object first, so that the pages show every button
        urls = urls_for(world, rule)
        if "GET" in methods_of(rule):
            queue += urls
    seen, visits = set(), {}
    while queue:
        url = queue.pop(0)
        rule = match(world.app, url, "GET")
        if url in seen or rule is None or audience_of(rule) != audience or visits.get(rule_key(rule), 0) >= PAGES_PER_ROUTE:
            continue
        seen.add(url)
        visits[rule_key(rule)] = visits.get(rule_key(rule), 0) + 1
        response = prober.send("GET", rule, url, "(page as shown)", "-", world.client_for_request(), check_db=False)
        if response is None or response.status_code != 200 or response.mimetype != "text/html":
            continue
        parsed = parse_page(url, response.get_data(as_text=True))
        for form in parsed.forms:
            target = match(world.app, form.action, "POST" if form.method == "post" else "GET")
            if target is None:
                continue
            if form.method == "post":
                merged = site.forms.setdefault(rule_key(target), Form("post", form.action, form.multipart))
                merged.multipart |= form.multipart
                for name, found in form.fields.items():
                    merged.fields.setdefault(name, found)
                for name, _ in parse_qsl(urlsplit(form.action).query):
                    merged.fields.setdefault(name, Field(name, "param"))
                    site.filter_names.add(name)
            else:
                params = site.params.setdefault(rule_key(target), {})
                params.update({name: found.kind for name, found in form.fields.items() if found.kind != "button"})
                site.filter_names.update(params)
            for hx_url in form.hx_gets:
                hx_target = match(world.app, hx_url, "GET")
                if hx_target is not None:
                    site.params.setdefault(rule_key(hx_target), {}).update({name: found.kind for name, found in form.fields.items()})
        for link in parsed.links + parsed.hx_gets:
            parts = urlsplit(link)
            target = match(world.app, link, "GET")
            if target is None or parts.netloc not in ("", "localhost"):
                continue
            queue.append(parts.path)
            if parts.query:
                params = site.params.setdefault(rule_key(target), {})
                for name, _ in parse_qsl(parts.query, keep_blank_values=True):
                    params.setdefault(name, "param")
                    site.filter_names.add(name)
    return site


# ---- sending, judging, reporting ----------------------------------------------------------------

IGNORED_TABLES = {"user_session", "login_failure"}  # sessions' last-seen times; login throttling records failures
IGNORED_COLUMNS = {"api_token": {"last_used_at"}, "user_account": {"last_login_at"}}
ERROR_MARK = re.compile(r'class="error"|flash-error|aria-invalid="true"')
WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?(?:\s+SET\s+(.*?)\s+WHERE\b)?', re.I | re.S)


class WriteRecorder:
    """The tables that committed transactions changed: every INSERT, UPDATE and DELETE the app
    sends through SQLAlchemy is seen (it uses no raw connections), counted when it touched a row,
    and kept only when its transaction commits (a rolled-back one, or savepoint, wrote nothing)."""

    def __init__(self, engines):
        self.written: list[tuple[str, str]] = []  # (INSERT/UPDATE/DELETE, table), in commit order
        self._pending: dict[int, list] = {}
        for engine in engines:
            event.listen(engine, "after_cursor_execute", self._statement)
            event.listen(engine, "commit", self._commit)
            event.listen(engine, "rollback", self._rollback)
            event.listen(engine, "savepoint", self._savepoint)
            event.listen(engine, "rollback_savepoint", self._rollback_savepoint)

    def _statement(self, connection, cursor, statement, parameters, context, executemany):
        found = WRITE.match(statement)
        if not found or found.group(1) in IGNORED_TABLES or cursor.rowcount == 0:
            return
        table, assignments = found.group(1), found.group(2)
        if assignments and {part.split("=")[0].strip().strip('"') for part in assignments.split(",")} <= IGNORED_COLUMNS.get(table, set()):
            return
        self._pending.setdefault(id(connection), []).append((statement.split(None, 1)[0].upper(), table))

    def _commit(self, connection):
        self.written += [entry for entry in self._pending.pop(id(connection), []) if entry[0] != "savepoint"]

    def _rollback(self, connection):
        self._pending.pop(id(connection), None)

    def _savepoint(self, connection, name):
        self._pending.setdefault(id(connection), []).append(("savepoint", name))

    def _rollback_savepoint(self, connection, name, context):
        pending = self._pending.get(id(connection), [])
        if ("savepoint", name) in pending:
            del pending[pending.index(("savepoint", name)):]


def shown(value) -> str:
    if isinstance(value, Upload):
        return f"<file {value.filename!r}, {len(value.content)} bytes>"
    if isinstance(value, SimpleNamespace):
        return value.label
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + f"...({len(value)} chars)"


@dataclass
class Finding:
    route: str
    field: str
    value: str
    status: str
    problem: str
    trace: str = ""

    def line(self) -> str:
        return f"{self.route}  field={self.field}  value={self.value}  -> {self.status}: {self.problem}"


def trace_tail(error: BaseException) -> str:
    """The app's last frames of a traceback (not the libraries'), and the error."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if frame.filename.startswith(str(ROOT)) and "/.venv/" not in frame.filename and "/tests/" not in frame.filename]
    lines = [f"  {frame.filename.removeprefix(str(ROOT) + '/')}:{frame.lineno} in {frame.name}: {frame.line}" for frame in frames[-4:]]
    return "\n".join(lines + [f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:300]}"])


class Prober:
    """Sends requests and keeps every problem found."""

    def __init__(self, world: World | None, engines=None):
        self.world = world
        self.findings: list[Finding] = []
        self.sent = 0
        self.recorder = WriteRecorder(engines or [db.engine])

    def note(self, rule_label: str, field: str, value: str, status, problem: str, trace: str = "") -> None:
        self.findings.append(Finding(rule_label, field, value, str(status), problem, trace))

    def send(self, method: str, rule, url: str, field: str, value_label: str, client, check_db: bool = True, judge=None, **kwargs):
        """One request; a 5xx, an exception, or a refused POST that wrote is noted."""
        label = f"{method} {rule.rule if hasattr(rule, 'rule') else rule}"  # a rule, or the path pattern as text
        written_before = len(self.recorder.written)
        self.sent += 1
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001 - in production this is a 500
            self.note(label, field, value_label, "exception (500 in production)", f"{type(error).__name__}: {str(error)[:200]}",
                      trace_tail(error))
            db.session.rollback()
            if self.world:
                self.world.changed()
            return None
        if response.is_streamed:  # a streamed download (the audit CSVs) holds its request context until it is read
            response.get_data()
        if response.status_code >= 500:
            self.note(label, field, value_label, response.status_code, "server error", response.get_data(as_text=True)[:300])
        if check_db:
            written = self.recorder.written[written_before:]
            changed = sorted({table for _, table in written})
            if changed and self.world:
                self.world.changed()
            if judge:
                problem = judge(response, changed)
                if problem:
                    self.note(label, field, value_label, response.status_code, problem)
        return response

    def report(self) -> str:
        lines = [f"{len(self.findings)} problems in {self.sent} requests:"] + [finding.line() for finding in self.findings]
        traces = {}
        for finding in self.findings:  # one per place and kind of error
            if finding.trace:
                *frames, error = finding.trace.splitlines()
                traces.setdefault((tuple(frames), error.split(":")[0]), finding)
        if traces:
            lines.append("\nTracebacks (last lines, one per distinct error):")
            for finding in traces.values():
                lines.append(f"--- {finding.route} field={finding.field} value={finding.value}\n{finding.trace}")
        return "\n".join(lines)

    def assert_clean(self) -> None:
        if self.findings:
            pytest.fail(self.report(), pytrace=False)


def judge_form_post(response, changed: list[str]) -> str | None:
    """A refused POST answers 200 (the form again, with a message) or 4xx, and writes nothing."""
    status = response.status_code
    if status >= 500:
        return None  # noted already
    if status == 200 or 400 <= status < 500:
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        refused = status >= 400 or bool(ERROR_MARK.search(body))
        if changed and refused:
            return f"refused, yet wrote to {', '.join(changed)}"
        if status == 200 and not changed and not refused:
            return "answered 200 with neither a message nor a saved change"
    return None


def judge_baseline(response, changed: list[str]) -> str | None:
    if response.status_code in (302, 303) or changed:
        return None
    errors = re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)', response.get_data(as_text=True))
    return f"the test's valid values were refused ({errors[:3]}): update BASELINES, or every probe stops at validation"


def form_data(base: MultiDict, name: str | None, value) -> MultiDict:
    """``base`` with ``value`` in field ``name`` (every field when ``name`` is None)."""
    data = MultiDict(base)
    names = [name] if name else [key for key in base.keys() if key != "csrf_token"]
    for key in names:
        if value is MISSING:
            data.poplist(key)
        elif value is REPEATED:
            data.setlist(key, [(base.get(key) or "1"), "x"])
        elif isinstance(value, Upload):
            data.setlist(key, [(io.BytesIO(value.content), value.filename)])
        else:
            data.setlist(key, [value])
    if name is None and value is MISSING:
        data = MultiDict()  # the empty body
    return data


QUERY_ON_POST = {**TEXT_VALUES, **NUMBER_VALUES, "30 February": "2023-02-30"}
EVERY_FIELD, VALID_VALUES, EVERY_QUERY_NAME = "(every field)", "(valid values)", "(query string: every name the pages read)"


def valid_values(world: World, rule, form: Form, field: str, source_names: set[str]) -> MultiDict:
    """What the page shows, with BASELINES' valid values over it (fresh for every request)."""
    base = defaults(form)
    for key, fresh in BASELINES.get(rule.endpoint, lambda w: {})(world).items():
        base.setlist(key, [fresh])
    for key, needed in FIELD_NEEDS.get(field, {}).items():
        base.setlist(key, [needed])
    if field == EVERY_FIELD:  # the names the app reads itself (action, rows, stay_ids ...) too
        for extra in source_names - set(base.keys()):
            base.add(extra, "")
    return base


def probe_form(prober: Prober, world: World, rule, form: Form, source_names: set[str], query_names: set[str]) -> None:
    """The valid values alone (they must pass); every hostile value into every field of ``form``
    one by one; each into all fields (and every name the source reads from a form) at once; and,
    for a POST-only route, the valid form with a hostile query string (filters it passes on)."""
    probes = [(VALID_VALUES, "-", None, None)] if rule.endpoint in BASELINES else []
    for name, found in form.fields.items():
        if name != "csrf_token":
            probes += [(name, shown(value), value, None) for value in values_for(found.kind).values()]
    probes += [(EVERY_FIELD, label, value, None) for label, value in ALL_AT_ONCE.items()]
    if "GET" not in methods_of(rule):  # a GET+POST route's query string is probed with its GET
        probes += [(EVERY_QUERY_NAME, label, None, value) for label, value in QUERY_ON_POST.items()]
    for field, label, value, query_value in probes:
        for url in urls_for(world, rule):
            base = valid_values(world, rule, form, field, source_names)
            data = base if value is None else form_data(base, None if field == EVERY_FIELD else field, value)
            query = MultiDict([(name, query_value) for name in sorted(query_names)] if query_value is not None else [])
            for name, found in form.fields.items():  # the action's own query parameters travel in the query string
                if found.kind == "param" and name in data:
                    query.setlist(name, data.poplist(name))
            # Multipart only when a file is sent: the test client spools a multipart body over
            # 500 KB to a temporary file that it never closes.
            multipart = any(isinstance(item, tuple) for item in data.values())
            prober.send("POST", rule, url, field, label, world.client_for_request(), data=data, query_string=query or None,
                        content_type="multipart/form-data" if multipart else None,
                        judge=judge_baseline if field == VALID_VALUES else judge_form_post)


def probe_query(prober: Prober, world: World, rule, params: dict[str, str], source_args: set[str]) -> None:
    """Hostile query strings: the route's own filters one by one, every name the app reads at once."""
    method = "GET" if "GET" in methods_of(rule) else "POST"
    plans = [(None, label, value) for label, value in ALL_AT_ONCE.items()
             if value is not MISSING and label not in ODD_ONE_BY_ONE and not label.startswith("date-time")]
    for name, kind in params.items():
        kind = "text" if kind == "file" else kind  # a query string carries no file
        plans += [(name, label, value) for label, value in values_for(kind).items() if value is not MISSING]
    everything = sorted(set(params) | source_args)
    for url in urls_for(world, rule):
        for name, label, value in plans:
            query = MultiDict()
            for key in ([name] if name else everything):
                query.setlist(key, ["1", "x"] if value is REPEATED else [value])
            headers = {"HX-Request": "true"} if name is None else {}  # the fragment path too
            prober.send(method, rule, url, name or "(every name the app reads)", shown(value) if name else label,
                        world.client_for_request(), check_db=False, query_string=query, headers=headers)
        for label, raw in RAW_QUERIES.items():
            prober.send(method, rule, f"{url}?{raw}", "(raw query)", label, world.client_for_request(), check_db=False)


PATH_VALUES = {"int": ["9223372036854775809", "\u00b2", "0" * 30 + "1"],
               "text": ["a\x00b", "x" * 5000, "\u202e\U0001F600\u0301", "%FF"]}


def probe_path(prober: Prober, world: World, rule) -> None:
    """Hostile URL parameters: ids past the integer range, NUL, long and odd text."""
    adapter = world.app.url_map.bind("localhost")
    for name, converter in rule._converters.items():
        kind = {"DatabaseIdConverter": "int", "UnicodeConverter": "text", "PathConverter": "text"}.get(type(converter).__name__)
        if kind is None:
            continue  # e.g. <any(csv, xlsx):kind>: nothing else reaches the view
        sentinel = "987654321" if kind == "int" else "sentinel-value"
        values = {}
        for other in rule.arguments - {name}:
            value = _param(world, rule.endpoint, other)
            values[other] = value[0] if isinstance(value, list) else value
        url = adapter.build(rule.endpoint, {**values, name: int(sentinel) if kind == "int" else sentinel})
        for hostile in PATH_VALUES[kind]:
            hostile_url = url.replace(sentinel, hostile if hostile == "%FF" else quote(hostile, safe=""), 1)
            for method in sorted(methods_of(rule)):
                prober.send(method, rule, hostile_url, f"<{name}>", shown(hostile), world.client_for_request(), check_db=False)


# ---- the tests -------------------------------------------------------------------------------------

def test_every_route_has_an_audience_and_every_url_parameter_can_be_filled(app):
    """A new route is probed by the tests below as soon as it exists; a new kind of URL
    parameter fails here until ``PARAMETERS`` learns how to fill it."""
    untaught = []
    for rule in app.url_map.iter_rules():
        if audience_of(rule) in (None, "api"):
            continue
        if rule.endpoint not in OBJECT_ROUTES:
            untaught += [f"<{name}> of {rule.endpoint} ({rule.rule})" for name in rule.arguments if name not in PARAMETERS]
    assert not untaught, "teach PARAMETERS (or OBJECT_ROUTES) to fill: " + ", ".join(untaught)
    api_rules = {rule.rule for rule in app.url_map.iter_rules() if audience_of(rule) == "api"}
    assert api_rules == set(API_ROUTES), f"the API test does not know these routes: {api_rules ^ set(API_ROUTES)}"


def test_the_database_check_sees_committed_writes_and_only_those(app):
    """The guard's own guard: a committed write is seen; a rolled-back one, and an UPDATE that
    matched no row, are not."""
    from sqlalchemy import update

    from serasi_web.reference.models import VisaIndex

    recorder = WriteRecorder([db.engine])
    db.session.add(VisaIndex(code="Z9", description="committed"))
    db.session.commit()
    assert recorder.written == [("INSERT", "visa_index")]
    db.session.add(VisaIndex(code="Z8", description="rolled back"))
    db.session.flush()
    db.session.rollback()
    db.session.execute(update(VisaIndex).where(VisaIndex.code == "no such code").values(description="x"))
    db.session.commit()
    assert recorder.written == [("INSERT", "visa_index")]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_form_refuses_hostile_values_without_a_server_error_or_a_partial_write(app, audience):
    """Every POST route of the audience, with the fields its page shows (or, when no page shows
    its form, the names the source reads), and hostile URL parameters."""
    world = World(app, audience)
    prober = Prober(world)
    site = crawl(world, audience, prober)
    source_args, source_form_names = names_read_by_the_source()
    query_names = source_args | site.filter_names
    post_rules = [rule for rule in app.url_map.iter_rules() if audience_of(rule) == audience and "POST" in methods_of(rule)]
    for rule in post_rules:
        probe_form(prober, world, rule, site.forms.get(rule_key(rule)) or Form("post", ""), source_form_names, query_names)
        probe_path(prober, world, rule)
    prober.assert_clean()


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_page_and_filter_survives_hostile_query_strings(app, audience):
    """Every GET route of the audience: its filters (GET forms, links, htmx requests) one by one,
    every query-string name the app reads at once (also as an htmx request), raw percent-escapes
    and hostile URL parameters."""
    world = World(app, audience)
    prober = Prober(world)
    site = crawl(world, audience, prober)
    source_args, _ = names_read_by_the_source()
    for rule in app.url_map.iter_rules():
        if audience_of(rule) == audience and "GET" in methods_of(rule):
            probe_query(prober, world, rule, site.params.get(rule_key(rule), {}), source_args)
            probe_path(prober, world, rule)
    prober.assert_clean()


# ---- CSRF ------------------------------------------------------------------------------------------

def _forged_csrf_token() -> str:
    """A well-formed token signed with another secret key."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer("another-secret-key", salt="wtf-csrf-token").dumps(hashlib.sha1(secrets.token_bytes(64)).hexdigest())


@pytest.mark.parametrize("audience", AUDIENCES)
def test_hostile_csrf_tokens_answer_400_and_change_nothing(app, another_app, audience):
    """With CSRF on (as in production), a missing, forged, huge or odd token is refused before
    anything is read or written."""
    from .helpers import csrf_token

    world = World(app, audience)
    guarded = another_app(WTF_CSRF_ENABLED=True)
    with guarded.app_context():
        guarded_engine = db.engine
    prober = Prober(world, engines=[db.engine, guarded_engine])
    email = {"operator": "operator@example.com", "officer": "officer.ngurahrai@example.com", "admin": "admin@example.com"}.get(audience)

    def client():
        made = guarded.test_client()
        if email:
            login(made, email)
        return made

    signed_in = client()
    valid = csrf_token(signed_in, "/login" if not email else "/notifications/settings")
    tokens = {"missing": MISSING, "empty": "", "100,000 characters": "A" * 100_000, "NUL inside": valid[:10] + "\x00" + valid[10:],
              "odd Unicode": ODD_UNICODE, "forged (another key)": _forged_csrf_token(), "bad then valid": ["x", valid],
              "non-ASCII digits": "\u00b2\u0661"}

    def judge(response, changed):
        if response.status_code >= 500:
            return None
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        if changed:
            return f"a bad CSRF token, yet wrote to {', '.join(changed)}"
        if response.status_code == 400 or (response.status_code == 200 and ERROR_MARK.search(body)):
            return None
        return "accepted without a valid CSRF token"

    for rule in guarded.url_map.iter_rules():
        if audience_of(rule) != audience and not (audience == "operator" and rule.endpoint == "accounts.logout"):
            continue
        if "POST" not in methods_of(rule):
            continue
        url = urls_for(world, rule)[0]
        for label, token in tokens.items():
            sent = [] if token is MISSING else token if isinstance(token, list) else [token]
            data = MultiDict([("csrf_token", value) for value in sent])
            prober.send("POST", rule, url, "csrf_token", label, signed_in if email else client(), judge=judge, data=data)
    prober.assert_clean()


# ---- the JSON API -----------------------------------------------------------------------------------

API_ROUTES = ("/api/v1/openapi.json", "/api/v1/roster", "/api/v1/stays", "/api/v1/stays/<external_id:external_id>",
              "/api/v1/stays/<path:external_id>/check-out", "/api/v1/stays:batch", "/api/v1/stays:validate",
              # XML, not JSON: its hostile bodies (XXE, entity bombs, wrong roots, 10 MB) are in tests/test_ota_receiver.py.
              "/api/ota/v1/HotelResNotif",
              # Another instance's peer token: its hostile bodies are in tests/test_federation.py (with API_VALUES, RAW_BODIES).
              "/api/v1/federation/events")

API_VALUES = {  # hostile JSON values for one field of a stay
    "a number": 12345, "past 2**63": 2**63 + 1, "a float": 1.5, "1e308": 1e308, "true": True, "an empty array": [],
    "an object": {"nested": {"deeper": "x"}}, "10,000-item array": ["x"] * 10_000,
    "null": None, "empty": "", "100,000 characters": "A" * 100_000, "NUL inside": "An\x00na", "lone surrogate (JSON escape)": "\udcff",
    "odd Unicode": ODD_UNICODE, "30 February": "2023-02-30", "year 1": "0001-01-01T00:00:00", "year 9999": "9999-12-31T23:59:59+14:00",
    "past 2**63 as text": str(2**63 + 1), "superscript digit": "\u00b2",
}
WRONG_TYPES = {"a number", "past 2**63", "a float", "1e308", "true", "an empty array", "an object", "10,000-item array"}
SECTION_VALUES = {"a number": 1, "an array": [], "text": "x", "null": None}
RAW_BODIES = {
    "not JSON": b"{not json",
    "XML": b"<stay/>",
    "invalid UTF-8": b'{"guest": {"surname": "\xff\xfe"}, "checked_out_at": "\xc0\xaf", "items": ["\xff"], "residents": ["\xff"]}',
    "deeply nested arrays": b"[" * 50_000 + b"]" * 50_000,
    "deeply nested objects": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "1e309 in every field": b'{"guest": 1e309, "checked_out_at": 1e309, "items": 1e309, "residents": 1e309, "reason": 1e309}',
    "1e309": b"1e309",
    "NaN and Infinity": b'{"checked_out_at": NaN, "items": [Infinity], "residents": [-Infinity], "reason": NaN}',
    "a 5,000-digit number": b"1" + b"0" * 5000,
    "top-level array": b"[]",
    "10,000-item top-level array": json.dumps([{}] * 10_000).encode(),
    "a string": b'"x"',
    "null": b"null",
    "empty body": b"",
    "10,000 keys": json.dumps({f"k{n}": n for n in range(10_000)}).encode(),
    "10,000-item arrays": json.dumps({"items": [None] * 10_000, "residents": [1] * 10_000, "checked_out_at": [0] * 10_000}).encode(),
    "lone surrogates": (b'{"checked_out_at": "\\udcff", "reason": "\\ud800", "items": [{"external_id": "\\udcff"}], '
                        b'"residents": [{"external_id": "\\ud800"}]}'),
}
CONTENT_TYPES = {"text/plain": "text/plain", "form-encoded": "application/x-www-form-urlencoded", "no content type": None}
QUERY_VALUES = {**TEXT_VALUES, **ODD_ONE_BY_ONE, **NUMBER_VALUES, **MORE_NUMBER_VALUES, **DATE_VALUES, **DATETIME_VALUES,
                "forged cursor": "MjAyNi0wMS0wMVQwMDowMDowMCswMDowMHw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
                "cursor of year 1": "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHwx", "cursor with NUL": "AAAAfAA"}
EXTERNAL_IDS = {"NUL inside": "a\x00b", "5,000 characters": "x" * 5000, "odd Unicode": ODD_UNICODE, "invalid UTF-8": "%FF%FE",
                "dot segments": "../../x", "past 2**63": str(2**63 + 1), "encoded slash": "a%2Fb"}
AUTHORIZATIONS = {"huge token": "Bearer srs_" + "A" * 10_000, "odd Unicode": "Bearer \u00b2\u202e", "Basic": "Basic dXNlcjpwYXNz",
                  "empty bearer": "Bearer ", "no scheme": "srs_abc"}


class Api:
    """A lodging and a company mess with their tokens, and how to call them."""

    def __init__(self, app, operator):
        from plugins.push_api.tokens import create_token

        from .test_api import stay_body

        self.app, self.client, self.numbers = app, app.test_client(), itertools.count(1)
        self.lodging = make_lodging(operator)
        self.mess = make_lodging(operator, name="Mess PT Nikel", lodging_type="company_mess", extra={"employer_name": "PT Nikel Sejahtera"})
        self.token = create_token(self.lodging, "PMS", operator)
        self.mess_token = create_token(self.mess, "HR", operator)
        self.stay_body = stay_body
        assert self.call("put", "/stays/EXISTING", self.body()).status_code == 201

    def body(self) -> dict:
        return self.stay_body(document__number=f"HA{next(self.numbers):07d}")

    def call(self, method, path, body=None, token=None, raw: bytes | None = None, content_type="application/json", headers=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        return self.client.open("/api/v1" + path, method=method.upper(), data=data, content_type=content_type,
                                headers={"Authorization": f"Bearer {token or self.token}", "Accept-Language": "en", **(headers or {})})

    def leaves(self) -> list[tuple[str, str]]:
        """(section, field) of every property of a stay body, read from the OpenAPI document."""
        document = self.client.get("/api/v1/openapi.json").json
        body = document["components"]["schemas"]["StayBody"]["properties"]
        return [(section, name) for section, schema in body.items() for name in schema["properties"]]


def pointers_of(payload) -> list[str]:
    return [error.get("pointer", "") for error in (payload or {}).get("errors", [])] if isinstance(payload, dict) else []


def judge_api(pointer: str | None = None, must_refuse: bool = False):
    """A 4xx is problem+json (a 422 names ``pointer``) and writes nothing; a wrong type is refused."""

    def judge(response, changed):
        status = response.status_code
        if status >= 500:
            return None
        if 400 <= status < 500:
            if response.mimetype != "application/problem+json":
                return f"a {status} answered as {response.mimetype}, not application/problem+json"
            if changed:
                return f"refused, yet wrote to {', '.join(changed)}"
            named = pointers_of(response.get_json(silent=True))
            if status == 422 and pointer and not any(p == pointer or p.startswith(pointer + "/") for p in named):
                return f"422 without naming {pointer} (it named {named[:5]})"
        elif must_refuse:
            return f"accepted ({status}) what it must refuse"
        return None

    return judge


def batch_results_judge(expected: list[tuple[str, bool]], prefix: str, written_ids):
    """Each item of a batch answered on its own: a wrong type is 422 naming its field; no item 5xx."""

    def judge(response, changed):
        status = response.status_code
        if status >= 500:
            return None
        if status != 200:
            return judge_api()(response, changed)
        problems = []
        for index, (result, (pointer, must_refuse)) in enumerate(zip(response.json["results"], expected)):
            item_pointer = f"{prefix}/{index}{pointer}"
            if result["status"] >= 500:
                problems.append(f"item {index} ({pointer}) answered {result['status']}")
            elif result["status"] >= 400:
                named = pointers_of(result.get("problem"))
                if result["status"] == 422 and not any(p == item_pointer or p.startswith(item_pointer + "/") for p in named):
                    problems.append(f"item {index}: 422 without naming {item_pointer} (named {named[:3]})")
                if result.get("external_id") in written_ids():
                    problems.append(f"item {index} ({pointer}) refused, yet written")
            elif must_refuse:
                problems.append(f"item {index} ({pointer}) accepted ({result['status']}) a wrong type")
        return "; ".join(problems) or None

    return judge


def chunks(items: list, limit_bytes: int = 3_000_000, limit_items: int = 400):
    chunk, size = [], 0
    for item in items:
        length = len(json.dumps(item))
        if chunk and (size + length > limit_bytes or len(chunk) >= limit_items):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += length
    if chunk:
        yield chunk


def test_the_api_answers_hostile_json_with_problem_details_naming_each_field(app, operator, offices):
    from serasi_web.stays.models import Stay

    api = Api(app, operator)
    prober = Prober(None)
    variants = []  # (pointer, label, must_refuse, body)
    for section, name in api.leaves():
        for label, value in API_VALUES.items():
            body = api.body()
            body[section][name] = value
            variants.append((f"/{section}/{name}", label, label in WRONG_TYPES, body))
    for section in ("guest", "document", "permit", "stay"):
        for label, value in SECTION_VALUES.items():
            body = api.body()
            body[section] = value
            variants.append((f"/{section}", label, True, body))
    for label, value in {"an unknown field": "x", "an unknown nested object": {"a": {"b": [1, {"c": None}]}}}.items():
        body = api.body()
        body["extra"] = value
        variants.append(("/extra", label, True, body))

    rule = "/api/v1/stays/<external_id>"
    for pointer, label, must_refuse, body in variants:  # one stay per request
        prober.send("PUT", rule, f"/api/v1/stays/H-{next(api.numbers)}", pointer, label, api.client,
                    judge=judge_api(pointer, must_refuse), data=json.dumps(body), content_type="application/json",
                    headers={"Authorization": f"Bearer {api.token}"})

    def check_only(pointer, must_refuse):  # the validation request: PUT's answers, and never a write
        judge = judge_api(pointer, must_refuse)
        return lambda response, changed: f"a check that wrote to {', '.join(changed)}" if changed else judge(response, changed)

    for pointer, label, must_refuse, body in variants:
        prober.send("POST", "/api/v1/stays:validate", "/api/v1/stays:validate", pointer, label, api.client,
                    judge=check_only(pointer, must_refuse), data=json.dumps(dict(body, external_id=f"C-{next(api.numbers)}")),
                    content_type="application/json", headers={"Authorization": f"Bearer {api.token}"})

    def written_ids():
        return set(db.session.execute(select(Stay.external_id)).scalars())

    items = [(pointer, label, must_refuse, dict(body, external_id=f"B-{next(api.numbers)}"))
             for pointer, label, must_refuse, body in variants]
    for chunk in chunks(items):  # the batch: every variant an item
        prober.send("POST", "/api/v1/stays:batch", "/api/v1/stays:batch", "items", f"{len(chunk)} hostile items", api.client,
                    judge=batch_results_judge([(p, r) for p, _, r, _ in chunk], "/items", written_ids),
                    data=json.dumps({"items": [body for *_, body in chunk]}), content_type="application/json",
                    headers={"Authorization": f"Bearer {api.token}"})
    for chunk in chunks(items):  # the roster is all or nothing: 422 naming every wrong type
        residents = [dict(body, external_id=f"E-{next(api.numbers)}") for *_, body in chunk]
        response = prober.send("PUT", "/api/v1/roster", "/api/v1/roster", "residents", f"{len(chunk)} hostile residents", api.client,
                               judge=judge_api(), data=json.dumps({"residents": residents}), content_type="application/json",
                               headers={"Authorization": f"Bearer {api.mess_token}"})
        if response is None or response.status_code >= 500:  # find the resident that broke it
            for (pointer, label, must_refuse, _), resident in zip(chunk, residents):
                prober.send("PUT", "/api/v1/roster", "/api/v1/roster", "/residents/0" + pointer, label, api.client,
                            judge=judge_api("/residents/0" + pointer, must_refuse), data=json.dumps({"residents": [resident]}),
                            content_type="application/json", headers={"Authorization": f"Bearer {api.mess_token}"})
        elif response.status_code == 422:
            named = pointers_of(response.get_json(silent=True))
            for index, (pointer, label, must_refuse, _) in enumerate(chunk):
                if must_refuse and not any(p.startswith(f"/residents/{index}{pointer}") for p in named):
                    prober.note("PUT /api/v1/roster", f"/residents/{index}{pointer}", label, 422, "the wrong type is not named")

    for label, value in API_VALUES.items():  # check-out and void take one field each
        prober.send("POST", "/api/v1/stays/<external_id>/check-out", "/api/v1/stays/EXISTING/check-out", "/checked_out_at", label,
                    api.client, judge=judge_api("/checked_out_at", label in WRONG_TYPES), data=json.dumps({"checked_out_at": value}),
                    content_type="application/json", headers={"Authorization": f"Bearer {api.token}"})
        external_id = f"V-{next(api.numbers)}"
        assert api.call("put", f"/stays/{external_id}", api.body()).status_code == 201
        prober.send("DELETE", "/api/v1/stays/<external_id>", f"/api/v1/stays/{external_id}", "/reason", label, api.client,
                    judge=judge_api("/reason"), data=json.dumps({"reason": value}), content_type="application/json",
                    headers={"Authorization": f"Bearer {api.token}"})
    prober.assert_clean()


def test_the_api_answers_malformed_bodies_queries_ids_and_tokens_with_problem_details(app, operator, offices):
    api = Api(app, operator)
    prober = Prober(None)
    endpoints = [("PUT", "/stays/RAW-1", api.token), ("POST", "/stays/EXISTING/check-out", api.token),
                 ("DELETE", "/stays/EXISTING", api.token), ("POST", "/stays:batch", api.token), ("POST", "/stays:validate", api.token),
                 ("PUT", "/roster", api.mess_token)]
    for method, path, token in endpoints:
        for label, raw in RAW_BODIES.items():
            prober.send(method, f"/api/v1{path}", "/api/v1" + path, "(body)", label, api.client, judge=judge_api(must_refuse=True),
                        data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"})
        for label, content_type in CONTENT_TYPES.items():
            prober.send(method, f"/api/v1{path}", "/api/v1" + path, "(content type)", label, api.client,
                        judge=judge_api(must_refuse=method != "DELETE"), data=json.dumps(api.body()), content_type=content_type,
                        headers={"Authorization": f"Bearer {token}"})
    for name in ("status", "limit", "updated_since", "cursor"):
        for label, value in QUERY_VALUES.items():
            prober.send("GET", "/api/v1/stays", "/api/v1/stays", f"?{name}", label, api.client, judge=judge_api(),
                        query_string={name: value}, headers={"Authorization": f"Bearer {api.token}"})
    for label, value in TEXT_VALUES.items():
        external_id = f"Q-{next(api.numbers)}"
        assert api.call("put", f"/stays/{external_id}", api.body()).status_code == 201
        prober.send("DELETE", "/api/v1/stays/<external_id>", f"/api/v1/stays/{external_id}", "?reason", label, api.client,
                    judge=judge_api(), query_string={"reason": value}, headers={"Authorization": f"Bearer {api.token}"})
    for label, external_id in EXTERNAL_IDS.items():
        path = "/api/v1/stays/" + (external_id if "%" in external_id else quote(external_id, safe=""))
        for method, suffix, body in (("GET", "", None), ("PUT", "", api.body()), ("DELETE", "?reason=x", None),
                                     ("POST", "/check-out", {"checked_out_at": local_now() + ":00+08:00"})):
            prober.send(method, f"/api/v1/stays/<external_id>{suffix.split('?')[0]}", path + suffix, "<external_id>", label,
                        api.client, judge=judge_api(), data=None if body is None else json.dumps(body),
                        content_type="application/json", headers={"Authorization": f"Bearer {api.token}"})
    for label, header in AUTHORIZATIONS.items():
        prober.send("GET", "/api/v1/stays", "/api/v1/stays", "Authorization", label, api.client, judge=judge_api(must_refuse=True),
                    headers={"Authorization": header})
    prober.assert_clean()




