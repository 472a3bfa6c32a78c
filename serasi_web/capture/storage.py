"""Keeping capture photos while a report is a draft (off by default: CAPTURE_KEEP_PHOTOS).

A kept photo is re-encoded from its pixels, which drops EXIF (camera, time, GPS position); it is
linked to the draft saved from the same form and deleted when the report is submitted or voided.
Photos of forms never saved are deleted after a day (``purge_unclaimed``, run daily by the worker).
"""
from __future__ import annotations

import io
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, update

from ..database import utcnow
from ..extensions import db
from .images import _open
from .models import CapturePhoto

KEEP_LONG_SIDE = 2000
UNCLAIMED_FOR = timedelta(days=1)


def keep_photo(data: bytes, lodging_id: int, form_token: str) -> None:
    if not current_app.config["CAPTURE_KEEP_PHOTOS"] or not form_token:
        return
    image = _open(data, current_app.config["CAPTURE_MAX_PIXELS"], scaled=True, mode="RGB")
    image.thumbnail((KEEP_LONG_SIDE, KEEP_LONG_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)  # a fresh file from the pixels: no EXIF, no GPS
    db.session.add(CapturePhoto(lodging_id=lodging_id, form_token=form_token, content=out.getvalue()))
    db.session.commit()


def purge_unclaimed(now=None) -> int:
    """Delete the photos of forms never saved, a day after they were taken (the worker's daily
    job; so none outlive the setting being switched off either). Returns how many went."""
    result = db.session.execute(delete(CapturePhoto).where(
        CapturePhoto.stay_id.is_(None), CapturePhoto.created_at < (now or utcnow()) - UNCLAIMED_FOR))
    return result.rowcount


def claim_photos(stay) -> None:
    """Link the photos taken on the form that created ``stay`` (while it is a draft)."""
    if stay.form_token:
        db.session.execute(update(CapturePhoto).where(CapturePhoto.lodging_id == stay.lodging_id, CapturePhoto.form_token == stay.form_token,
                                                      CapturePhoto.stay_id.is_(None)).values(stay_id=stay.id))


def discard_photos(stay) -> None:
    """The report left the draft state: its photos go."""
    db.session.execute(delete(CapturePhoto).where(CapturePhoto.stay_id == stay.id))
    discard_form_photos(stay)


def discard_form_photos(stay) -> None:
    """The photos taken on the form that created ``stay`` (a report submitted at once has no others)."""
    if stay.form_token:
        db.session.execute(delete(CapturePhoto).where(CapturePhoto.lodging_id == stay.lodging_id, CapturePhoto.form_token == stay.form_token))


def photo_ids(stay) -> list[int]:
    from sqlalchemy import select

    return list(db.session.execute(select(CapturePhoto.id).where(CapturePhoto.stay_id == stay.id).order_by(CapturePhoto.id)).scalars())
