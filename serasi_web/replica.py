"""Console reads from a PostgreSQL streaming replica (``SERASI_DATABASE_REPLICA_URL``).

On a regional or national instance the officer console's searches, watch lists and statistics
are the heavy reads; a standby kept by PostgreSQL's own streaming replication can take them, so
the primary stays free for reports. The rules (docs/scale-out.md):

- Only GET and HEAD requests of the blueprints in ``REPLICA_READ_BLUEPRINTS`` (the console) read
  from the replica, and only plain SELECTs: whatever those requests write (audit events, the
  access log) goes to the primary in the same request.
- Read your own writes: when a logged-in user's request has written, the primary's WAL position
  after it is kept in that user's session, and the replica serves that user only once it has
  replayed that far (a mark set in the console shows at once after the redirect).
- The replica is used only while it answers and is at most ``REPLICA_MAX_LAG_SECONDS`` behind;
  otherwise reads go to the primary, and ``/healthz`` says why (``"replica": "lagging"`` or
  ``"down"``, ``"status": "degraded"``). Its state is checked at most every
  ``REPLICA_CHECK_SECONDS`` per process.
- A replica that fails in the middle of a console page: the page is asked again (a redirect to
  itself) and served from the primary.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

EXTENSION = "serasi.replica"
SESSION_WAL_KEY = "_serasi_wal"  # the primary's WAL position after this user's last write
WROTE = "serasi_wrote"  # in the database session's info: this request flushed something


def lsn_to_int(lsn: str | None) -> int | None:
    """``'16/B374D848'`` -> a number that orders like the WAL positions."""
    if not lsn:
        return None
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass(frozen=True)
class ReplicaStatus:
    state: str  # "ok", "lagging" or "down"
    lag_seconds: float | None
    replay_lsn: int | None
    reason: str
    checked_at: float


class Replica:
    """The replica's engine and a cached view of how far behind it is."""

    def __init__(self, app: Flask, url: str):
        from .config import _normalise_database_url

        options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": max(1, int(app.config["REPLICA_CONNECT_TIMEOUT_SECONDS"]))}}
        self.engine = create_engine(_normalise_database_url(url), **options)
        self.max_lag = float(app.config["REPLICA_MAX_LAG_SECONDS"])
        self.check_every = float(app.config["REPLICA_CHECK_SECONDS"])
        self._status: ReplicaStatus | None = None
        self._lock = threading.Lock()

    def status(self, primary_engine) -> ReplicaStatus:
        current = self._status
        if current is not None and time.monotonic() - current.checked_at < self.check_every:
            return current
        with self._lock:
            current = self._status
            if current is None or time.monotonic() - current.checked_at >= self.check_every:
                current = self._status = self._check(primary_engine)
        return current

    def mark_down(self, reason: str) -> None:
        self._status = ReplicaStatus("down", None, None, reason, time.monotonic())

    def _check(self, primary_engine) -> ReplicaStatus:
        now = time.monotonic()
        try:
            with self.engine.connect() as connection:
                standby, replay, replay_age = connection.execute(text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
                )).one()
        except SQLAlchemyError as error:
            current_app.logger.warning("replica unreachable: console reads go to the primary (%s)",
                                       str(getattr(error, "orig", error)).strip().splitlines()[0])
            return ReplicaStatus("down", None, None, "unreachable", now)
        if not standby:  # promoted, or a wrong URL: its data may have parted from the primary's
            return ReplicaStatus("down", None, None, "not a standby", now)
        with primary_engine.connect() as connection:
            primary = lsn_to_int(connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar())
        replayed = lsn_to_int(replay)
        if replayed is not None and primary is not None and replayed >= primary:
            lag = 0.0
        else:
            # Behind: its newest data is as old as the last transaction it replayed.
            lag = float(replay_age) if replay_age is not None else float("inf")
        state = "ok" if lag <= self.max_lag else "lagging"
        return ReplicaStatus(state, lag, replayed, "" if state == "ok" else f"{lag:.1f} s behind", now)


class RoutingSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session, sending a console request's plain SELECTs to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (bind is None and not self._flushing and has_app_context() and g.get("serasi_read_replica")
                and isinstance(clause, Select) and clause._for_update_arg is None):
            return current_app.extensions[EXTENSION].engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def get_replica(app: Flask | None = None) -> Replica | None:
    return (app or current_app).extensions.get(EXTENSION)


def init_app(app: Flask) -> None:
    from .extensions import db

    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from .config import ConfigurationError

        raise ConfigurationError("SERASI_DATABASE_REPLICA_URL needs PostgreSQL as the main database "
                                 "(a streaming replica of it); SQLite has no replicas.")
    app.extensions[EXTENSION] = Replica(app, url)
    blueprints = set(app.config["REPLICA_READ_BLUEPRINTS"])

    @app.before_request
    def _choose_replica():
        if request.method not in ("GET", "HEAD") or request.blueprint not in blueprints:
            return
        replica = get_replica()
        status = replica.status(db.engine)
        if status.state != "ok":
            return
        own_write = session.get(SESSION_WAL_KEY)
        if own_write is not None and (status.replay_lsn is None or status.replay_lsn < own_write):
            return  # this user's last write has not reached the replica yet
        g.serasi_read_replica = True

    @app.after_request
    def _remember_own_write(response):
        if db.session.info.pop(WROTE, False) and _logged_in():
            try:
                with db.engine.connect() as connection:
                    session[SESSION_WAL_KEY] = lsn_to_int(connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar())
            except SQLAlchemyError:  # the answer is made; the next console page reads the primary anyway if unsure
                session.pop(SESSION_WAL_KEY, None)
        return response


def _logged_in() -> bool:
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


@event.listens_for(RoutingSession, "after_flush")
def _note_write(db_session, _flush_context):
    if has_request_context() and get_replica() is not None:
        db_session.info[WROTE] = True


def retry_on_primary():
    """Called by the database error handler: if the failing page was reading from the replica,
    mark the replica down and ask for the same page again (it will read the primary)."""
    if not (has_request_context() and g.get("serasi_read_replica") and request.method in ("GET", "HEAD")):
        return None
    replica = get_replica()
    replica.mark_down("failed during a request")
    current_app.logger.warning("replica failed during %s: asked again from the primary", request.endpoint)
    return redirect(request.full_path if request.query_string else request.path, code=307)


def health() -> dict:
    """The replica's part of ``/healthz`` (nothing when none is configured)."""
    from .extensions import db

    replica = get_replica()
    if replica is None:
        return {}  # no replica configured: /healthz stays as it was
    try:
        status = replica.status(db.engine)
    except SQLAlchemyError:
        return {"replica": "unknown"}
    lag = None if status.lag_seconds is None or status.lag_seconds == float("inf") else round(status.lag_seconds, 1)
    return {"replica": status.state, "replica_lag_seconds": lag,
            "replica_note": "console reads go to the primary" if status.state != "ok" else "console reads go to the replica"}
