"""The operator's lists of stays, always scoped to the operator's own lodgings."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..lodgings.models import Lodging
from .models import Stay, StayStatus

# "Today" for planned check-outs: Indonesia spans UTC+7..+9; the western zone is the safe side.
_WESTERN_INDONESIA = timezone(timedelta(hours=7))

VIEWS = ("in_house", "drafts_due", "drafts_overdue", "planned_passed", "recent", "checked_out", "voided", "all")


def stays_query(owner_id: int, view: str, now: datetime, lodging_id: int | None = None, search: str = "") -> Select:
    """The stays of one of the operator's views, newest or most urgent first."""
    lodging_ids = select(Lodging.id).where(Lodging.owner_id == owner_id)
    if lodging_id:
        lodging_ids = lodging_ids.where(Lodging.id == lodging_id)
    query = select(Stay).where(Stay.lodging_id.in_(lodging_ids))
    today = now.astimezone(_WESTERN_INDONESIA).date()
    if view == "in_house":
        query = query.where(Stay.status == StayStatus.REPORTED).order_by(Stay.check_in_at.desc(), Stay.id.desc())
    elif view == "drafts_due":
        query = query.where(Stay.status == StayStatus.DRAFT, Stay.deadline_at > now).order_by(Stay.deadline_at, Stay.id)
    elif view == "drafts_overdue":
        query = query.where(Stay.status == StayStatus.DRAFT, Stay.deadline_at <= now).order_by(Stay.deadline_at, Stay.id)
    elif view == "planned_passed":
        query = query.where(Stay.status == StayStatus.REPORTED, Stay.planned_check_out < today).order_by(Stay.planned_check_out, Stay.id)
    elif view == "recent":
        query = query.where(Stay.reported_at.is_not(None)).order_by(Stay.reported_at.desc(), Stay.id.desc())
    elif view == "checked_out":
        query = query.where(Stay.status == StayStatus.CHECKED_OUT).order_by(Stay.checked_out_at.desc(), Stay.id.desc())
    elif view == "voided":
        query = query.where(Stay.status == StayStatus.VOIDED).order_by(Stay.voided_at.desc(), Stay.id.desc())
    else:
        query = query.order_by(Stay.check_in_at.desc(), Stay.id.desc())
    if search:
        # The matching ids come from the indexes alone (the name from the covering index
        # (lodging_id, name_folded)); only one page of whole rows is then read. Filtering the
        # rows themselves read all of an account's stays for a name (100,000: 245 ms p95).
        matching = aliased(Stay)
        query = query.where(Stay.id.in_(select(matching.id).where(matching.lodging_id.in_(lodging_ids), search_condition(search, matching))))
    return query


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(search: str, stay=Stay):
    """Name (accent- and case-insensitive, partial) or document number (normalised, prefix).

    Names never contain digits (the form refuses them), so a query with a digit is a document
    number: searched as a prefix from an index range start.
    """
    from .services import fold_name

    document = "".join(ch for ch in search.upper() if ch.isalnum())[:20]
    if document and any(ch.isdigit() for ch in document):
        # The lower bound lets the index start at the prefix; LIKE (no wildcards possible: the
        # text is A-Z and 0-9 only) keeps the result right under any database collation.
        return and_(stay.document_number >= document, stay.document_number.like(f"{document}%"))
    folded = fold_name(search.strip())[:100]
    return stay.name_folded.like(f"%{escape_like(folded)}%", escape="\\")


def count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
