"""Stays from other systems: API tokens, spreadsheet imports, roster syncs, and scheduled pulls
from stay sources (connections, sources.py; the Connected systems pages, routes.py)."""
