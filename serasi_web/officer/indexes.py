"""Indexes the office console needs on tables owned by other packages (created by migration 0004).

They are bound to the existing ``Table`` objects here, so the metadata and the migrations agree
without touching the models of the stays package. Each index names the query it serves; the
figures behind them are in docs/benchmarks-officer.md.
"""
from __future__ import annotations

from sqlalchemy import Index

from ..stays.models import Stay, StayVersion

stay = Stay.__table__

# Search results and statistics read stays of a check-in period, newest first. The other columns
# make the index covering: the scope (lodging), the status, the late flag and the grouping keys,
# and the folded name, so a name search can walk the check-ins newest first and stop at a page.
STAY_CHECK_IN_COVERING = Index(
    "ix_stay_check_in_at_covering",
    stay.c.check_in_at, stay.c.lodging_id, stay.c.status, stay.c.late, stay.c.nationality,
    stay.c.stay_permit, stay.c.name_folded,
)
# Partial names: PostgreSQL answers LIKE '%text%' from a pg_trgm GIN index. Alembic compares
# indexes without dialect conditions, so SQLite gets the same declaration as a plain b-tree it
# does not need (its name scan reads ix_stay_lodging_id_name_folded); same results on both.
STAY_NAME_TRIGRAM = Index(
    "ix_stay_name_folded_trgm", stay.c.name_folded,
    postgresql_using="gin", postgresql_ops={"name_folded": "gin_trgm_ops"},
)
# Watch lists: guests still in the house whose permit ended, or whose planned check-out passed.
STAY_STATUS_PERMIT = Index("ix_stay_status_permit_valid_until", stay.c.status, stay.c.permit_valid_until)
STAY_STATUS_PLANNED = Index("ix_stay_status_planned_check_out", stay.c.status, stay.c.planned_check_out)
# Watch lists: late reports, newest first.
STAY_LATE_REPORTED = Index("ix_stay_late_reported_at", stay.c.late, stay.c.reported_at)
# Watch lists: the last report of each lodging (lodgings that have gone silent).
STAY_LODGING_REPORTED = Index("ix_stay_lodging_id_reported_at", stay.c.lodging_id, stay.c.reported_at)
# The inbox: report events (submitted, corrected, voided) after the user's mark, newest first.
STAY_VERSION_CHANGED = Index("ix_stay_version_changed_at", StayVersion.__table__.c.changed_at)
