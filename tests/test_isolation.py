"""Tenant isolation on every route: another tenant's object answers 404, and nothing changes.

The routes are read from ``app.url_map``, not listed by hand, so a route added later is checked
too: every URL parameter must be known to ``ISOLATION_TABLE`` (or be declared as naming no
tenant's object), otherwise ``test_every_route_parameter_is_in_the_isolation_table`` fails.

Two operators each run a company mess (``make_tenant``): operator A in Kanim Ngurah Rai's area,
operator B in Kanim Denpasar's. Everything of B's is made through the real forms, services and
API. Then, per audience:

* operator routes: operator A requests each route with B's ids (and with A's own parent and B's
  child, e.g. A's lodging with B's import job); so do the admin and Kanim Denpasar's officer,
  who are not B either;
* console routes (/officer): the Ngurah Rai officer and a Timpora team of Kuta Selatan request
  B's lodgings and reports in Denpasar's area;
* admin routes (/admin): an operator, an officer and a supervision team request every page;
* API routes with a path parameter (/api/v1): lodging A's token requests B's external ids.

Each request must answer 404 (except the API's upsert, see ``NOT_404``) and leave every row of
the database as it was; POSTs carry a body that would succeed on the owner's object. A control
request with the viewer's own ids must not answer 404, so that a wrong URL or a lost login cannot
make the test pass by itself. One subtest per rule names the rule when it fails.
"""
from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Callable

import pytest
from sqlalchemy import select

from plugins.push_api.models import ApiToken
from serasi_web.arrivals.models import Arrival, ArrivalGuest, ArrivalStatus, SelfCheckIn
from serasi_web.arrivals.services import token_hash as arrival_token_hash
from serasi_web.capture.models import CapturePhoto
from serasi_web.database import utcnow
from serasi_web.delivery.dispatcher import run_once
from serasi_web.delivery.forwarders import DeliveryFailed
from serasi_web.delivery.models import Delivery
from serasi_web.extensions import db
from serasi_web.hookspecs import hookimpl
from serasi_web.integrations.models import SourceConnection
from serasi_web.lodgings.types import lodging_type
from serasi_web.officer.services import create_supervisor
from serasi_web.reference.models import VisaIndex

from .capture_samples import qr_photo
from .helpers import (DENPASAR_SANUR, KUTA_SELATAN_JIMBARAN, TEST_PASSWORD, csrf_token, guest_form, local_now, lodging_values,
                      login, make_lodging, make_user, report_guest)
from .test_api import call, stay_body
from .test_capture import capture
from .test_company_mess import resident
from .test_spreadsheet_import import TARGETS, csv_file, guest
from .test_spreadsheet_import import check as check_import

IGNORED_METHODS = {"HEAD", "OPTIONS"}


# ---- the isolation table ------------------------------------------------------------------------

@dataclass(frozen=True)
class Ids:
    """How to fill one URL parameter. Each function takes the world and returns {label: value}:
    ``foreign`` the objects the viewer must not reach; ``own`` the viewer's own (for the control
    request; ``None``: the same objects as ``foreign``, for admin pages that no tenant owns)."""

    foreign: Callable[[SimpleNamespace], dict]
    own: Callable[[SimpleNamespace], dict] | None = None


ISOLATION_TABLE: dict[str, Ids] = {
    # Operator routes, and the console's (B's lodgings lie in Kanim Denpasar's area).
    "lodging_id": Ids(foreign=lambda w: {"B's mess": w.b.mess, "B's rejected kos": w.b.rejected_kos},
                      own=lambda w: {"A's mess": w.a.mess}),
    "stay_id": Ids(foreign=lambda w: {"B's report": w.b.report, "B's draft": w.b.draft},
                   own=lambda w: {"A's report": w.a.report, "A's draft": w.a.draft}),
    "photo_id": Ids(foreign=lambda w: {"B's photo": w.b.photo}, own=lambda w: {"A's photo": w.a.photo}),
    "group_id": Ids(foreign=lambda w: {"B's group": w.b.group}, own=lambda w: {"A's group": w.a.group}),
    "job_id": Ids(foreign=lambda w: {"B's import": w.b.job}, own=lambda w: {"A's import": w.a.job}),
    "roster_id": Ids(foreign=lambda w: {"B's roster": w.b.roster}, own=lambda w: {"A's roster": w.a.roster}),
    "token_id": Ids(foreign=lambda w: {"B's API token": w.b.token_id}, own=lambda w: {"A's API token": w.a.token_id}),
    "connection_id": Ids(foreign=lambda w: {"B's connected system": w.b.connection}, own=lambda w: {"A's connected system": w.a.connection}),
    "arrival_id": Ids(foreign=lambda w: {"B's waiting self check-in": w.b.arrival}, own=lambda w: {"A's waiting self check-in": w.a.arrival}),
    # The push API: external ids live in the token's lodging.
    "external_id": Ids(foreign=lambda w: {"B's external id": w.b.external_id}, own=lambda w: {"A's external id": w.a.external_id}),
    # Admin pages: no tenant owns these; anyone but an admin must get 404 for real objects.
    "user_id": Ids(foreign=lambda w: {"operator B": w.b.user, "the supervision team": w.supervisor}),
    "office_id": Ids(foreign=lambda w: {"Kanim Denpasar": w.denpasar}),
    "delivery_id": Ids(foreign=lambda w: {"a failed delivery of B's report": w.delivery}),
    "visa_index_id": Ids(foreign=lambda w: {"a visa index": w.visa_index}),
    "peer_id": Ids(foreign=lambda w: {"a federation peer": w.peer}),
    "backfill_id": Ids(foreign=lambda w: {"a federation backfill": w.backfill}),
    # A search kept behind an id (terms out of URLs) answers only the user who made it.
    "search_id": Ids(foreign=lambda w: w.foreign_searches, own=lambda w: w.own_searches),
    # Data subjects' access requests belong to the office that received them.
    "request_id": Ids(foreign=lambda w: {"Kanim Denpasar's access request": w.denpasar_request},
                      own=lambda w: {"Kanim Ngurah Rai's access request": w.ngurah_rai_request}),
}

# A route for one lodging type takes lodgings of that type (by endpoint and parameter).
ENDPOINT_IDS: dict[tuple[str, str], Ids] = {
    # The example plugin's tents page (tests/plugin_example): glamping sites only.
    ("example_tents.index", "lodging_id"): Ids(foreign=lambda w: {"B's glamping site": w.b.site}, own=lambda w: {"A's glamping site": w.a.site}),
}

# Console routes a control viewer cannot reach by role, so its control is not asked of it.
NOT_FOR_CONTROL = {("privacy.answer", "Timpora Kuta Selatan"): "only officers answer access requests",
                   ("privacy.answer_json", "Timpora Kuta Selatan"): "only officers answer access requests",
                   ("privacy.answer", "officer of the Kanwil of Badung"): "an access request is one office's (Kanim Ngurah Rai's)",
                   ("privacy.answer_json", "officer of the Kanwil of Badung"): "an access request is one office's (Kanim Ngurah Rai's)"}

# Parameters that name no tenant's object, by (endpoint, parameter): the value used.
FIXED_PARAMETERS = {("spreadsheet_import.template", "kind"): "csv"}

# Routes with parameters that are not tenant objects, and why they are left out.
NOT_TENANT_ROUTES = {
    "static": "files shipped with the application",
    "stays.verify": "public receipt check: the token is the secret and the page shows no name or document",
    "accounts.reset_password": "the signed reset token is the secret; it names its own account",
    "accounts.verify_email": "the signed verification token is the secret; it names its own account",
    "officer.watch_list": "<name> names a list, always of the user's own scope (tests/test_officer_console.py)",
    "officer.statistics_export": "<key>.<file_format> name a table, always of the user's own scope (tests/test_officer_console.py)",
    "guest_arrivals.start": "the poster code is printed for anyone to scan: it opens the lodging's empty guest form, no guest's data",
    "guest_arrivals.new_guest": "the random token (only its hash is stored) is the guest party's own capability (tests/test_arrivals.py)",
    "guest_arrivals.remove_guest": "the random token is the guest party's own capability (tests/test_arrivals.py)",
    "guest_arrivals.send": "the random token is the guest party's own capability (tests/test_arrivals.py)",
    "guest_arrivals.status": "the random token is the guest party's own capability (tests/test_arrivals.py)",
}

# What a route answers other than 404 for another tenant's id, on purpose.
NOT_404 = {
    # An upsert in the token's own namespace: B's external id makes a new stay at A's lodging.
    "api_v1.put_stay": 201,
}


def audience_of(rule) -> str:
    for prefix, audience in (("/admin/", "admin"), ("/api/", "api"), ("/officer/", "console")):
        if rule.rule.startswith(prefix):
            return audience
    return "operator"


def parameter_problems(rule) -> list[str]:
    return [f"route {rule.rule} ({rule.endpoint}) has parameter {name!r}: add it to the isolation table in tests/test_isolation.py"
            for name in sorted(rule.arguments)
            if name not in ISOLATION_TABLE and (rule.endpoint, name) not in FIXED_PARAMETERS]


def rules_of(app, audience: str) -> list:
    """The rules of ``audience`` that name a tenant's object (admin: every admin rule)."""
    chosen = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint in NOT_TENANT_ROUTES or audience_of(rule) != audience:
            continue
        if audience == "admin" or set(rule.arguments) & set(ISOLATION_TABLE):
            chosen.append(rule)
    return chosen


def methods_of(rule) -> list[str]:
    return sorted(rule.methods - IGNORED_METHODS)


def url_for_rule(rule, values: dict) -> str:
    return re.sub(r"<(?:[^<>]*:)?(\w+)>", lambda found: str(values[found.group(1)]), rule.rule)


def urls(rule, world, foreign_names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, URL) for every combination of the table's values: the parameters in
    ``foreign_names`` another tenant's, the others the viewer's own."""
    choices = []
    for name in sorted(rule.arguments):
        if name not in ISOLATION_TABLE:
            choices.append([("", name, FIXED_PARAMETERS[(rule.endpoint, name)])])
            continue
        source = ENDPOINT_IDS.get((rule.endpoint, name), ISOLATION_TABLE[name])
        values = source.foreign(world) if name in foreign_names or source.own is None else source.own(world)
        choices.append([(label, name, value) for label, value in values.items()])
    return [(", ".join(label for label, _, _ in combination if label),
             url_for_rule(rule, {name: value for _, name, value in combination}))
            for combination in itertools.product(*choices)]


def cases(rule, world) -> list[tuple[str, str]]:
    """(label, URL) with another tenant's ids: each parameter foreign in turn (the others the
    viewer's own, e.g. A's lodging with B's import job), then several together."""
    id_names = sorted(name for name in rule.arguments if name in ISOLATION_TABLE)
    subsets = [chosen for size in range(1, len(id_names) + 1) for chosen in itertools.combinations(id_names, size)]
    found = [case for foreign_names in subsets or [()] for case in urls(rule, world, foreign_names)]  # (): a page without ids
    return list(dict.fromkeys(found))


def control_urls(rule, world) -> list[str]:
    """The rule's URLs with the viewer's own ids (admin pages: the same real objects)."""
    return [url for _, url in urls(rule, world, ())]


# ---- what is sent -------------------------------------------------------------------------------

def form_bodies(world) -> dict[str, dict]:
    """Bodies that would succeed on the owner's object, so a missing scope would show as a change."""
    reported = guest_form(surname="Intruder", document_number="LK0000001", issuing_state="SWE")
    group_guest = {k: v for k, v in reported.items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    roster_csv = ("external_id,surname,given_names,sex,date_of_birth,nationality,document_type,document_number,issuing_state,"
                  "document_expiry,entry_date,stay_permit,check_in_at,room,purpose\n"
                  f"LK-1,Wang,Wei,M,1985-03-02,CHN,passport,LK0000002,CHN,2031-01-01,{reported['entry_date']},itas,"
                  f"{local_now(delta_hours=-5).replace('T', ' ')},A1,work\n")
    return {
        "stays.new": reported,
        "stays.edit": reported | {"action": "submit"},
        "stays.correct": reported | {"reason": "intruder"},
        "stays.void": {"reason": "intruder"},
        "stays.check_out": {"checked_out_at": local_now()},
        "stays.check_out_many": {"checked_out_at": local_now(), "stay_ids": [str(world.b.report), str(world.a.report)]},
        "stays.new_group": {"name": "Intruders", "check_in_at": local_now(delta_hours=-1), "purpose": "family"},
        "stays.add_group_guest": group_guest | {"form_token": "intruder-form-token-000000000001"},
        "lodgings.edit": lodging_values(DENPASAR_SANUR, name="Renamed by an intruder", lodging_type="company_mess",
                                        employer_name="PT Intruder"),
        "tokens.index": {"name": "Intruder PMS"},
        "connections.new": {"source": "example_pms", "setting_export_file": "/tmp/intruder.json", "interval_minutes": "15", "enabled": "y"},
        "connections.edit": {"source": "example_pms", "setting_export_file": "/tmp/intruder.json", "interval_minutes": "15", "enabled": "y"},
        "admin.connection_edit": {"setting_export_file": "/tmp/intruder.json", "interval_minutes": "15", "enabled": "y"},
        "spreadsheet_import.index": {"file": (io.BytesIO(csv_file([guest(9, document_number="LK0000003")])), "guests.csv")},
        "spreadsheet_import.columns": world.b.job_mapping,
        "spreadsheet_import.run": {"rows": "valid"},
        "roster.index": {"file": (io.BytesIO(roster_csv.encode()), "roster.csv")},
        "roster.show": {"action": "dismiss"},
        "officer.reject": {"reason": "intruder"},
        "officer.set_legal_hold": {"reason": "intruder"},
        # The review form as the owner sends it: the guest's values, the stay confirmed.
        "arrivals.review": {"check_in_at": local_now(delta_hours=-1), "planned_check_out": "", "room": "3", "purpose": "tourism",
                            "notes": ""} | {f"g1-{name}": value for name, value in group_guest.items()} | {"g1-stay_permit": "bvk"},
        "arrivals.reject": {"reason": "intruder"},
    }


def admin_form(world) -> dict:
    """One body for every admin form: a new office, officer, supervision team or visa index, an
    office edit, an offices CSV."""
    return {"code": "KANIM-INTRUDER", "name": "Kanim Intruder", "region_codes": "51.06", "email": "intruder@example.com",
            "password": "a long intruder password", "full_name": "Intruder", "office_id": str(world.denpasar),
            "description": "intruder", "suggested_permit": "", "active": "y",
            "file": (io.BytesIO(b"code,name,region_codes\nKANIM-INTRUDER,Kanim Intruder,51.06\n"), "offices.csv")}


def body_for(audience: str, rule, world) -> dict | None:
    return form_bodies(world).get(rule.endpoint) or (admin_form(world) if audience == "admin" else None)


def api_requests(external_id_body) -> dict[str, dict]:
    """Keyword arguments of ``call`` per API endpoint, again bodies that would succeed."""
    return {
        "api_v1.put_stay": {"body": external_id_body},
        "api_v1.void": {"query_string": {"reason": "intruder"}},
        "api_v1.check_out": {"body": {"checked_out_at": local_now() + ":00+08:00"}},
    }


def send(client, method: str, url: str, body: dict | None):
    body = dict(body or {})
    if method != "GET" and client.application.config.get("WTF_CSRF_ENABLED", True):
        body["csrf_token"] = csrf_token(client, "/notifications/settings")  # the tests' app turns CSRF off (conftest)
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=body)  # a file in the body makes it multipart


# ---- what must not change -----------------------------------------------------------------------

# Bookkeeping that any request of a logged-in user or a token may write.
VOLATILE_COLUMNS = {("user_session", "last_seen_at"), ("api_token", "last_used_at")}


def database_rows(lodging_ids: list[int] | None = None) -> dict[str, list]:
    """Every row of every table, read on a fresh connection (only what is committed); with
    ``lodging_ids``, only the rows of those lodgings and of their stays."""
    rows = {}
    with db.engine.connect() as connection:
        stay_ids = None
        if lodging_ids is not None:
            stay_table = db.metadata.tables["stay"]
            stay_ids = connection.execute(select(stay_table.c.id).where(stay_table.c.lodging_id.in_(lodging_ids))).scalars().all()
        for table in db.metadata.sorted_tables:
            columns = [column for column in table.columns if (table.name, column.name) not in VOLATILE_COLUMNS]
            query = select(*columns).order_by(*table.primary_key.columns)
            if lodging_ids is not None:
                if "lodging_id" in table.columns:
                    query = query.where(table.c.lodging_id.in_(lodging_ids))
                elif "stay_id" in table.columns:
                    query = query.where(table.c.stay_id.in_(stay_ids))
                else:
                    continue
            rows[table.name] = connection.execute(query).all()
    return rows


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def expect(failures: list[str], what: str, response, expected: int, before: dict, after: dict) -> None:
    if response.status_code != expected:
        location = f" -> {response.location}" if response.location else ""
        failures.append(f"{what}: answered {response.status_code}{location}, expected {expected}")
    if changed := changed_tables(before, after):
        failures.append(f"{what}: changed the tables {', '.join(changed)}")


# ---- the world ----------------------------------------------------------------------------------

class RefusingForwarder:
    """A forwarder whose receiver refuses every event: deliveries end as failed (an admin can retry)."""

    name = "refusing"

    def configured(self, app):
        return True

    def deliver(self, event):
        raise DeliveryFailed("HTTP 400", status_code=400)


class ForwarderPlugin:
    @hookimpl
    def serasi_register_forwarders(self, register):
        register(RefusingForwarder())


@pytest.fixture
def app_config(app_config):
    """Photos are kept with drafts (so photos have ids), imports and roster uploads run inside the
    request, a forwarder makes deliveries (the admin's delivery page), and the instance is a
    national one, so that a regional office (Kanwil) can be a viewer too."""
    return {**app_config, "CAPTURE_KEEP_PHOTOS": True, "IMPORT_RUN_INLINE": True, "ROSTER_RUN_INLINE": True, "EXTRA_PLUGINS": [ForwarderPlugin()],
            "INSTANCE_LEVEL": "national"}


def logged_in(app, email: str):
    client = app.test_client()
    login(client, email)
    return client


def make_tenant(app, owner, address: dict, tag: str) -> SimpleNamespace:
    """A company mess of ``owner`` with one of everything: a report, a draft with a kept photo, a
    group with a guest, a checked import, an API token and stay, and a roster awaiting a decision."""
    client = logged_in(app, owner.email)
    mess = make_lodging(owner, address, name=f"Mess {tag}", lodging_type="company_mess", extra={"employer_name": f"PT {tag}"})
    report = report_guest(client, mess, surname=f"Reported{tag}", document_number=f"{tag}R000001")

    form_token = f"photo-form-token-of-tenant-{tag}-000001"
    assert capture(client, mess, qr_photo("ITK-2"), form_token=form_token).status_code == 200
    draft = report_guest(client, mess, action="draft", form_token=form_token, surname=f"Draft{tag}", document_number=f"{tag}D000001")
    photo = db.session.execute(select(CapturePhoto.id).where(CapturePhoto.stay_id == draft)).scalar_one()

    response = client.post(f"/lodgings/{mess.id}/groups/new", data={"name": f"Family {tag}", "check_in_at": local_now(delta_hours=-1),
                                                                    "purpose": "family"})
    group = int(response.location.rstrip("/").split("/")[-1])
    member = {k: v for k, v in guest_form().items() if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action")}
    response = client.post(f"/groups/{group}/guests/new", data=member | {"surname": f"Member{tag}", "document_number": f"{tag}G000001",
                                                                          "form_token": f"group-form-token-of-{tag}-0000001"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]

    job = check_import(client, mess, csv_file([guest(1, external_id=f"{tag}-ROW-1", document_number=f"{tag}I000001")]))
    assert job.status == "checked", job.status
    job_mapping = {target: "" for target in TARGETS} | job.mapping

    from plugins.push_api.tokens import create_token

    api = app.test_client()
    token = create_token(mess, f"PMS {tag}", owner)
    token_id = db.session.execute(select(ApiToken.id).where(ApiToken.lodging_id == mess.id)).scalar_one()
    external_id = f"{tag}-RES-1"
    response = call(api, "put", f"/stays/{external_id}", token, stay_body(document__number=f"{tag}A000001"))
    assert response.status_code == 201, response.json
    api_stay = response.json["id"]
    # A lodging of the example plugin's type, when that plugin is installed (its own pages).
    site = make_lodging(owner, address, name=f"Glamping {tag}", lodging_type="glamping").id if lodging_type("glamping") else None
    residents = [resident(f"{tag}-E-1", f"{tag}M000001"), resident(f"{tag}-E-2", f"{tag}M000002")]
    # A connected system (the example plugin's source): its pages answer only the owner.
    connection = SourceConnection(lodging_id=mess.id, source="example_pms", settings={"export_file": ""}, created_by_id=owner.id)
    db.session.add(connection)
    # A party that checked itself in through the poster and waits for the operator's approval.
    now = utcnow()
    arrival = Arrival(lodging_id=mess.id, token_hash=arrival_token_hash(f"party-of-tenant-{tag}"), status=ArrivalStatus.WAITING,
                      language="en", check_in_at=now - timedelta(hours=1), purpose="tourism", created_at=now, sent_at=now,
                      expires_at=now + timedelta(hours=72))
    db.session.add(arrival)
    db.session.flush()
    values = {k: v for k, v in guest_form(surname=f"Arriving{tag}", document_number=f"{tag}S000001").items()
              if k not in ("check_in_at", "planned_check_out", "room", "purpose", "notes", "action", "accompanying_stay_id")}
    db.session.add(ArrivalGuest(arrival_id=arrival.id, position=1, values=values))
    poster = SelfCheckIn(lodging_id=mess.id, poster_code=f"POSTER{tag}000"[:10], enabled=True)
    db.session.add(poster)
    db.session.commit()
    assert call(api, "put", "/roster", token, {"residents": residents}).status_code == 200
    response = call(api, "put", "/roster", token, {"residents": residents[:1]})
    assert response.json["status"] == "pending", response.json
    return SimpleNamespace(user=owner.id, client=client, mess=mess.id, report=report, draft=draft, photo=photo, group=group,
                           job=job.id, job_mapping=job_mapping, token=token, token_id=token_id, external_id=external_id, api_stay=api_stay,
                           roster=response.json["roster_id"], site=site, connection=connection.id, arrival=arrival.id,
                           arrival_token=f"party-of-tenant-{tag}", poster_code=poster.poster_code)


@pytest.fixture
def world(app, offices, operator, other_operator):
    a = make_tenant(app, operator, KUTA_SELATAN_JIMBARAN, "A")  # Kanim Ngurah Rai's area
    b = make_tenant(app, other_operator, DENPASAR_SANUR, "B")  # Kanim Denpasar's area
    kos = make_lodging(other_operator, DENPASAR_SANUR, name="Kos B")
    denpasar_officer = make_user("officer.denpasar@example.com", role="officer", office_id=offices["denpasar"].id)
    denpasar_officer_client = logged_in(app, denpasar_officer.email)
    response = denpasar_officer_client.post(f"/officer/lodgings/{kos.id}/reject", data={"reason": "No permit."})
    assert response.status_code == 303
    b.rejected_kos = kos.id

    officer = make_user("officer.ngurahrai@example.com", role="officer", office_id=offices["ngurah_rai"].id)
    supervisor = create_supervisor(email="timpora@example.com", password=TEST_PASSWORD, full_name="Timpora Kuta Selatan",
                                   region_codes=["51.03.05"])  # A's mess is in Kuta Selatan, B's in Denpasar
    admin = make_user("admin@example.com", role="admin")
    # A regional office whose area is Badung (A's mess in Kuta Selatan; B's in Denpasar is not).
    from serasi_web.offices.models import ImmigrationOffice
    from serasi_web.offices.services import replace_areas

    kanwil = ImmigrationOffice(code="KANWIL-BADUNG", name="Kanwil Badung", level="regional")
    db.session.add(kanwil)
    db.session.flush()
    replace_areas(kanwil, ["51.03"])
    db.session.commit()
    kanwil_officer = make_user("officer.kanwil@example.com", role="officer", office_id=kanwil.id)
    from datetime import date

    from serasi_web.privacy.access import record_request

    requests = {user.office_id: record_request(user, document_number="BR000001", issuing_state="SWE", received_on=date.today(),
                                               channel="email").id for user in (denpasar_officer, officer)}
    from serasi_web.searches.services import save_search

    foreign_searches = {"operator B's search": save_search(other_operator, "stays.index", {"q": "ReportedB"}).id,
                        "Kanim Denpasar officer's search": save_search(denpasar_officer, "officer.stays", {"name": "reportedb"}).id}
    own_searches = {"operator A's search": save_search(operator, "stays.index", {"q": "ReportedA"}).id,
                    "the officer's search": save_search(officer, "officer.stays", {"name": "reporteda"}).id,
                    "the supervision team's search": save_search(supervisor, "officer.stays", {"name": "reporteda"}).id,
                    "the Kanwil officer's search": save_search(kanwil_officer, "officer.stays", {"name": "reporteda"}).id,
                    "the admin's search": save_search(admin, "admin.users", {"q": "example"}).id,
                    "the admin's audit filter": save_search(admin, "admin.audit", {"actor": "officer@example.com"}).id}
    run_once()  # the reports' events become deliveries, refused by the receiver
    delivery = db.session.execute(select(Delivery.id).where(Delivery.stay_id == b.report).order_by(Delivery.id)).scalars().first()
    assert delivery is not None
    from serasi_web.federation import backfill as backfills
    from serasi_web.federation.peers import create_peer

    peer, _token = create_peer("SERASI Kanim Singaraja", "Kanim Singaraja", admin)
    backfill = backfills.start(date.today(), admin)
    return SimpleNamespace(peer=peer.id, backfill=backfill.id,
        a=a, b=b, denpasar=offices["denpasar"].id, denpasar_request=requests[offices["denpasar"].id],
        ngurah_rai_request=requests[offices["ngurah_rai"].id], supervisor=supervisor.id, delivery=delivery,
        visa_index=db.session.execute(select(VisaIndex.id).order_by(VisaIndex.code)).scalars().first(),
        foreign_searches=foreign_searches, own_searches=own_searches,
        operator=a.client, officer=logged_in(app, officer.email), supervisor_client=logged_in(app, supervisor.email),
        denpasar_officer=denpasar_officer_client, admin=logged_in(app, admin.email), kanwil=logged_in(app, kanwil_officer.email),
    )


# ---- the tests ----------------------------------------------------------------------------------

def test_every_route_parameter_is_in_the_isolation_table(app):
    problems = [problem for rule in app.url_map.iter_rules() if rule.endpoint not in NOT_TENANT_ROUTES
                for problem in parameter_problems(rule)]
    assert not problems, "\n".join(problems)


def check_routes(subtests, app, world, audience: str, viewers: dict, controls: dict) -> None:
    """Each rule of ``audience`` (one subtest per rule), requested by each viewer with each
    method: 404 for another tenant's ids and nothing changed. ``controls`` must not get 404
    for their own ids (admins: for the same objects) on the rule's GET."""
    rules = rules_of(app, audience)
    assert rules, f"no {audience} routes found"
    for rule in rules:
        with subtests.test(msg=f"{','.join(methods_of(rule))} {rule.rule}"):
            assert not parameter_problems(rule), parameter_problems(rule)
            failures = []
            for name, client in controls.items() if "GET" in rule.methods else ():
                if (rule.endpoint, name) in NOT_FOR_CONTROL:
                    continue
                answers = {url: client.get(url).status_code for url in control_urls(rule, world)}
                if all(status == 404 for status in answers.values()):
                    failures.append(f"control: {name} gets 404 on their own objects too ({', '.join(answers)}): "
                                    "is the URL built right, or the route in the wrong audience?")
            for viewer, client in viewers.items():
                for method in methods_of(rule):
                    for label, url in cases(rule, world):
                        before = database_rows()
                        response = send(client, method, url, body_for(audience, rule, world) if method != "GET" else None)
                        expect(failures, f"{viewer} {method} {url} ({label or 'no id'})", response, 404, before, database_rows())
            if failures:
                pytest.fail(f"{rule.rule} ({rule.endpoint}):\n" + "\n".join(failures), pytrace=False)


def test_an_operator_gets_404_for_another_operators_objects_on_every_route(subtests, app, world):
    # The admin and Kanim Denpasar's officer (who sees B's lodging in the console) are no owners either.
    viewers = {"operator A": world.operator, "Kanim Denpasar's officer": world.denpasar_officer, "the admin": world.admin}
    check_routes(subtests, app, world, "operator", viewers, controls={"operator A": world.operator})


def test_console_users_get_404_for_objects_outside_their_area_on_every_route(subtests, app, world):
    viewers = {"officer of Kanim Ngurah Rai": world.officer, "Timpora Kuta Selatan": world.supervisor_client,
               "officer of the Kanwil of Badung": world.kanwil}
    check_routes(subtests, app, world, "console", viewers, controls=viewers)


def test_only_admins_reach_admin_pages(subtests, app, world):
    viewers = {"operator A": world.operator, "officer of Kanim Ngurah Rai": world.officer, "Timpora Kuta Selatan": world.supervisor_client}
    check_routes(subtests, app, world, "admin", viewers, controls={"the admin": world.admin})


def test_an_api_token_gets_404_for_another_lodgings_external_ids(subtests, app, world):
    token, api = world.a.token, app.test_client()
    # The upsert last: it gives A's lodging an external id equal to B's.
    rules = sorted(rules_of(app, "api"), key=lambda rule: rule.endpoint in NOT_404)
    assert rules, "no API routes with a path parameter found"
    for rule in rules:
        with subtests.test(msg=f"{','.join(methods_of(rule))} {rule.rule}"):
            assert not parameter_problems(rule), parameter_problems(rule)
            failures = []
            if "GET" in rule.methods:
                own = [call(api, "get", url.removeprefix("/api/v1"), token).status_code for url in control_urls(rule, world)]
                if all(status == 404 for status in own):
                    failures.append("control: the token gets 404 on its own lodging's external id too")
            for method in methods_of(rule):
                for label, url in cases(rule, world):
                    kwargs = dict(api_requests(stay_body(document__number="LK0000009")).get(rule.endpoint, {}))
                    expected = NOT_404.get(rule.endpoint, 404)
                    before, before_b = database_rows(), database_rows([world.b.mess])
                    response = call(api, method.lower(), url.removeprefix("/api/v1"), token, kwargs.pop("body", None), **kwargs)
                    what = f"token of A's mess {method} {url} ({label})"
                    if expected == 404:
                        expect(failures, what, response, 404, before, database_rows())
                    else:  # a new stay of A's; B's rows must be as they were
                        expect(failures, what, response, expected, before_b, database_rows([world.b.mess]))
                        if response.status_code == expected and response.json.get("id") == world.b.api_stay:
                            failures.append(f"{what}: answered with B's stay")
            if failures:
                pytest.fail(f"{rule.rule} ({rule.endpoint}):\n" + "\n".join(failures), pytrace=False)
