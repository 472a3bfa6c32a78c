"""One keep-alive HTTP session per thread (delivery threads reuse their connections)."""
from __future__ import annotations

import threading

import requests

_local = threading.local()


def session() -> requests.Session:
    found = getattr(_local, "session", None)
    if found is None:
        found = _local.session = requests.Session()
        found.headers["User-Agent"] = "SERASI-Web-delivery/1"
    return found
