"""Stay permits (izin tinggal), travel document types, purposes and sexes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db

STAY_PERMITS = {
    "bvk": _l("Visa-free visit (BVK)"),
    "voa": _l("Visa on arrival (VoA / e-VOA)"),
    "itk": _l("Visit visa (ITK)"),
    "itas": _l("Limited stay permit (ITAS / KITAS)"),
    "itap": _l("Permanent stay permit (ITAP / KITAP)"),
    "diplomatic": _l("Diplomatic stay permit"),
    "service": _l("Service stay permit"),
}
DOCUMENT_TYPES = {"passport": _l("Passport"), "other": _l("Other travel document")}
PURPOSES = {
    "tourism": _l("Tourism"), "business": _l("Business"), "family": _l("Family visit"),
    "work": _l("Work"), "study": _l("Study"), "other": _l("Other"),
}
SEXES = {"M": _l("Male"), "F": _l("Female"), "X": _l("Unspecified (X)")}

def suggested_permit(visa_index: str) -> str:
    """The stay permit that usually goes with ``visa_index`` ("" when unknown)."""
    from .models import VisaIndex

    if not visa_index:
        return ""
    visa = VisaIndex.__table__.c
    row = db.session.connection().execute(  # a plain statement: this runs on every report sent
        select(visa.suggested_permit).where(visa.code == visa_index.strip().upper(), visa.active.is_(True))
    ).first()
    return row[0] if row else ""


# The descriptions the visa index table starts with (migration 0002), in the reader's language.
# An administrator's own text is shown as written.
SEEDED_VISA_INDEX_DESCRIPTIONS = {
    "Visa on arrival (tourism, government visit, business talks, transit)": _l("Visa on arrival (tourism, government visit, business talks, transit)"),
    "Single-entry visit visa: tourism": _l("Single-entry visit visa: tourism"),
    "Single-entry visit visa: business": _l("Single-entry visit visa: business"),
    "Single-entry visit visa: medical treatment": _l("Single-entry visit visa: medical treatment"),
    "Single-entry visit visa: family": _l("Single-entry visit visa: family"),
    "Single-entry visit visa: arts, culture, sport": _l("Single-entry visit visa: arts, culture, sport"),
    "Multiple-entry visit visa: tourism": _l("Multiple-entry visit visa: tourism"),
    "Multiple-entry visit visa: business": _l("Multiple-entry visit visa: business"),
    "Limited stay visa: work": _l("Limited stay visa: work"),
    "Limited stay visa: investment": _l("Limited stay visa: investment"),
    "Limited stay visa: study": _l("Limited stay visa: study"),
    "Limited stay visa: family unification with an Indonesian citizen": _l("Limited stay visa: family unification with an Indonesian citizen"),
    "Limited stay visa: repeat traveller": _l("Limited stay visa: repeat traveller"),
    "Limited stay visa: retirement": _l("Limited stay visa: retirement"),
    "Limited stay visa: remote worker": _l("Limited stay visa: remote worker"),
}


def visa_index_description(description: str) -> str:
    """A visa index's description: translated when it is one the table started with."""
    found = SEEDED_VISA_INDEX_DESCRIPTIONS.get(description or "")
    return str(found) if found is not None else (description or "")
