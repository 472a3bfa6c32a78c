"""Rate limits with the ``limits`` package (the engine behind Flask-Limiter), one per app.

Storage comes from ``RATELIMIT_STORAGE_URI``: ``memory://`` counts per process; a
``redis://`` URL shares the counts between workers and machines.
"""
from __future__ import annotations

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter


def init_app(app: Flask) -> None:
    app.extensions["serasi.rate_limiter"] = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))


def allow(limit: str, *identifiers: str) -> tuple[bool, int]:
    """Count one hit against ``limit`` (e.g. "600 per minute") for these identifiers.

    Returns (allowed, seconds until the window resets).
    """
    limiter: FixedWindowRateLimiter = current_app.extensions["serasi.rate_limiter"]
    item = parse(limit)
    allowed = limiter.hit(item, *identifiers)
    reset_at, _remaining = limiter.get_window_stats(item, *identifiers)
    import time

    return allowed, max(1, int(reset_at - time.time()))
