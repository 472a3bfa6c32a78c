"""Demo data at scale: lodgings and up to millions of realistic guest reports, for benchmarks and demos.

``flask --app wsgi serasi demo-data --stays N`` adds, on top of the demo offices and accounts of
``demo.py``, about one lodging per 2,000 stays spread over Bali (mostly the Kuta area of Kanim
Ngurah Rai, then Denpasar, Mengwi, Buleleng, a few in Gianyar that no demo office covers) and a
few in Jakarta Barat, and ``N`` stays over the last ``--days`` days:

- nationalities in the mix of Bali's foreign arrivals (Australia first, then India, China, the
  United Kingdom, the United States, Singapore, Japan, Korea, Malaysia ...), with names of each;
- 1 to 30 nights, most stays short; one guest in five moves on to another lodging, sometimes
  checking in there before the first lodging reported the check-out (what supervision looks for);
- about 6 % reported after the 24-hour deadline, some guests never checked out, some overstaying
  their stay permit, a few voided reports and fresh drafts; some verified lodgings go silent.

Rows go in with SQLAlchemy Core in batches (one INSERT per batch, ids returned in order), with the
version history the services would have written, so 1,000,000 stays take minutes.
"""
from __future__ import annotations

import bisect
import itertools
import os
import random
import secrets
import time as clock
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from sqlalchemy import func, insert, select

from .accounts.models import Role, User
from .database import utcnow
from .extensions import db
from .lodgings.models import Lodging, LodgingStatus
from .offices.models import OfficeArea
from .offices.routing import office_id_for_region
from .passwords import hash_password
from .reference import regions
from .stays.models import Stay, StayVersion
from .stays.receipts import RECEIPT_ALPHABET
from .stays.services import REPORT_FIELDS, REPORTING_WINDOW, fold_name

BATCH_SIZE = 5000
STAYS_PER_LODGING = 2000

# Share of foreign arrivals in Bali by nationality (rounded, recent years' order of markets).
NATIONALITY_MIX = {
    "AUS": 24, "IND": 9, "CHN": 8, "GBR": 6, "USA": 5, "SGP": 5, "JPN": 4, "KOR": 4, "MYS": 4, "FRA": 4,
    "DEU": 4, "RUS": 4, "NLD": 2, "NZL": 2, "CAN": 2, "TWN": 1.5, "ITA": 1.5, "ESP": 1, "CHE": 1, "SWE": 1,
    "PHL": 1, "THA": 1, "VNM": 1, "BRA": 1, "UKR": 1, "POL": 1,
}
_ENGLISH = (["Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Anderson", "Thompson", "Walker", "Harris",
             "Martin", "O'Connor", "Murphy", "Kelly", "Campbell", "Mitchell", "Clarke", "Nguyen", "White", "Ryan"],
            ["Jack", "Olivia", "Charlotte", "Noah", "William", "Amelia", "Isla", "Liam", "Chloe", "Thomas", "Ethan",
             "Mia", "Grace", "Lucas", "Harper", "James", "Sophie", "Emily", "Zoë", "Seán"])
NAMES: dict[str, tuple[list[str], list[str]]] = {
    "ENG": _ENGLISH,
    "CHN": (["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"],
            ["Wei", "Fang", "Jing", "Min", "Lei", "Yan", "Hao", "Xin", "Yu", "Jun", "Tingting", "Xiaoming"]),
    "TWN": (["Chen", "Lin", "Huang", "Chang", "Lee", "Wang"], ["Yi-chen", "Chia-hao", "Shu-fen", "Tsung-han"]),
    "IND": (["Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Das"],
            ["Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul", "Divya"]),
    "SGP": (["Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Teo", "Koh"],
            ["Wei Ling", "Jun Jie", "Hui Min", "Zhi Hao", "Siti", "Muhammad", "Priya", "Daniel"]),
    "JPN": (["Satō", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Itō", "Yamamoto", "Nakamura", "Kobayashi", "Katō"],
            ["Haruto", "Yui", "Sōta", "Yuna", "Ren", "Hina", "Kaito", "Aoi", "Yūki"]),
    "KOR": (["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"], ["Min-jun", "Seo-yeon", "Ji-ho", "Ha-eun", "Do-yun", "Soo-ah"]),
    "MYS": (["Abdullah", "Rahman", "Ismail", "Tan", "Lim", "Wong", "Raj"], ["Nur Aisyah", "Muhammad Hafiz", "Siti Nurhaliza", "Ahmad", "Mei Ling"]),
    "FRA": (["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau"],
            ["Léa", "Chloé", "Hugo", "Lucas", "Zoé", "Théo", "Inès", "Gabriel"]),
    "DEU": (["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch"],
            ["Lukas", "Leonie", "Jonas", "Hannah", "Felix", "Lea", "Maximilian", "Jürgen", "Sören"]),
    "RUS": (["Ivanov", "Smirnov", "Kuznetsov", "Popov", "Vasiliev", "Petrov", "Sokolov", "Mikhailova", "Ivanova"],
            ["Aleksandr", "Dmitry", "Anastasia", "Ekaterina", "Maria", "Ivan", "Sergei", "Olga"]),
    "UKR": (["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko"], ["Oleksandr", "Olena", "Andrii", "Iryna"]),
    "POL": (["Nowak", "Kowalski", "Wiśniewski", "Wójcik"], ["Jakub", "Zofia", "Łukasz", "Małgorzata"]),
    "NLD": (["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit"],
            ["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess"]),
    "ITA": (["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"], ["Giulia", "Matteo", "Francesca", "Niccolò"]),
    "ESP": (["García", "Fernández", "López", "Martínez", "Sánchez"], ["José", "Lucía", "Martín", "Sofía"]),
    "CHE": (["Müller", "Meier", "Schmid", "Keller", "Favre"], ["Noah", "Mia", "Luca", "Léonie"]),
    "SWE": (["Eriksson", "Johansson", "Andersson", "Nilsson", "Karlsson"], ["Björn", "Astrid", "Erik", "Ingrid", "Åsa"]),
    "BRA": (["Silva", "Santos", "Oliveira", "Souza", "Pereira"], ["João", "Ana", "Luíza", "Gabriel"]),
    "PHL": (["Santos", "Reyes", "Cruz", "Bautista", "Garcia"], ["Maria", "Jose", "Angelica", "Mark"]),
    "THA": (["Srisai", "Wongsakul", "Chaiyaporn", "Suksawat"], ["Somchai", "Nattaya", "Kittisak", "Pimchanok"]),
    "VNM": (["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"], ["Thị Mai", "Văn Hùng", "Minh Anh", "Quốc Bảo"]),
}
_NAMES_OF = {code: NAMES.get(code, _ENGLISH) for code in NATIONALITY_MIX}
VISA_FREE = {"SGP", "MYS", "PHL", "THA", "VNM"}  # ASEAN: visa-free visit (BVK)
# (stay permit, visa index, days valid, weight) for everyone else.
PERMITS = [("voa", "B1", 30, 78), ("itk", "C1", 60, 12), ("itas", "E33G", 365, 7), ("itas", "E28A", 365, 2), ("itap", "", 1825, 1)]
PURPOSES = ["tourism"] * 16 + ["business", "business", "family", "work", "study", "other"]
PORTS = ["Ngurah Rai", "Ngurah Rai", "Ngurah Rai", "Soekarno-Hatta", "Benoa", "Juanda"]

# Where the lodgings are: (district code, share). Gianyar has no demo office (admin's "no office").
AREAS = [("51.03.05", 24), ("51.03.01", 18), ("51.03.06", 20), ("51.71.01", 8), ("51.71.03", 3), ("51.71.02", 2),
         ("51.71.04", 2), ("51.03.02", 6), ("51.03.03", 1), ("51.08.06", 5), ("51.04.04", 2), ("31.73.03", 3), ("31.73.01", 1)]
LODGING_TYPES = [("villa", "Villa", 30), ("hotel", "Hotel", 20), ("guest_house", "Guest House", 15), ("homestay", "Homestay", 12),
                 ("boarding_house", "Kos", 10), ("apartment", "Apartemen", 6), ("inn", "Losmen", 4), ("company_mess", "Mess", 3)]
LODGING_WORDS = ["Melati", "Kirana", "Segara", "Taman", "Bukit", "Dewi", "Sari", "Puri", "Alam", "Kembang", "Surya", "Bulan",
                 "Pantai", "Jepun", "Cempaka", "Anggrek", "Tirta", "Wana", "Ubud", "Lestari", "Indah", "Harmoni", "Padi", "Laut"]


@dataclass
class DemoLodging:
    id: int
    owner_id: int
    owner_email: str
    weight: float
    pending_until: datetime | None  # reports before this were made while the lodging was unverified
    silent_from: date | None  # a verified lodging that stopped reporting
    utc_offset: int
    created_at: datetime | None = None


@dataclass
class Result:
    lodgings: int = 0
    stays: int = 0
    versions: int = 0
    seconds: float = 0.0
    by_status: dict = field(default_factory=dict)


def generate(stays: int, days: int = 730, seed: int | None = None, now: datetime | None = None,
             progress: Callable[[int, int], None] | None = None, bulk: bool | None = None) -> Result:
    """Add ``stays`` demo reports (and the lodgings for them) to the database and commit.
    ``bulk`` (default: from ``BULK_LOAD_FROM`` stays on) sets the stay tables' secondary indexes
    aside during the load on PostgreSQL."""
    from .demo import load_demo_data

    started = clock.perf_counter()
    now = (now or utcnow()).replace(microsecond=0)
    rng = random.Random(seed)
    unique = random.Random(os.urandom(16))  # receipt numbers must differ between runs
    load_demo_data()
    ensure_demo_supervisor()
    lodgings = _create_lodgings(max(20, stays // STAYS_PER_LODGING), days, now, rng, unique)
    result = Result(lodgings=len(lodgings))
    writer = _Writer(progress, stays)
    with _indexes_set_aside(("stay", "stay_version"), stays >= BULK_LOAD_FROM if bulk is None else bulk):
        for row, events in _stays(stays, days, now, lodgings, rng, unique):
            writer.add(row, events)
        writer.flush()
    result.stays, result.versions, result.by_status = writer.stays, writer.versions, writer.by_status
    result.seconds = clock.perf_counter() - started
    return result


def ensure_demo_supervisor() -> None:
    """A Timpora account for Kuta and Kuta Selatan (its password joins instance/demo-logins.txt)."""
    from .accounts.services import find_user_by_email
    from .demo import logins_file
    from .officer.services import create_supervisor

    email = "timpora.kuta@serasi.test"
    if find_user_by_email(email) is not None:
        return
    password = secrets.token_urlsafe(9)
    create_supervisor(email=email, password=password, full_name="Timpora Kuta (Polsek Kuta)", region_codes=["51.03.01", "51.03.05"])
    path = logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as handle:
        handle.write(f"{Role.SUPERVISOR.value:9} {email:34} {password}\n")


# ---- lodgings -----------------------------------------------------------------------------------

def _village(district: str, rng: random.Random) -> str:
    villages = regions.children(district)
    return rng.choice(villages).code if villages else district


def _create_lodgings(count: int, days: int, now: datetime, rng: random.Random, unique: random.Random) -> list[DemoLodging]:
    """``count`` lodgings (and one operator per three) inserted in bulk and routed to offices."""
    tag = "".join(unique.choices("abcdefghjkmnpqrstuvwxyz23456789", k=6))
    password_hash = hash_password(secrets.token_urlsafe(24))  # nobody logs in as a demo operator
    operator_rows = [dict(email=f"demo.{tag}.{number}@serasi.test", password_hash=password_hash,
                          full_name=f"Pemilik Demo {number}", role=Role.OPERATOR.value, account_kind="lodging_business",
                          enabled=True, created_at=now - timedelta(days=days + 60))
                     for number in range(1, count // 3 + 2)]
    operator_ids = db.session.execute(insert(User.__table__).returning(User.__table__.c.id, sort_by_parameter_order=True),
                                      operator_rows).scalars().all()
    operators = list(zip(operator_ids, (row["email"] for row in operator_rows)))
    area_map = dict(db.session.execute(select(OfficeArea.region_code, OfficeArea.office_id)).all())
    start = now - timedelta(days=days)
    districts = [code for code, _share in AREAS]
    district_weights = list(itertools.accumulate(share for _code, share in AREAS))
    type_weights = list(itertools.accumulate(weight for *_type, weight in LODGING_TYPES))
    rows, demo = [], []
    for number in range(count):
        district = rng.choices(districts, cum_weights=district_weights)[0]
        type_key, prefix, _weight = rng.choices(LODGING_TYPES, cum_weights=type_weights)[0]
        village = _village(district, rng)
        created = start - timedelta(days=rng.randint(1, 400)) if rng.random() < 0.85 else start + timedelta(days=rng.randint(0, days - 1))
        status_roll = rng.random()
        status = LodgingStatus.VERIFIED if status_roll < 0.86 else LodgingStatus.PENDING if status_roll < 0.96 else LodgingStatus.REJECTED
        decided = created + timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 8))
        if status != LodgingStatus.PENDING and decided > now:
            status, decided = LodgingStatus.PENDING, None
        owner_id, owner_email = operators[number // 3]
        rooms = {"hotel": rng.randint(20, 200), "villa": rng.randint(1, 8), "apartment": rng.randint(10, 60)}.get(type_key, rng.randint(3, 20))
        rows.append(dict(
            owner_id=owner_id, name=f"{prefix} {rng.choice(LODGING_WORDS)} {rng.choice(LODGING_WORDS)} {number + 1}",
            lodging_type=type_key, street_address=f"Jl. {rng.choice(LODGING_WORDS)} No. {rng.randint(1, 200)}",
            province_code=district[:2], regency_code=district[:5], district_code=district, village_code=village,
            postal_code="", nib=f"91{rng.randint(10**10, 10**11 - 1)}", room_count=rooms, person_in_charge="Pengelola Demo",
            phone=f"0812 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            office_id=office_id_for_region(village, area_map), status=status.value,
            rejection_reason="NIB tidak sesuai dengan nama usaha." if status == LodgingStatus.REJECTED else None,
            decided_at=decided if status != LodgingStatus.PENDING else None, decided_by_id=None,
            created_at=created, updated_at=decided if status != LodgingStatus.PENDING else created,
        ))
        silent_from = None
        if status == LodgingStatus.VERIFIED and rng.random() < 0.04:
            silent_from = (now - timedelta(days=rng.randint(20, 120))).date()
        weight = rooms ** 0.6 * (0.2 if status == LodgingStatus.REJECTED else 1.0)
        demo.append(DemoLodging(0, owner_id, owner_email, weight,
                                pending_until=now + timedelta(days=1) if status == LodgingStatus.PENDING else decided,
                                silent_from=silent_from, utc_offset=8 if district[:2] == "51" else 7))
    ids = db.session.execute(insert(Lodging.__table__).returning(Lodging.__table__.c.id, sort_by_parameter_order=True),
                             rows).scalars().all()
    for lodging, lodging_id, row in zip(demo, ids, rows):
        lodging.id = lodging_id
        lodging.created_at = row["created_at"]
    db.session.commit()
    return demo


# ---- stays --------------------------------------------------------------------------------------

@dataclass
class _Traveller:
    nationality: str
    surname: str
    given_names: str
    sex: str
    birth: date
    document: str
    expiry: date
    entry: date
    permit: str
    visa_index: str
    valid_until: date | None
    port: str
    purpose: str


def _traveller(serial: int, check_in_day: date, rng: random.Random, nationalities, cum_weights) -> _Traveller:
    nationality = rng.choices(nationalities, cum_weights=cum_weights)[0]
    surnames, given = _NAMES_OF[nationality]
    if nationality in VISA_FREE:
        permit, index, valid_days = "bvk", "", 30
    else:
        permit, index, valid_days, _w = rng.choices(PERMITS, weights=[p[3] for p in PERMITS])[0]
    entry = check_in_day - timedelta(days=rng.choice((0, 0, 0, 1, 2, 5)))
    if rng.random() < 0.04:
        # Came in long before this stay: the permit may well have run out meanwhile.
        entry = check_in_day - timedelta(days=valid_days + rng.randint(-10, 25))
    birth = date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
    letters = "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=2))
    return _Traveller(
        nationality=nationality, surname=rng.choice(surnames), given_names=rng.choice(given), sex=rng.choice("MF"),
        birth=birth, document=f"{letters}{serial:07d}"[-9:], expiry=check_in_day + timedelta(days=rng.randint(200, 3500)),
        entry=entry, permit=permit, visa_index=index, valid_until=entry + timedelta(days=valid_days - 1) if permit != "itap" else None,
        port=rng.choice(PORTS), purpose=rng.choice(PURPOSES),
    )


def _stays(total: int, days: int, now: datetime, lodgings: list[DemoLodging], rng: random.Random, unique: random.Random):
    """Yield (stay row, [(action, time, reason)]) in check-in order, exactly ``total`` of them."""
    nationalities = list(NATIONALITY_MIX)
    nationality_weights = list(itertools.accumulate(NATIONALITY_MIX.values()))
    lodging_weights = list(itertools.accumulate(lodging.weight for lodging in lodgings))
    today = (now + timedelta(hours=8)).date()
    first_day = today - timedelta(days=days - 1)
    follow_ups: dict[date, list[tuple[_Traveller, DemoLodging]]] = {}
    serial = unique.randrange(10**6, 9 * 10**6)
    made = 0

    def pick_lodging(day: date, avoid: DemoLodging | None = None) -> DemoLodging:
        for _attempt in range(8):
            lodging = lodgings[bisect.bisect_left(lodging_weights, rng.random() * lodging_weights[-1])]
            if lodging is not avoid and (lodging.silent_from is None or day < lodging.silent_from) and lodging.created_at.date() <= day:
                return lodging
        return lodging

    for day_number in range(days):
        day = first_day + timedelta(days=day_number)
        remaining_days = days - day_number
        quota = (total - made) // remaining_days if remaining_days > 1 else total - made
        todays = follow_ups.pop(day, [])[:quota]
        while len(todays) < quota:
            serial += 1
            traveller = _traveller(serial, day, rng, nationalities, nationality_weights)
            todays.append((traveller, pick_lodging(day)))
        rows = []
        for traveller, lodging in todays:
            row, events, nights = _stay_row(traveller, lodging, day, now, today, rng, unique)
            rows.append((row, events))
            if rng.random() < 0.2 and row["status"] != "voided":
                # Moves on to another lodging: usually a day or two later, sometimes before the
                # first lodging reported the check-out.
                next_day = day + timedelta(days=max(1, nights + rng.choice((0, 0, 0, 1, 2, 4, -1))))
                if next_day <= today:
                    follow_ups.setdefault(next_day, []).append((traveller, pick_lodging(next_day, avoid=lodging)))
        rows.sort(key=lambda pair: pair[0]["check_in_at"])
        for pair in rows:
            made += 1
            yield pair
    # Anything scheduled after the last day was already dropped (next_day <= today).


def _receipt(unique: random.Random) -> str:
    text = "".join(unique.choices(RECEIPT_ALPHABET, k=12))
    return f"STT-{text[0:4]}-{text[4:8]}-{text[8:12]}"


def _stay_row(traveller: _Traveller, lodging: DemoLodging, day: date, now: datetime, today: date, rng: random.Random,
              unique: random.Random):
    zone = timezone(timedelta(hours=lodging.utc_offset))
    local = datetime.combine(day, time(rng.choice((10, 12, 13, 14, 14, 15, 15, 16, 18, 20, 22)), rng.randint(0, 59)), tzinfo=zone)
    check_in = min(local.astimezone(timezone.utc), now - timedelta(minutes=rng.randint(30, 300)))
    nights = min(30, 1 + int(rng.expovariate(1 / 4.5)))
    planned = day + timedelta(days=nights)
    deadline = check_in + REPORTING_WINDOW
    row = dict(
        lodging_id=lodging.id, group_id=None, accompanying_stay_id=None, status="draft", version=1, form_token=None,
        surname=traveller.surname, given_names=traveller.given_names, name_folded=fold_name(traveller.given_names, traveller.surname),
        sex=traveller.sex, date_of_birth=traveller.birth, place_of_birth="", nationality=traveller.nationality,
        document_type="passport", document_number=traveller.document, issuing_state=traveller.nationality,
        document_expiry=traveller.expiry, entry_date=min(traveller.entry, day), port_of_entry=traveller.port,
        stay_permit=traveller.permit, visa_index=traveller.visa_index, permit_number="", permit_valid_until=traveller.valid_until,
        entry_stamp_qr="", check_in_at=check_in, planned_check_out=planned, room=str(rng.randint(1, 40)),
        purpose=traveller.purpose, notes="", deadline_at=deadline, reported_at=None, late=False, receipt_number=None,
        lodging_pending_at_report=False, checked_out_at=None, check_out_reported_at=None, check_out_late=False,
        void_reason=None, voided_at=None, created_by_id=lodging.owner_id, created_at=check_in + timedelta(minutes=rng.randint(2, 50)),
        updated_at=None,
    )
    events = []
    if now - check_in < timedelta(hours=30) and rng.random() < 0.15:
        row["created_at"] = min(row["created_at"], now)
        row["updated_at"] = row["created_at"]
        events.append(("created", row["created_at"], ""))
        return row, events, nights
    late = rng.random() < 0.06
    delay = timedelta(hours=rng.uniform(25, 96)) if late else timedelta(minutes=rng.uniform(5, 60 * 20))
    reported = min(check_in + delay, now - timedelta(minutes=1))
    row.update(status="reported", reported_at=reported, late=reported > deadline, receipt_number=_receipt(unique),
               created_at=min(row["created_at"], reported), updated_at=reported,
               lodging_pending_at_report=lodging.pending_until is not None and reported < lodging.pending_until)
    events.append(("submitted", reported, ""))
    if rng.random() < 0.02:
        corrected = min(reported + timedelta(hours=rng.uniform(1, 30)), now)
        row["room"] = str(int(row["room"]) + 1)
        events.append(("corrected", corrected, "Pindah kamar."))
        row["updated_at"] = corrected
    if rng.random() < 0.005:
        voided = min(row["updated_at"] + timedelta(hours=rng.uniform(1, 12)), now)
        row.update(status="voided", voided_at=voided, void_reason="Dilaporkan dua kali.", updated_at=voided)
        events.append(("voided", voided, "Dilaporkan dua kali."))
    elif planned <= today and (today - planned > timedelta(days=60) or rng.random() > 0.03):
        # Checked out on (or about) the planned day; of the last two months' guests 3 % were
        # not checked out yet (the watch list); older ones were all cleared up by now.
        out_local = datetime.combine(planned, time(rng.randint(7, 12), rng.randint(0, 59)), tzinfo=zone)
        checked_out = min(max(out_local.astimezone(timezone.utc), check_in + timedelta(hours=2)), now - timedelta(minutes=1))
        told = min(checked_out + timedelta(hours=rng.uniform(0.1, 36)), now)
        row.update(status="checked_out", checked_out_at=checked_out, check_out_reported_at=told,
                   check_out_late=told - checked_out > timedelta(hours=24), updated_at=max(row["updated_at"], told))
        events.append(("checked_out", told, ""))
    row["version"] = len(events)
    return row, events, nights


def _snapshot(row: dict) -> dict:
    return {name: (value.isoformat() if isinstance(value, (date, datetime)) else value)
            for name, value in ((name, row[name]) for name in REPORT_FIELDS + ("status", "accompanying_stay_id"))}


class _Writer:
    """Collects rows and writes them in batches: stays (ids back in order), then their versions."""

    def __init__(self, progress, total: int):
        self.progress, self.total = progress, total
        self.pending: list[tuple[dict, list]] = []
        self.stays = self.versions = 0
        self.by_status: dict[str, int] = {}
        self.owner_emails: dict[int, str] = {}

    def add(self, row: dict, events: list) -> None:
        self.pending.append((row, events))
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows = [row for row, _events in self.pending]
        ids = _reserve_stay_ids(len(rows))
        for stay_id, row in zip(ids, rows):
            row["id"] = stay_id
        versions = []
        for stay_id, (row, events) in zip(ids, self.pending):
            snapshot = _snapshot(row)
            label = self._email(row["created_by_id"])
            for number, (action, moment, reason) in enumerate(events, start=1):
                versions.append(dict(stay_id=stay_id, version=number, action=action, reason=reason, changed_at=moment,
                                     changed_by_id=row["created_by_id"], changed_by_label=label, snapshot=snapshot, changes={}))
            self.by_status[row["status"]] = self.by_status.get(row["status"], 0) + 1
        if db.engine.dialect.name == "postgresql":
            _copy_rows(Stay.__table__, rows)
            _copy_rows(StayVersion.__table__, versions)
        else:
            # A plain executemany: RETURNING with ids in order makes SQLite insert row by row.
            db.session.execute(insert(Stay.__table__), rows)
            db.session.execute(insert(StayVersion.__table__), versions)
        db.session.commit()
        self.stays += len(rows)
        self.versions += len(versions)
        self.pending = []
        if self.progress:
            self.progress(self.stays, self.total)

    def _email(self, user_id: int) -> str:
        if user_id not in self.owner_emails:
            self.owner_emails[user_id] = db.session.scalar(select(User.email).where(User.id == user_id)) or ""
        return self.owner_emails[user_id]


# From this many stays on, PostgreSQL loads them with the tables' secondary indexes dropped and
# builds the indexes once at the end (docs/benchmarks-officer.md, "10 million stays").
BULK_LOAD_FROM = 200_000


@contextmanager
def _indexes_set_aside(tables: tuple[str, ...], wanted: bool):
    """On PostgreSQL, drop the secondary indexes of ``tables`` (not those of primary keys or
    unique constraints: they keep the data right) for the block, and build them again afterwards,
    also when the block fails or is interrupted. Maintaining a dozen indexes row by row is what
    made a large load slow; one sorted build per index at the end is many times faster. The
    definitions are read back from the catalogue, so the indexes come back exactly as the
    migrations made them."""
    from sqlalchemy import text

    if not wanted or db.engine.dialect.name != "postgresql":
        yield
        return
    definitions = db.session.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
        " AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conname = i.indexname AND c.contype IN ('p', 'u', 'x'))"), {"tables": list(tables)}).all()
    for name, _definition in definitions:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    # The statistics' triggers would note each row's day (officer/summaries.py); one note that
    # everything must be counted again does the same for a bulk load.
    db.session.execute(text("ALTER TABLE stay DISABLE TRIGGER stat_stay_inserted"))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE stay ENABLE TRIGGER stat_stay_inserted"))
        db.session.execute(text("INSERT INTO stat_dirty_day (day) VALUES (NULL)"))
        db.session.execute(text("SET maintenance_work_mem = '512MB'"))
        for _name, definition in definitions:
            db.session.execute(text(definition))
        db.session.commit()
        for table in tables:
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()


def _copy_rows(table, rows: list[dict]) -> None:
    """Write ``rows`` with PostgreSQL's COPY, in the session's transaction: for the tens of millions
    of rows of a national instance's benchmark it is several times faster than a multi-row INSERT
    (docs/benchmarks-officer.md). A column the rows leave out gets its scalar default, or is left
    to the database (the versions' ids come from their sequence)."""
    from psycopg.types.json import Json
    from sqlalchemy import JSON

    if not rows:
        return
    given = rows[0].keys()
    columns = [column for column in table.columns
               if column.name in given or (column.default is not None and column.default.is_scalar)]
    defaults = {column.name: column.default.arg for column in columns if column.name not in given}
    json_columns = {column.name for column in columns if isinstance(column.type, JSON)}
    names = [column.name for column in columns]
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for name in names:
                value = row[name] if name in row else defaults[name]
                values.append(Json(value) if name in json_columns and value is not None else value)
            copy.write_row(values)


def _reserve_stay_ids(count: int) -> list[int]:
    """Ids for the next ``count`` stays. PostgreSQL hands them out from the table's sequence (safe
    with other writers); SQLite takes the ones after the highest (run the generator while nobody
    else reports: a concurrent report would make the batch fail, never mix rows up)."""
    from sqlalchemy import text

    if db.engine.dialect.name == "postgresql":
        return list(db.session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('stay', 'id')) FROM generate_series(1, :count)"), {"count": count}))
    highest = db.session.scalar(select(func.max(Stay.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def stay_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Stay))
