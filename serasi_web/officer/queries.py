"""The console's lists: search, a foreigner's timeline, the inbox and the watch lists.

Every function takes a ``Scope`` and returns only reports of lodgings in it. Lists are paged by
asking for one row more than a page (no ``COUNT(*)`` over a million rows to draw a pager).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Integer, Select, String, column, func, select, table, true
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..federation.models import FederatedLodging, FederatedStay, FederationPeer
from ..forms import MAX_PAGE
from ..lodgings.models import Lodging, LodgingStatus
from ..stays.models import Stay, StayStatus, StayVersion
from ..stays.queries import escape_like
from ..stays.services import fold_name
from .scope import WESTERN_INDONESIA, Scope, filter_only, region_condition

Row = TypeVar("Row")

# Statuses an officer can filter on (drafts are never shown).
REPORT_STATUSES = (StayStatus.REPORTED.value, StayStatus.CHECKED_OUT.value, StayStatus.VOIDED.value)
# Report events the inbox shows; check-outs are routine and would drown them.
INBOX_ACTIONS = ("submitted", "corrected", "voided")
INBOX_DEFAULT_DAYS = 7  # what a user who never marked the inbox sees
INBOX_COUNT_CAP = 1000  # "1000+" rather than counting a backlog of a year
PLANNED_CHECK_OUT_GRACE_DAYS = 3


@dataclass
class Page(Generic[Row]):
    """One page of a list, with whether another follows."""

    items: list[Row]
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def fetch_page(query: Select, number: int, size: int, scalars: bool = True) -> Page:
    """Rows ``size * (number - 1)`` onwards; one extra row tells whether a next page exists."""
    number = min(max(1, number), MAX_PAGE)
    result = db.session.execute(query.limit(size + 1).offset(size * (number - 1)))
    rows = list(result.scalars() if scalars else result.all())
    return Page(rows[:size], number, len(rows) > size)


def with_lodgings(scope: Scope):
    """The loader option of a list of stays: their lodgings in one more query per page, and, where
    the scope spans offices (the lists then name each lodging's office), their offices in one more."""
    lodgings = selectinload(Stay.lodging)
    return lodgings.selectinload(Lodging.office) if scope.spans_offices else lodgings


def today_in_indonesia(now: datetime) -> date:
    """Today's date on the safe side: Western Indonesia (UTC+7) is the last to start a new day."""
    return now.astimezone(WESTERN_INDONESIA).date()


def local_day_start(day: date, scope: Scope) -> datetime:
    """Midnight of ``day`` in the scope's time zone, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=scope.time_zone)


# ---- search -------------------------------------------------------------------------------------

@dataclass
class SearchCriteria:
    """What an officer may search by; empty values are ignored."""

    document_number: str = ""  # normalised: upper-case letters and digits
    issuing_state: str = ""
    name: str = ""
    nationality: str = ""
    check_in_from: date | None = None
    check_in_to: date | None = None
    lodging_id: int | None = None
    region_code: str = ""
    status: str = ""

    def as_record(self) -> dict:
        """The criteria as JSON-ready values for the access log."""
        values = {key: value for key, value in self.__dict__.items() if value not in ("", None)}
        return {key: value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


def normalise_document_number(text: str) -> str:
    """As the report form stores it: upper case, letters and digits only."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def name_words(text: str) -> list[str]:
    """The folded words of a name query: every word must occur in the name, in any order. (No NUL
    reaches here: the forms drop it, see ``forms.BaseForm``.)"""
    return fold_name(text or "").split()


def name_condition(text: str):
    """Stays whose folded name contains every word of ``text`` (accents and case ignored).

    One function for both databases: on PostgreSQL the pg_trgm index answers these LIKEs, on
    SQLite a scan of a narrow index does; the results are the same.
    """
    return [Stay.name_folded.like(f"%{escape_like(word)}%", escape="\\") for word in name_words(text)]


def _lodging_filters(criteria: SearchCriteria) -> list:
    filters = []
    if criteria.region_code:
        filters.append(region_condition(criteria.region_code))
    if criteria.lodging_id:
        filters.append(Lodging.id == criteria.lodging_id)
    return filters


def search_query(scope: Scope, criteria: SearchCriteria) -> Select:
    """Reports matching ``criteria`` in the scope, newest check-in first."""
    query = select(Stay).where(scope.report_condition(*_lodging_filters(criteria)))
    if criteria.document_number:
        query = query.where(Stay.document_number == criteria.document_number)
    if criteria.issuing_state:
        query = query.where(Stay.issuing_state == criteria.issuing_state)
    if criteria.name:
        query = query.where(*name_condition(criteria.name))
    if criteria.nationality:
        query = query.where(Stay.nationality == criteria.nationality)
    if criteria.check_in_from:
        query = query.where(Stay.check_in_at >= local_day_start(criteria.check_in_from, scope))
    if criteria.check_in_to:
        query = query.where(Stay.check_in_at < local_day_start(criteria.check_in_to + timedelta(days=1), scope))
    if criteria.status:
        # A filter, never the way in: SQLite would read all 985,000 checked-out stays of a
        # million through the status index and sort them (2 s) instead of walking check-ins.
        query = query.where(filter_only(Stay.status) == criteria.status)
    return query.options(with_lodgings(scope)).order_by(Stay.check_in_at.desc(), Stay.id.desc())


def search(scope: Scope, criteria: SearchCriteria, page: int, size: int) -> Page[Stay]:
    """One page of ``search_query``; on SQLite, name searches take the fastest of three routes."""
    query = search_query(scope, criteria)
    if criteria.name and not criteria.document_number and db.engine.dialect.name == "sqlite":
        return _search_by_name_on_sqlite(query, scope, criteria, page, size)
    return fetch_page(query, page, size)


RECENT_WINDOW = 50_000  # newest check-ins a name search on SQLite reads before its other routes
# SQLite's trigram index of folded names (migration 0008; not a model: the database keeps it by
# triggers). Its rowid is the stay's id; the hidden column named after the table takes MATCH.
STAY_NAME_FTS = table("stay_name_fts", column("rowid", Integer), column("stay_name_fts", String))
TRIGRAM = 3  # the index holds 3-character sequences: a shorter word cannot be looked up in it
# Up to this many stays found by the trigram index are read and sorted sooner than the newest
# check-ins are walked (~5 microseconds a stay, against 10-30 ms for the walk).
FEW_NAME_MATCHES = 2_000
# Reading one stay by its id (and sorting it) costs about as much as reading 50 entries of the
# (lodging, name) index: ~5 against ~0.1 microseconds at 1,000,000 stays.
READ_TO_SCAN_COST = 50


def _search_by_name_on_sqlite(query: Select, scope: Scope, criteria: SearchCriteria, page: int, size: int) -> Page[Stay]:
    """The fastest of three routes to the same rows.

    The trigram index of names (migration 0008) finds the stays containing every word of three
    letters or more in a few milliseconds; reading and sorting them is cheap for a rare name and
    not for a common one (20,000 stays, ~90 ms). Walking the check-in index newest first finds a
    common name within a few thousand rows, but reads them all for a rare one. So: a name with
    at most ``FEW_NAME_MATCHES`` stays in the index is read from there; otherwise the newest
    ``RECENT_WINDOW`` check-ins are looked at first, where a full page is the exact answer (they
    are the first rows in the result's order); otherwise the stays come from the trigram index
    or, when the scope holds few lodgings (or every word is shorter than three letters), from a
    scan of the (lodging, name) index of the scope's lodgings. The LIKE conditions of
    ``name_condition`` stay in every route, so each returns exactly the rows of
    ``search_query``, in its order.
    """
    number = min(max(1, page), MAX_PAGE)
    in_scope = scope.lodging_ids(*_lodging_filters(criteria))
    indexed_words = [word for word in name_words(criteria.name) if len(word) >= TRIGRAM]
    indexed_ids = None
    if indexed_words:
        indexed_ids = select(STAY_NAME_FTS.c.rowid).where(STAY_NAME_FTS.c.stay_name_fts.match(trigram_query(indexed_words)))
        found_ids = db.session.scalars(indexed_ids.limit(FEW_NAME_MATCHES + 1)).all()
        if not found_ids:
            return Page([], number, False)
        if len(found_ids) <= FEW_NAME_MATCHES:
            return fetch_page(query.where(Stay.id.in_(found_ids)), number, size)
    boundary = db.session.scalar(select(Stay.check_in_at).order_by(Stay.check_in_at.desc()).offset(RECENT_WINDOW).limit(1))
    if boundary is None:
        return fetch_page(query, number, size)  # a small database: one walk reads it all
    recent = fetch_page(query.where(Stay.check_in_at >= boundary), number, size)
    if recent.has_next:
        return recent
    if indexed_ids is not None and _index_beats_scan(indexed_ids, in_scope):
        return fetch_page(query.where(Stay.id.in_(indexed_ids)), number, size)
    scanned_ids = select(Stay.id).where(Stay.lodging_id.in_(in_scope), *name_condition(criteria.name))
    return fetch_page(query.where(Stay.id.in_(scanned_ids)), number, size)


def _index_beats_scan(indexed_ids: Select, in_scope: Select) -> bool:
    """Whether reading every stay the trigram index found costs less than scanning the (lodging,
    name) index of the scope's lodgings and reading the scope's matches. The scope's share of
    the stays is estimated as its share of the lodgings (a count of stays would cost a scan)."""
    matches = db.session.scalar(select(func.count()).select_from(indexed_ids.subquery()))
    stays = db.session.scalar(select(func.max(Stay.id))) or 0
    lodgings = db.session.scalar(select(func.count(Lodging.id))) or 1
    share = db.session.scalar(select(func.count()).select_from(in_scope.subquery())) / lodgings
    return READ_TO_SCAN_COST * matches < share * (stays + READ_TO_SCAN_COST * matches)


def trigram_query(words: list[str]) -> str:
    """An FTS5 query for rows containing every word: each word one quoted string (a quote doubled),
    so nothing typed is FTS5 syntax, and LIKE's ``%`` and ``_`` are plain characters there."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def report_in_scope(scope: Scope, stay_id: int) -> Stay | None:
    """One report of the scope, or None (a draft, another area's stay or no such id)."""
    return db.session.execute(select(Stay).where(Stay.id == stay_id, scope.report_condition())).scalar_one_or_none()


def lodging_in_scope(scope: Scope, lodging_id: int) -> Lodging | None:
    return db.session.execute(select(Lodging).where(Lodging.id == lodging_id, scope.lodging_condition())).scalar_one_or_none()


# ---- a foreigner's timeline ---------------------------------------------------------------------

@dataclass
class TimelineEntry:
    """One stay of the document, and how it follows the stays before it."""

    stay: Stay
    ends_at: datetime | None  # the check-out; None while the guest is still reported in the house
    gap: timedelta | None = None  # time between the previous stay's end and this check-in
    overlap: timedelta | None = None  # this check-in came before the previous stay ended
    overlaps_open_stay: Stay | None = None  # ... while that stay was still open (no check-out)


@dataclass
class Timeline:
    document_number: str
    issuing_state: str
    entries: list[TimelineEntry] = field(default_factory=list)

    @property
    def lodging_count(self) -> int:
        return len({entry.stay.lodging_id for entry in self.entries})

    @property
    def overlap_count(self) -> int:
        return sum(1 for entry in self.entries if entry.overlap)


def timeline(scope: Scope, stay: Stay, now: datetime) -> Timeline:
    """Every report of ``stay``'s document (number and issuing state) in the scope, by check-in,
    with the gap or overlap to the stay before (voided reports are listed but not compared)."""
    stays = db.session.execute(
        select(Stay).where(scope.report_condition(), Stay.document_number == stay.document_number,
                           Stay.issuing_state == stay.issuing_state)
        .options(selectinload(Stay.lodging)).order_by(Stay.check_in_at, Stay.id)
    ).scalars().all()
    result = Timeline(stay.document_number, stay.issuing_state)
    latest: TimelineEntry | None = None  # the compared stay that ends last so far
    for current in stays:
        entry = TimelineEntry(current, current.checked_out_at)
        result.entries.append(entry)
        if current.status == StayStatus.VOIDED:
            continue
        if latest is not None:
            previous_end = latest.ends_at or now
            if current.check_in_at < previous_end:
                entry.overlap = previous_end - current.check_in_at
                entry.overlaps_open_stay = latest.stay if latest.ends_at is None else None
            else:
                entry.gap = current.check_in_at - previous_end
        if latest is None or (entry.ends_at or now) >= (latest.ends_at or now):
            latest = entry
    return result


@dataclass(frozen=True)
class Origin:
    """Where a mirrored stay was reported: the instance that sent it (as this instance calls the
    peer), the office there, and the receipt number it printed."""

    instance: str
    office: str
    receipt_number: str | None


def federated_origins(stays: list[Stay]) -> dict[int, Origin]:
    """Stay id -> its ``Origin``, for the stays of ``stays`` another instance sent (one query)."""
    ids = [stay.id for stay in stays if stay.source == "federation"]
    if not ids:
        return {}
    rows = db.session.execute(
        select(FederatedStay.stay_id, FederationPeer.name, FederatedLodging.origin_office, FederatedStay.origin_receipt_number)
        .join(FederationPeer, FederationPeer.id == FederatedStay.peer_id)
        .join(Stay, Stay.id == FederatedStay.stay_id)
        .outerjoin(FederatedLodging, FederatedLodging.lodging_id == Stay.lodging_id)
        .where(FederatedStay.stay_id.in_(ids))).all()
    return {stay_id: Origin(instance, office or "", receipt) for stay_id, instance, office, receipt in rows}


# ---- inbox --------------------------------------------------------------------------------------

@dataclass
class InboxEvent:
    version: StayVersion
    stay: Stay


def inbox_query(scope: Scope, since: datetime) -> Select:
    return (
        select(StayVersion, Stay).join(Stay, StayVersion.stay_id == Stay.id)
        .where(StayVersion.changed_at > since, StayVersion.action.in_(INBOX_ACTIONS), scope.report_condition())
        .options(with_lodgings(scope))
        .order_by(StayVersion.changed_at.desc(), StayVersion.id.desc())
    )


def inbox(scope: Scope, since: datetime, page: int, size: int) -> Page[InboxEvent]:
    """Report events (new, corrected, voided) after ``since``, newest first."""
    found = fetch_page(inbox_query(scope, since), page, size, scalars=False)
    found.items = [InboxEvent(version, stay) for version, stay in found.items]
    return found


def inbox_count(scope: Scope, since: datetime) -> int:
    """How many events wait, counted up to ``INBOX_COUNT_CAP``."""
    capped = inbox_query(scope, since).with_only_columns(StayVersion.id).order_by(None).limit(INBOX_COUNT_CAP).subquery()
    return db.session.scalar(select(func.count()).select_from(capped))


# ---- watch lists --------------------------------------------------------------------------------

def overstays(scope: Scope, today: date) -> Select:
    """Guests still reported in the house whose stay permit ended before today, longest first."""
    return (select(Stay).where(scope.report_condition(), Stay.status == StayStatus.REPORTED, Stay.permit_valid_until < today)
            .options(with_lodgings(scope)).order_by(Stay.permit_valid_until, Stay.id))


def planned_check_out_passed(scope: Scope, today: date) -> Select:
    """Guests still in the house more than three days after their planned check-out."""
    limit = today - timedelta(days=PLANNED_CHECK_OUT_GRACE_DAYS)
    return (select(Stay).where(scope.report_condition(), Stay.status == StayStatus.REPORTED, Stay.planned_check_out < limit)
            .options(with_lodgings(scope)).order_by(Stay.planned_check_out, Stay.id))


def late_reports(scope: Scope, since: datetime) -> Select:
    """Reports made after the 24-hour deadline since ``since``, newest first."""
    return (select(Stay).where(scope.report_condition(), Stay.late == true(), Stay.reported_at >= since)
            .options(with_lodgings(scope)).order_by(Stay.reported_at.desc(), Stay.id.desc()))


@dataclass
class LodgingLateness:
    lodging: Lodging
    reports: int
    late: int

    @property
    def late_share(self) -> float:
        return self.late / self.reports if self.reports else 0.0


def late_lodgings(scope: Scope, since: datetime, limit: int = 10) -> list[LodgingLateness]:
    """The lodgings with the most late reports since ``since``, with their number of reports.

    Late reports are few: they are grouped from the (late, reported_at) index; then only the
    listed lodgings' reports are counted, from the (lodging_id, reported_at) index.
    """
    late_count = func.count().label("late")
    rows = db.session.execute(
        select(Stay.lodging_id, late_count)
        .where(filter_only(Stay.lodging_id).in_(scope.lodging_ids()), Stay.late == true(), Stay.reported_at >= since)
        .group_by(Stay.lodging_id).order_by(late_count.desc(), Stay.lodging_id).limit(limit)
    ).all()
    if not rows:
        return []
    reports = dict(db.session.execute(
        select(Stay.lodging_id, func.count()).where(Stay.lodging_id.in_([lodging_id for lodging_id, _late in rows]),
                                                    Stay.reported_at >= since).group_by(Stay.lodging_id)).all())
    lodgings = {lodging.id: lodging for lodging in db.session.scalars(select(Lodging).where(Lodging.id.in_(list(reports))))}
    return [LodgingLateness(lodgings[lodging_id], reports.get(lodging_id, late), late) for lodging_id, late in rows]


def silent_lodgings(scope: Scope, cutoff: datetime) -> Select:
    """Verified lodgings with no report since ``cutoff`` (nor a verification or registration
    since then, so a lodging verified yesterday is not silent yet); the longest silent first.
    Rows are (lodging, last report time or None)."""
    last_report = (select(func.max(Stay.reported_at)).where(Stay.lodging_id == Lodging.id)
                   .correlate(Lodging).scalar_subquery())
    quiet_since = func.coalesce(last_report, Lodging.decided_at, Lodging.created_at)
    return (select(Lodging, last_report.label("last_report"))
            .where(scope.lodging_condition(), Lodging.status == LodgingStatus.VERIFIED, quiet_since < cutoff)
            .order_by(quiet_since, Lodging.id))

