"""The jobs: periodic reminders, notices and digests, the outbox's retention, and on-demand
delivery turns.

Each periodic job may run in several workers at once (every worker runs huey's scheduler):
notices are recorded in ``notification_sent`` under a unique key before they are mailed, so
each goes out once.
"""
from __future__ import annotations

import logging

from huey import crontab

log = logging.getLogger(__name__)


def register_tasks(huey, app) -> None:
    """Register the SERASI tasks on ``huey``; each runs inside an app context of ``app``."""

    def in_app(function):
        def run(*args, **kwargs):
            from ..extensions import db

            with app.app_context():
                try:
                    return function(*args, **kwargs)
                finally:
                    db.session.remove()

        run.__name__ = function.__name__
        run.__doc__ = function.__doc__
        return run

    @huey.periodic_task(crontab(minute="*/5"), name="serasi.reminders")
    @in_app
    def send_reminders():
        """Drafts 12 h after check-in (the 24-hour deadline nears), and lodging decisions."""
        from ..notifications.services import send_due_notices

        return send_due_notices()

    @huey.periodic_task(crontab(minute="0", hour=str(app.config["DIGEST_HOUR_UTC"])), name="serasi.officer_digest")
    @in_app
    def send_officer_digests():
        """Every officer's daily digest of their inbox and watch lists."""
        from ..notifications.services import send_officer_digests as send

        return send()

    @huey.periodic_task(crontab(minute="0", hour=str(app.config["DIGEST_HOUR_UTC"])), name="serasi.owner_digest")
    @in_app
    def send_owner_digests():
        """Every owner's daily digest: passed check-outs and drafts over all their lodgings."""
        from ..notifications.services import send_owner_digests as send

        return send()

    @huey.periodic_task(crontab(minute="*"), name="serasi.delivery_sweep")
    @in_app
    def delivery_sweep():
        """A safety net when no delivery loop runs (``worker --no-delivery``): one turn a minute."""
        from ..delivery.dispatcher import run_once

        return run_once()

    @huey.periodic_task(crontab(minute="23", hour="3"), name="serasi.outbox_retention")
    @in_app
    def outbox_retention():
        """Delete events every forwarder received more than OUTBOX_KEEP_DAYS ago."""
        from ..delivery.retention import purge_delivered

        return purge_delivered()

    @huey.periodic_task(crontab(minute="41", hour="3"), name="serasi.capture_photo_retention")
    @in_app
    def capture_photo_retention():
        """Delete capture photos of forms never saved, a day after they were taken."""
        from ..capture.storage import purge_unclaimed
        from ..extensions import db

        removed = purge_unclaimed()
        db.session.commit()
        return removed

    @huey.periodic_task(crontab(minute="53", hour="3"), name="serasi.account_retention")
    @in_app
    def account_retention():
        """Delete sessions past their idle or absolute limit, login failures past the window, and
        searches whose id expired (they hold names and document numbers)."""
        from ..accounts.services import forget_old_login_failures
        from ..accounts.sessions import purge_ended_sessions
        from ..searches.services import purge_expired_searches

        return purge_ended_sessions() + forget_old_login_failures() + purge_expired_searches()

    @huey.periodic_task(crontab(minute="7", hour="19"), name="serasi.retention")
    @in_app
    def retention():
        """Apply the retention policy: pseudonymise old stays, delete old records (docs/privacy.md).
        19:07 UTC is 02:07 WIB, 03:07 WITA, 04:07 WIT: the quietest hour in every zone."""
        from ..privacy.retention import run_retention

        return run_retention()

    @huey.task(name="serasi.deliver_now")
    @in_app
    def deliver_now():
        """Deliver whatever is due now (enqueued by the admin's "Retry now" and "Requeue the dead
        deliveries shown", so they need not wait for the sweep)."""
        from ..delivery.dispatcher import deliver_everything

        deliver_everything()

    @huey.periodic_task(crontab(minute="*/15"), name="serasi.arrival_expiry")
    @in_app
    def arrival_expiry():
        """Self check-ins not approved in time (the guests' details with them) and old status pages."""
        from ..arrivals.services import expire

        return expire()

    @huey.periodic_task(crontab(minute="*"), name="serasi.statistics_counts")
    @in_app
    def statistics_counts():
        """Count again the check-ins of the days changed in the last minute (officer/summaries.py):
        the statistics read those days from the stays until then."""
        from ..officer.summaries import refresh

        result = refresh()
        if result.everything or result.seconds > 5:
            log.info("statistics counted again: %s days, everything=%s, %.1f s", result.days, result.everything, result.seconds)
        return result.days

    @huey.periodic_task(crontab(minute="*"), name="serasi.source_pulls")
    @in_app
    def source_pulls():
        """Queue a pull of every connected stay source that is due, one task each (each claimed
        by one worker only), so that a slow system does not hold up the others."""
        from ..integrations.sources import enqueue_due

        return enqueue_due()

    @huey.task(name="serasi.pull_claimed_source")
    @in_app
    def pull_claimed_source(connection_id, lease):
        """One due connection's pull, claimed by ``source_pulls`` until ``lease``."""
        from ..integrations.sources import run_claimed

        return run_claimed(connection_id, lease)

    @huey.task(name="serasi.pull_source_now")
    @in_app
    def pull_source_now(connection_id):
        """The operator's "Pull now" for one connection."""
        from ..integrations.sources import run_one

        return run_one(connection_id)

    @huey.task(name="serasi.federation_backfill")
    @in_app
    def federation_backfill(backfill_id):
        """Enqueue one backfill's stays for the federation forwarder, chunk by chunk (Admin ›
        Federation › Send everything since ...)."""
        from ..federation.backfill import run

        return run(backfill_id)

    @huey.periodic_task(crontab(minute="*"), name="serasi.federation_backfills")
    @in_app
    def federation_backfills():
        """Continue every running backfill from its cursor (after a restart, or when the
        queue was down when the admin started it)."""
        from ..federation.backfill import run_running

        return run_running()

    huey.serasi_tasks = {"federation_backfill": federation_backfill, "federation_backfills": federation_backfills,
                         "send_reminders": send_reminders, "send_officer_digests": send_officer_digests,
                         "send_owner_digests": send_owner_digests,
                         "delivery_sweep": delivery_sweep, "outbox_retention": outbox_retention, "capture_photo_retention": capture_photo_retention,
                         "account_retention": account_retention, "statistics_counts": statistics_counts,
                         "retention": retention,
                         "deliver_now": deliver_now,
                         "source_pulls": source_pulls, "pull_source_now": pull_source_now,
                         "pull_claimed_source": pull_claimed_source}
    _register_plugin_tasks(huey, app, in_app)


def _register_plugin_tasks(huey, app, in_app) -> None:
    """Plugins' tasks (``serasi_register_tasks``, collected when the app was made), named as
    they ask, each run inside an app context."""
    for name, function in app.extensions.get("serasi.plugin_tasks", {}).items():
        huey.serasi_tasks[name] = huey.task(name=name)(in_app(function))
