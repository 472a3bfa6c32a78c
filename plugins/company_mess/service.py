"""Roster sync: the HR system's full list of residents against the stays we have."""
from __future__ import annotations

from sqlalchemy import select

from serasi_web.extensions import db
from serasi_web.integrations.models import RosterSync
from serasi_web.stays import services, sync
from serasi_web.stays.models import Stay, StayStatus

SOURCE = "roster"


def apply_roster(lodging, residents: list[tuple[str, dict]], received_from: str) -> RosterSync:
    """Report every listed resident (idempotently) and propose check-out for those not listed.

    ``residents`` is [(external id, raw report values)]. The departures are not checked out
    here: a person confirms them (a missing row may be an HR mistake).
    """
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
    # An older roster still waiting is superseded by this one.
    for older in db.session.execute(select(RosterSync).where(RosterSync.lodging_id == lodging.id, RosterSync.status == "pending")).scalars():
        older.status = "superseded"
    record = RosterSync(lodging_id=lodging.id, received_from=received_from[:120], arrived=arrived, departing=departing,
                        unchanged=unchanged, problems=problems[:500], status="pending" if departing else "applied")
    db.session.add(record)
    db.session.commit()
    return record


def confirm_departures(record: RosterSync, checked_out_at, actor=None) -> int:
    """Check out the residents the roster no longer lists (those still in the house). Raises
    ``services.StayError`` (nothing written, the roster still pending) when ``checked_out_at``
    is in the future or before a resident's check-in."""
    from serasi_web.database import utcnow

    stays = db.session.execute(select(Stay).where(Stay.id.in_(record.departing), Stay.lodging_id == record.lodging_id,
                                                  Stay.status == StayStatus.REPORTED)).scalars().all()
    if stays:
        services.check_out(stays, checked_out_at, actor, actor_label="roster")
    record.status, record.decided_at = "confirmed", utcnow()
    db.session.commit()
    return len(stays)


def dismiss(record: RosterSync) -> None:
    from serasi_web.database import utcnow

    record.status, record.decided_at = "dismissed", utcnow()
    db.session.commit()
