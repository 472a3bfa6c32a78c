"""Roster sync: the HR system's full list of residents against the stays we have."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from serasi_web.database import utcnow
from serasi_web.extensions import db
from serasi_web.integrations.models import RosterSync
from serasi_web.stays import services, sync
from serasi_web.stays.models import Stay, StayStatus

SOURCE = "roster"


def apply_roster(lodging, residents: list[tuple[str, dict]], received_from: str) -> RosterSync:
    """Report every listed resident (idempotently) and propose check-out for those not listed.

    ``residents`` is [(external id, raw report values)]. The departures are not checked out
    here: a person confirms them (a missing row may be an HR mistake). Each keeps the time a
    roster first left it out (this one, or the one still waiting that this one supersedes): the
    resident left by then, however late the confirmation comes.
    """
    now = utcnow()
    arrived, problems, unchanged = [], [], 0
    listed = {external_id for external_id, _ in residents}
    for (external_id, _), result in zip(residents, sync.upsert_many(lodging, SOURCE, residents, received_from)):
        if result.outcome == "created":
            arrived.append(result.stay.id)
        elif result.outcome in ("unchanged", "updated"):
            unchanged += 1
        else:
            for field, message in (result.errors or {"": "conflict"}).items():
                problems.append({"external_id": external_id, "field": field, "message": message})
    housed = db.session.execute(
        select(Stay.id, Stay.external_id).where(Stay.lodging_id == lodging.id, Stay.source == SOURCE, Stay.status == StayStatus.REPORTED)
    ).all()
    departing = [stay_id for stay_id, external_id in housed if external_id not in listed]
    since = {str(stay_id): now.isoformat() for stay_id in departing}
    # An older roster still waiting is superseded by this one; a resident it already left out
    # has been gone since then. (A dismissed roster's residents were there after all: they start
    # again.)
    for older in db.session.execute(select(RosterSync).where(RosterSync.lodging_id == lodging.id, RosterSync.status == "pending")
                                    .order_by(RosterSync.id)).scalars():
        older.status = "superseded"
        for stay_id in older.departing:
            if str(stay_id) in since:
                since[str(stay_id)] = min(since[str(stay_id)], older.departed_at(stay_id).isoformat(), key=datetime.fromisoformat)
    record = RosterSync(lodging_id=lodging.id, received_from=received_from[:120], arrived=arrived, departing=departing,
                        departing_since=since, unchanged=unchanged, problems=problems[:500],
                        status="pending" if departing else "applied", created_at=now)
    db.session.add(record)
    db.session.commit()
    return record


def confirm_departures(record: RosterSync, checked_out_at: datetime | None = None, actor=None) -> int:
    """Check out the residents the roster no longer lists (those still in the house), each at the
    time a roster first left them out, or all at ``checked_out_at`` when the administrator gives
    one. Raises ``services.StayError`` (nothing written, the roster still pending) when a time is
    in the future or before a resident's check-in."""
    stays = db.session.execute(select(Stay).where(Stay.id.in_(record.departing), Stay.lodging_id == record.lodging_id,
                                                  Stay.status == StayStatus.REPORTED)).scalars().all()
    if stays:
        services.check_out_each([(stay, checked_out_at or record.departed_at(stay.id)) for stay in stays], actor, actor_label="roster")
    record.status, record.decided_at = "confirmed", utcnow()
    db.session.commit()
    return len(stays)


def dismiss(record: RosterSync) -> None:
    record.status, record.decided_at = "dismissed", utcnow()
    db.session.commit()
