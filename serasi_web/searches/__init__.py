"""Searches by name or document number, kept on the server behind a short-lived opaque id so that
the terms never travel in a URL (docs/security.md, "Personal data out of URLs")."""
