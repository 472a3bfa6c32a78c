"""The schema exists only through migrations: the models and the migration history must agree."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from serasi_web.database import include_name
from serasi_web.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True,
                                                             "include_name": include_name})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models differ from migrations; run flask db migrate: {differences}"


def test_the_core_history_is_linear_and_each_plugin_has_a_branch_of_its_own(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    plugin_folders = current_app.extensions["serasi.plugin_migrations"]
    core_heads = [head for head in script.get_heads() if not any(script.get_revision(head).path.startswith(folder) for folder in plugin_folders)]
    assert len(core_heads) == 1
    for folder in plugin_folders:  # one head per plugin, on a labelled branch that starts from nothing
        revisions = [revision for revision in script.walk_revisions() if revision.path.startswith(folder)]
        assert len([revision for revision in revisions if revision.is_head]) == 1
        bases = [revision for revision in revisions if revision.down_revision is None]
        assert len(bases) == 1 and bases[0].branch_labels and bases[0].dependencies


def test_database_is_at_every_head(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        assert set(MigrationContext.configure(connection).get_current_heads()) == heads
