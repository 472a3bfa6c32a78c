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
