"""Bundled plugins own their tables (issue 19): each model lives in its plugin's folder, each
table comes from the plugin's own migration branch, the retention job purges a plugin's records
through the plugin, and the audit log names them through it. A disabled plugin leaves no table,
no model and no purge behind; the core imports nothing of it.

How a database made before the plugins owned these tables upgrades: tests/test_upgrade.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from serasi_web import hookspecs
from serasi_web.plugin_types import AuditLabels

from .helpers import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("SERASI_TEST_DATABASE_URL", "")
# Each bundled plugin with a table: its branch label (= its folder) -> its tables and models.
OWNED = {"push_api": {"api_token": "ApiToken"}, "spreadsheet_import": {"import_job": "ImportJob"},
         "company_mess": {"roster_sync": "RosterSync"}}


def test_each_bundled_plugin_brings_its_tables_on_a_branch_of_its_own(app):
    import importlib

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    registered = current_app.extensions["serasi.plugin_migrations"]
    core_revisions = [path.read_text() for path in (ROOT / "serasi_web" / "migrations" / "versions").glob("*.py")]
    for plugin, tables in OWNED.items():
        folder = ROOT / "plugins" / plugin / "migrations"
        assert str(folder) in registered, plugin
        chain, revision = [], script.get_revision(f"{plugin}@head")
        while revision is not None:  # the branch, from its head down to its base
            chain.append(revision)
            revision = script.get_revision(revision.down_revision) if revision.down_revision else None
        assert {Path(revision.path) for revision in chain} == set(folder.glob("*.py"))
        assert chain[-1].branch_labels == {plugin} and chain[-1].dependencies == "0001"  # lodging, user_account
        models = importlib.import_module(f"plugins.{plugin}.models")
        for table, model in tables.items():
            assert getattr(models, model).__table__.name == table
            # No core revision creates or changes it any more (they are kept, empty, for their place in the history).
            assert not [source for source in core_revisions if f"'{table}'" in source or f'"{table}"' in source], table


class TentPlugin:
    """A plugin with records to purge and audit entries to name, as an outside developer writes it."""

    def __init__(self):
        self.purges = []

    @hookspecs.hookimpl
    def serasi_purge_expired(self, moment, batch_size):
        self.purges.append((moment, batch_size))
        return {"tents_deleted": 2, "import_jobs_deleted": 1}

    @hookspecs.hookimpl
    def serasi_register_audit_labels(self, register):
        register(AuditLabels(actions={"tents.pitched": _l("Tent pitched"), "stay.voided": "Tent voided"},
                             object_types={"Tent": _l("Tent")}))


def test_a_plugin_purges_its_own_records_and_names_its_audit_entries(tmp_path):
    from serasi_web.audit import labels
    from serasi_web.database import utcnow
    from serasi_web.privacy.retention import BATCH_SIZE, run_retention, set_period
    from serasi_web.testing import plugin_app

    plugin = TentPlugin()
    app = plugin_app(tmp_path, plugin)
    now = utcnow()
    with app.app_context():
        counts = run_retention(now=now)
        assert plugin.purges == [(now - timedelta(days=90), BATCH_SIZE)]  # the import_jobs period
        # Its counts join the run's report; a key the bundled spreadsheet import also gives is summed.
        assert counts["tents_deleted"] == 2 and counts["import_jobs_deleted"] == 1 and counts["roster_syncs_deleted"] == 0
        set_period("import_jobs", 0)  # kept for ever: no plugin is asked to purge
        assert "tents_deleted" not in run_retention(now=now) and len(plugin.purges) == 1
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert labels.audit_action_label("tents.pitched") == "Tent pitched" and labels.object_type_label("Tent") == "Tent"
        assert ("tents.pitched", "Tent pitched") in labels.audit_action_choices()
        assert labels.audit_action_label("stay.voided") == "Report voided"  # the core's own label wins
        # The bundled spreadsheet import names its entries the same way.
        assert labels.audit_action_label("import.completed") == "Spreadsheet import completed"
        assert labels.object_type_label("ImportJob") == "Spreadsheet import"
        assert labels.action_label("tents.unknown") == "Other event" and labels.object_type_label("Awning") == "Awning"
    with app.test_request_context(headers={"Accept-Language": "id"}):
        assert labels.object_type_label("ImportJob") == "Impor spreadsheet"
    (tmp_path / "without").mkdir()
    without = plugin_app(tmp_path / "without", DISABLED_PLUGINS=["spreadsheet_import"])
    with without.test_request_context(headers={"Accept-Language": "en"}):
        assert labels.object_type_label("ImportJob") == "ImportJob" and labels.audit_action_label("import.completed") == "import.completed"


# Run in a fresh interpreter, so that what it imports is what this app imported: a plugin's
# model imported by an earlier app in the test process would stay in the metadata.
DISABLED_PLUGIN_CHECK = r"""
import json, sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from serasi_web import create_app
from serasi_web.database import include_name, upgrade_schema
from serasi_web.extensions import db
from serasi_web.jobs.limited import PRELOAD
from serasi_web.privacy.retention import run_retention
from serasi_web.readiness import database_revision_problem

app = create_app()
with app.app_context():
    upgrade_schema()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        differences = [str(difference) for difference in compare_metadata(context, db.metadata)]
        tables = inspect(connection).get_table_names()
        revisions = list(context.get_current_heads())
    counts = run_retention()
    db.engine.dispose()
status = app.test_client().get("/login").status_code
problem = database_revision_problem(app)
print(json.dumps({"problem": problem, "preload": PRELOAD, "differences": differences, "tables": tables, "revisions": revisions, "counts": counts, "status": status,
                  "modules": sorted(name for name in sys.modules if name.startswith("plugins."))}))
"""


def _check(url: str, tmp_path: Path, disabled: str = "") -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SERASI_", "FLASK_"))}
    env.update(SERASI_DATABASE_URL=url, SERASI_INSTANCE_PATH=str(tmp_path / "instance"), PYTHONPATH=str(ROOT),
               SERASI_DISABLED_PLUGINS=disabled)
    result = subprocess.run([sys.executable, "-c", DISABLED_PLUGIN_CHECK], check=False, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _empty_database(kind: str, tmp_path: Path):
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}", None
    if not POSTGRES_URL:
        skip_or_fail("SERASI_TEST_DATABASE_URL is not set: PostgreSQL variant not run")
    server = make_url(POSTGRES_URL)
    name = f"{server.database}_plugin_tables"  # beside this run's own database, never another run's
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return server.set(database=name).render_as_string(hide_password=False), (admin, name)


@pytest.mark.parametrize("disabled", ["spreadsheet_import", "company_mess", "push_api,ota_receiver,company_mess"])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_disabled_plugin_leaves_no_table_model_nor_purge_behind(kind, disabled, tmp_path):
    """push_api goes only with the plugins that authenticate with its tokens (the OTA receiver,
    the company mess roster API)."""
    url, cleanup = _empty_database(kind, tmp_path)
    try:
        seen = _check(url, tmp_path, disabled)
        gone = [name for name in disabled.split(",") if name in OWNED]
        assert seen["status"] == 200 and seen["differences"] == [] and seen["problem"] is None  # started; schema and models agree
        for plugin, tables in OWNED.items():
            for table in tables:
                assert (table in seen["tables"]) == (plugin not in gone), table
            assert any(revision.startswith(f"{plugin}_") for revision in seen["revisions"]) == (plugin not in gone)
        for plugin in gone:  # its model is not even imported
            assert f"plugins.{plugin}.models" not in seen["modules"]
        if "," not in disabled:  # nor anything of it (the OTA receiver's message module serves other plugins too)
            assert not [name for name in seen["modules"] + seen["preload"] if name == f"plugins.{disabled}" or name.startswith(f"plugins.{disabled}.")]
            assert [name for name in seen["preload"] if name.startswith("plugins.")]  # the other's parser is still preloaded
        assert ("import_jobs_deleted" in seen["counts"]) == ("spreadsheet_import" not in gone)
        assert ("roster_syncs_deleted" in seen["counts"]) == ("company_mess" not in gone)
    finally:
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_plugin_disabled_after_it_made_its_table_keeps_it_and_the_upgrade_and_start_check_still_work(kind, tmp_path):
    """The database holds the plugin's revisions: its branch stays known (without it Alembic
    could not upgrade, and the start check would refuse), its table stays, its model unloaded."""
    url, cleanup = _empty_database(kind, tmp_path)
    try:
        assert "import_job" in _check(url, tmp_path)["tables"]  # upgraded with every plugin on
        seen = _check(url, tmp_path, "spreadsheet_import")
        assert seen["problem"] is None and seen["status"] == 200
        assert "import_job" in seen["tables"] and "spreadsheet_import_0001" in seen["revisions"]
        assert "plugins.spreadsheet_import.models" not in seen["modules"] and "import_jobs_deleted" not in seen["counts"]
        assert seen["differences"] and all("import_job" in difference for difference in seen["differences"])  # a table no model has
    finally:
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
