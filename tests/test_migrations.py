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


def test_migration_history_is_linear(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1


def test_database_is_at_the_head_revision(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
