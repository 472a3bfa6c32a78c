"""gunicorn settings for a checkout: ``gunicorn -c gunicorn.conf.py wsgi:app``. The settings live
in the package (``serasi_web/gunicorn_config.py``) so that ``serasi-web serve`` from an installed
wheel uses the same ones."""
from serasi_web.gunicorn_config import *  # noqa: F401,F403
