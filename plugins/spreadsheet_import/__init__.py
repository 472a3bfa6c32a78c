"""Bundled plugin: import guests from a spreadsheet (CSV or XLSX) at ``/lodgings/<id>/import``.

Upload, map the columns (pre-filled for the downloadable template's English or Indonesian
headers), check every row, then import all rows or only the valid ones through the same
idempotent upsert as the push API. See docs/import.md.
"""
from __future__ import annotations

from serasi_web import hookimpl


@hookimpl(trylast=True)
def serasi_register_blueprints(register):
    from .routes import blueprint

    register(blueprint)
