"""gunicorn settings for production: ``serasi-web serve`` (or, in a checkout,
``gunicorn -c gunicorn.conf.py wsgi:app``, which imports these)."""
import gc
import multiprocessing
import os

bind = os.environ.get("SERASI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SERASI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("SERASI_THREADS", 1))
timeout = 60
forwarded_allow_ips = os.environ.get("SERASI_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# The path without its query string, and no Referer: searches by name or document number must
# not land in the access log (docs/security.md). The default format logs both.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
preload_app = True


def pre_fork(server, worker):
    # Connections opened in the master must not be shared with forked workers (with SQLite
    # that lost committed rows in our measurements): drop them before every fork.
    from serasi_web.extensions import db

    with server.app.wsgi().app_context():
        db.engine.dispose()
    # The loaded app's objects (models, templates, translations, country lists) live as long as
    # the process: keep them out of the garbage collector's full passes (and their pages shared
    # between workers). About an eighth of a report submission's time went to those passes.
    gc.freeze()
