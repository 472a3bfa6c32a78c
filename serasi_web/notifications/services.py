"""Which notices are due, who gets them, and sending each once, in the recipient's language.

Every notice is first recorded in ``notification_sent`` under a unique (kind, subject) key and
committed, then mailed: two workers running the same periodic job send it once. A notice whose
mail fails is forgotten again (the row is deleted) so the next run tries again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, delete, exists, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, User
from ..database import utcnow
from ..extensions import db
from ..links import public_base
from ..lodgings.models import Lodging, LodgingStatus
from ..stays.models import Stay, StayStatus
from .mail import mail_configured, send_mail
from .models import NotificationPreference, NotificationSent

log = logging.getLogger(__name__)

# How far back a lodging decision still gets its notice (the first run after an upgrade must not
# mail every lodging ever verified).
DECISION_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: object
    roles: tuple[str, ...]


KINDS = (
    NotificationKind("draft_overdue", _l("a draft is still not submitted 12 hours after check-in"), (Role.OPERATOR,)),
    NotificationKind("owner_digest", _l("every morning: one e-mail listing my guests whose planned check-out has passed and my reports still in draft"), (Role.OPERATOR,)),
    NotificationKind("lodging_decision", _l("a lodging of mine is verified or rejected"), (Role.OPERATOR,)),
    NotificationKind("source_failing", _l("a connected system keeps failing to send my lodging's stays"), (Role.OPERATOR,)),
    NotificationKind("officer_digest", _l("every morning: my inbox and watch lists"), (Role.OFFICER,)),
)


def kinds_for(user: User) -> list[NotificationKind]:
    return [kind for kind in KINDS if user.role in kind.roles]


def preferences_of(user: User) -> dict[str, bool]:
    """Every kind of the user's role: on unless turned off."""
    stored = dict(db.session.execute(select(NotificationPreference.kind, NotificationPreference.enabled)
                                     .where(NotificationPreference.user_id == user.id)).all())
    return {kind.key: stored.get(kind.key, True) for kind in kinds_for(user)}


def set_preference(user: User, kind: str, enabled: bool) -> None:
    row = db.session.execute(select(NotificationPreference).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind)).scalar_one_or_none()
    if row is None:
        db.session.add(NotificationPreference(user_id=user.id, kind=kind, enabled=enabled))
    else:
        row.enabled = enabled


def wants(user: User, kind: str) -> bool:
    if not user.enabled:
        return False
    enabled = db.session.scalar(select(NotificationPreference.enabled).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == kind))
    return enabled is None or bool(enabled)


def _claim(user: User, kind: str, subject_key: str) -> NotificationSent | None:
    """Record the notice; None when it was sent already (by this or another worker)."""
    row = NotificationSent(user_id=user.id, kind=kind, subject_key=subject_key)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def notify(user: User, kind: str, subject_key: str, template: str, **context) -> bool:
    """Mail ``templates/emails/<template>.txt`` to ``user`` once for (kind, subject_key)."""
    if not wants(user, kind):
        return False
    claimed = _claim(user, kind, subject_key)
    if claimed is None:
        return False
    base_url = public_base()
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = render_template(f"emails/{template}_subject.txt", user=user, base_url=base_url, **context).strip()
        body = render_template(f"emails/{template}.txt", user=user, base_url=base_url,
                               settings_url=f"{base_url}/notifications/settings", **context)
    try:
        send_mail(user.email, subject, body)
    except Exception:
        log.warning("notice %s %s to user %s not sent; will try again", kind, subject_key, user.id, exc_info=True)
        db.session.execute(delete(NotificationSent).where(NotificationSent.id == claimed.id))
        db.session.commit()
        return False
    return True


def _not_sent(kind: str, subject_key):
    """The notice ``kind`` about ``subject_key`` (an SQL expression) has not gone out yet: the
    reminder job runs every 5 minutes and old drafts pile up, so each is looked at until sent,
    not for ever."""
    return ~exists().where(NotificationSent.kind == kind, NotificationSent.subject_key == subject_key)


def _stays_with_owners():
    return select(Stay).options(selectinload(Stay.lodging).selectinload(Lodging.owner))


def _owner_wants(kind: str):
    """The stay's lodging belongs to an enabled account that has not turned ``kind`` off (what
    ``wants`` checks one by one): notices nobody will get are not loaded every 5 minutes."""
    turned_off = exists().where(NotificationPreference.user_id == User.id, NotificationPreference.kind == kind,
                                NotificationPreference.enabled.is_(False))
    return Stay.lodging_id.in_(select(Lodging.id).join(User, Lodging.owner_id == User.id).where(User.enabled.is_(True), ~turned_off))


def _stay_key():
    return literal("stay-", String) + cast(Stay.id, String)  # f"stay-{stay.id}", as send_due_notices writes it


def overdue_drafts(now: datetime):
    cutoff = now - timedelta(hours=current_app.config["DRAFT_REMINDER_HOURS"])
    return db.session.execute(_stays_with_owners().where(
        Stay.status == StayStatus.DRAFT, Stay.check_in_at <= cutoff, _not_sent("draft_overdue", _stay_key()),
        _owner_wants("draft_overdue"),
    ).order_by(Stay.id)).scalars().all()


def recent_decisions(now: datetime):
    return db.session.execute(select(Lodging).where(
        Lodging.status.in_((LodgingStatus.VERIFIED, LodgingStatus.REJECTED)), Lodging.decided_at.is_not(None),
        Lodging.decided_at >= now - DECISION_LOOKBACK).order_by(Lodging.id)).scalars().all()


def send_due_notices(now: datetime | None = None) -> int:
    """Drafts near the 24-hour deadline (one notice per stay) and lodging decisions; returns how
    many mails went out. Everything else an owner should look at comes once a day in the owner's
    digest (``send_owner_digests``)."""
    if not mail_configured():
        return 0
    now = now or utcnow()
    sent = 0
    for stay in overdue_drafts(now):
        sent += notify(stay.lodging.owner, "draft_overdue", f"stay-{stay.id}", "draft_overdue", stay=stay, lodging=stay.lodging)
    for lodging in recent_decisions(now):
        sent += notify(lodging.owner, "lodging_decision", f"lodging-{lodging.id}-{lodging.status}-{lodging.decided_at.isoformat()}",
                       "lodging_decision", lodging=lodging)
    return sent


@dataclass
class OwnerDigest:
    """What one owner should look at today, over all their lodgings."""

    owner: User
    today: date
    check_outs_passed: list[Stay] = field(default_factory=list)
    drafts: list[Stay] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.check_outs_passed) + len(self.drafts)


def _owner_digest_key(owner_id, today: date):
    """``owner-digest-<owner id>-<day>``: one digest per owner and day however often the job runs."""
    return literal("owner-digest-", String) + cast(owner_id, String) + f"-{today.isoformat()}"


def owner_digests(now: datetime) -> list[OwnerDigest]:
    """Every owner who wants the digest, has not had today's yet and has something in it: guests
    whose planned check-out day is over (in the lodging's time zone) without a check-out, and
    drafts of guests who have checked in."""
    from ..officer.queries import today_in_indonesia
    from ..stays.services import to_local

    today = today_in_indonesia(now)
    stays = db.session.execute(_stays_with_owners().join(Lodging, Stay.lodging_id == Lodging.id).where(
        or_(and_(Stay.status == StayStatus.DRAFT, Stay.check_in_at <= now),
            and_(Stay.status == StayStatus.REPORTED, Stay.checked_out_at.is_(None), Stay.planned_check_out.is_not(None),
                 Stay.planned_check_out < now.date() + timedelta(days=1))),
        _not_sent("owner_digest", _owner_digest_key(Lodging.owner_id, today)),
        _owner_wants("owner_digest"),
    ).order_by(Lodging.name, Stay.check_in_at, Stay.id)).scalars().all()
    digests: dict[int, OwnerDigest] = {}
    for stay in stays:
        owner = stay.lodging.owner
        digest = digests.setdefault(owner.id, OwnerDigest(owner, today))
        if stay.status == StayStatus.DRAFT:
            digest.drafts.append(stay)
        elif stay.planned_check_out < to_local(now, stay.lodging).date():  # the planned day is over there
            digest.check_outs_passed.append(stay)
    return [digest for digest in digests.values() if digest.count]


def send_owner_digests(now: datetime | None = None) -> int:
    """Each owner's daily digest: one e-mail over all their stays, at most once per owner and day."""
    if not mail_configured():
        return 0
    now = now or utcnow()
    return sum(notify(digest.owner, "owner_digest", f"owner-digest-{digest.owner.id}-{digest.today.isoformat()}", "owner_digest",
                      digest=digest, now=now) for digest in owner_digests(now))


def digest_for(officer: User, now: datetime) -> dict:
    """What waits for an officer: inbox events since last seen, and the watch lists' sizes."""
    from sqlalchemy import func

    from ..officer import queries
    from ..officer.scope import scope_for
    from ..officer.services import inbox_seen_until

    scope = scope_for(officer)
    today = queries.today_in_indonesia(now)

    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0

    return {
        "inbox": queries.inbox_count(scope, inbox_seen_until(officer, now)),
        "overstays": count(queries.overstays(scope, today)),
        "planned_check_out_passed": count(queries.planned_check_out_passed(scope, today)),
        "late_reports": count(queries.late_reports(scope, now - timedelta(days=1))),
        "today": today,
    }


def send_officer_digests(now: datetime | None = None) -> int:
    """Each officer's daily digest (once per officer and day)."""
    if not mail_configured():
        return 0
    now = now or utcnow()
    sent = 0
    officers = db.session.execute(select(User).where(User.role == Role.OFFICER, User.enabled.is_(True)).order_by(User.id)).scalars().all()
    for officer in officers:
        if not wants(officer, "officer_digest"):
            continue
        digest = digest_for(officer, now)
        sent += notify(officer, "officer_digest", f"digest-{officer.id}-{digest['today'].isoformat()}", "officer_digest", digest=digest)
    return sent
