"""Demo data: the offices of the examples in docs/, an admin, officers and an operator.

Loaded only by ``make run`` on an empty database or by ``flask --app wsgi serasi demo``. The
passwords are random per database and written to instance/demo-logins.txt (never in the code).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from .accounts.models import AccountKind, Role, User
from .accounts.services import create_user, find_user_by_email
from .extensions import db
from .lodgings.models import Lodging, LodgingStatus
from .lodgings.services import register_lodging
from .offices.models import ImmigrationOffice
from .offices.services import OfficeRow, replace_areas, upsert_office

DEMO_OFFICES = [
    OfficeRow("KANIM-JAKBAR", "Kantor Imigrasi Kelas I Non TPI Jakarta Barat", "Kelas I Non TPI",
              "Jl. Pos Kota No. 4, Jakarta Barat", "+62 21 6904795", "", ["31.73"]),
    OfficeRow("KANIM-NGURAH-RAI", "Kantor Imigrasi Kelas I Khusus TPI Ngurah Rai", "Kelas I Khusus TPI",
              "Jl. Raya I Gusti Ngurah Rai, Tuban, Kuta, Badung", "+62 361 9351038", "",
              ["51.03.01", "51.03.05", "51.03.06"]),  # Kuta, Kuta Selatan, Kuta Utara
    OfficeRow("KANIM-DENPASAR", "Kantor Imigrasi Kelas I TPI Denpasar", "Kelas I TPI",
              "Jl. D.I. Panjaitan No. 3, Renon, Denpasar", "+62 361 227828", "",
              ["51.71", "51.03.02", "51.03.03", "51.03.04"]),  # Kota Denpasar, Mengwi, Abiansemal, Petang
    OfficeRow("KANIM-SINGARAJA", "Kantor Imigrasi Kelas II TPI Singaraja", "Kelas II TPI",
              "Jl. Seririt-Singaraja, Buleleng", "+62 362 32174", "", ["51.08", "51.01"]),  # Buleleng, Jembrana
]


def demo_letterhead(office_code: str) -> str:
    """What the demo receipts print above the office's name: ministry, directorate, regional office."""
    region = "DKI Jakarta" if office_code == "KANIM-JAKBAR" else "Bali"
    return f"Kementerian Imigrasi dan Pemasyarakatan Republik Indonesia\nDirektorat Jenderal Imigrasi\nKantor Wilayah {region}"


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User)) and not db.session.scalar(
        select(func.count()).select_from(ImmigrationOffice)
    )


def logins_file() -> Path:
    return Path(current_app.instance_path) / "demo-logins.txt"


def load_demo_data() -> list[tuple[str, str, str]]:
    """Create the demo set (idempotent); return (role, e-mail, password) of the accounts it created."""
    offices = {}
    for row in DEMO_OFFICES:
        office = db.session.execute(select(ImmigrationOffice).where(ImmigrationOffice.code == row.code)).scalar_one_or_none()
        if office is None:
            office = upsert_office(row)
            office.letterhead = demo_letterhead(row.code)
            replace_areas(office, row.region_codes, reroute=False)
        offices[row.code] = office

    created: list[tuple[str, str, str]] = []
    asked: list[str] = []

    def account(role, email, name, **extra) -> User:
        asked.append(email)
        user = find_user_by_email(email)
        if user is None:
            password = secrets.token_urlsafe(9)
            user = create_user(email=email, password=password, full_name=name, role=role, **extra)
            created.append((role, email, password))
        return user

    account(Role.ADMIN, "admin@serasi.test", "Admin SERASI")
    account(Role.OFFICER, "petugas.ngurahrai@serasi.test", "Made Petugas", office_id=offices["KANIM-NGURAH-RAI"].id)
    account(Role.OFFICER, "petugas.denpasar@serasi.test", "Ketut Petugas", office_id=offices["KANIM-DENPASAR"].id)
    account(Role.OFFICER, "petugas.jakbar@serasi.test", "Budi Petugas", office_id=offices["KANIM-JAKBAR"].id)
    account(Role.DPO, "pdp.ngurahrai@serasi.test", "Putu Pelindung Data", office_id=offices["KANIM-NGURAH-RAI"].id)
    operator = account(Role.OPERATOR, "kos.jimbaran@serasi.test", "Wayan Pemilik", account_kind=AccountKind.LODGING_BUSINESS)
    db.session.commit()

    if not db.session.scalar(select(func.count()).select_from(Lodging).where(Lodging.owner_id == operator.id)):
        kos = register_lodging(operator, dict(
            name="Kos Melati Jimbaran", lodging_type="boarding_house", street_address="Jl. Uluwatu No. 12",
            province_code="51", regency_code="51.03", district_code="51.03.05", village_code="51.03.05.1006",
            postal_code="80362", nib="9120001234567", room_count=12, person_in_charge="Wayan Pemilik", phone="0812 3456 7890"))
        kos.status = LodgingStatus.VERIFIED
        register_lodging(operator, dict(
            name="Villa Sanur Indah", lodging_type="villa", street_address="Jl. Danau Tamblingan No. 80",
            province_code="51", regency_code="51.71", district_code="51.71.01", village_code="51.71.01.1006",
            postal_code="80228", nib="9120007654321", room_count=4, person_in_charge="Wayan Pemilik", phone="0812 3456 7890"))
        db.session.commit()

    if created:
        path = logins_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Every account made now means a new database: the file starts again, so the logins it
        # lists (and `make run` prints) are this database's, not also those of one deleted before.
        fresh = len(created) == len(asked)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if fresh else os.O_APPEND)
        with open(os.open(path, flags, 0o600), "w" if fresh else "a") as handle:
            for role, email, password in created:
                handle.write(f"{role:9} {email:34} {password}\n")
    return created
