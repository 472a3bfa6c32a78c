"""Bundled plugin: an OpenTravel ``OTA_HotelResNotifRQ`` receiver, so that channel managers that
speak OTA XML push their reservations' foreign guests in as stays (docs/ota.md)."""
from __future__ import annotations

from serasi_web import hookimpl


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import api

    register(api)
