"""Stays from other systems: API tokens, spreadsheet imports, roster syncs."""
