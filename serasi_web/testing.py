"""Helpers for plugin authors' tests (pytest or not).

    from serasi_web.testing import plugin_app, operator_with_lodging

    def test_my_plugin(tmp_path):
        app = plugin_app(tmp_path, my_plugin_module)
        with app.app_context():
            operator, lodging = operator_with_lodging()
            ...

``plugin_app`` builds an app on a fresh SQLite database created by the real migrations, with
your plugin registered next to the bundled ones (or only through its entry point if it is
installed: pass no plugin then).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import create_app
from .extensions import db

TEST_PASSWORD = "correct horse battery staple"


def plugin_app(tmp_path: Path, *plugins: Any, **config: Any) -> Flask:
    """A migrated app on SQLite in ``tmp_path`` with ``plugins`` registered."""
    from .database import upgrade_schema

    settings = {
        "TESTING": True, "SECRET_KEY": "plugin-test-" + "x" * 32, "WTF_CSRF_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp_path) / 'serasi.db'}", "INSTANCE_PATH": str(Path(tmp_path) / "instance"),
        "PUBLIC_URL": "http://localhost",
        "EXTRA_PLUGINS": list(plugins), **config,
    }
    app = create_app(settings)
    with app.app_context():
        upgrade_schema()
        db.session.remove()
    return app


def operator_with_lodging(email: str = "plugin.operator@example.com", **lodging: Any):
    """An operator account with one lodging in Kuta Selatan (routed to Kanim Ngurah Rai). Call
    inside an app context; returns (user, lodging)."""
    from .accounts.services import create_user
    from .demo import DEMO_OFFICES
    from .lodgings.services import register_lodging
    from .offices.services import replace_areas, upsert_office

    for row in DEMO_OFFICES:
        replace_areas(upsert_office(row), row.region_codes, reroute=False)
    user = create_user(email=email, password=TEST_PASSWORD, full_name="Plugin Operator", account_kind="lodging_business")
    db.session.commit()
    values = dict(name="Plugin Test Lodging", lodging_type="hotel", street_address="Jl. Uluwatu 1", province_code="51",
                  regency_code="51.03", district_code="51.03.05", village_code="51.03.05.1006", postal_code="80362",
                  nib="9120001234567", room_count=10, person_in_charge="Tester", phone="0812 3456 7890")
    values.update(lodging)
    return user, register_lodging(user, values)


def report_values(**changes: Any) -> dict[str, Any]:
    """Valid raw values for ``serasi_web.stays.sync.upsert`` (an adult guest who checked in an hour ago, WITA)."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    values = dict(
        surname="Example", given_names="Guest", sex="F", date_of_birth="1990-01-01", nationality="AUS", document_type="passport",
        document_number="PX1234567", issuing_state="AUS", document_expiry=(date.today() + timedelta(days=1000)).isoformat(),
        entry_date=(date.today() - timedelta(days=2)).isoformat(), stay_permit="bvk",
        check_in_at=(datetime.now(ZoneInfo("Asia/Makassar")) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), purpose="tourism",
    )
    values.update(changes)
    return values
