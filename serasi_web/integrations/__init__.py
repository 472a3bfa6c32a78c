"""Stays from other systems: scheduled pulls from stay sources (connections, sources.py; the
Connected systems pages, routes.py). The push API, spreadsheet imports and roster syncs are
bundled plugins with their own tables (plugins/push_api, spreadsheet_import, company_mess)."""
