"""The baseline: a minimal Flask app with the same kind of form POST as the guest report.

It parses the same fields (dates and the check-in time included), checks that the required
ones are present and answers 303 to a result page, as the real endpoint does on success. No
database, no session, no CSRF, no WTForms: what is left is the cost of gunicorn, Werkzeug and
Flask handling one urlencoded form, the floor under any form endpoint on this machine.

    gunicorn --workers 2 --bind 127.0.0.1:8001 bench.bare_app:app
"""
from __future__ import annotations

from datetime import date, datetime
from itertools import count

from flask import Flask, abort, jsonify, redirect, request

app = Flask(__name__)

TEXT_FIELDS = (
    "surname", "given_names", "sex", "place_of_birth", "nationality", "document_type", "document_number",
    "issuing_state", "port_of_entry", "visa_index", "stay_permit", "permit_number", "entry_stamp_qr", "room",
    "purpose", "notes", "accompanying_stay_id", "action", "form_token", "csrf_token",
)
DATE_FIELDS = ("date_of_birth", "document_expiry", "entry_date", "permit_valid_until", "planned_check_out")
REQUIRED = ("surname", "sex", "nationality", "document_number", "issuing_state", "purpose",
            "date_of_birth", "document_expiry", "entry_date", "check_in_at")
_ids = count(1)


@app.route("/healthz")
def healthz():
    return jsonify(status="ok")


@app.route("/lodgings/<int:lodging_id>/stays/new", methods=["POST"])
def new_stay(lodging_id: int):
    form = request.form
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    if any(not form.get(name) for name in REQUIRED):
        abort(400)
    try:
        for name in DATE_FIELDS:
            raw = form.get(name, "")
            values[name] = date.fromisoformat(raw) if raw else None
        values["check_in_at"] = datetime.strptime(form["check_in_at"], "%Y-%m-%dT%H:%M")
    except ValueError:
        abort(400)
    values["document_number"] = values["document_number"].replace(" ", "").upper()
    return redirect(f"/stays/{next(_ids)}", code=303)
