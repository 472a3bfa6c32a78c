"""Before serving or working: the database can be reached and is migrated to this release."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import text


def database_revision_problem(app: Flask) -> str | None:
    """Why this app cannot use its database now (one line with the fix), or None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                current = set(MigrationContext.configure(connection).get_current_heads())
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            return f"cannot reach the database ({reason}): check SERASI_DATABASE_URL and that the server runs."
        finally:
            db.engine.dispose()  # a server forks after this: no connection may be shared
        heads = set(ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_heads())
    if not current:
        return "the database has no tables yet: run `serasi-web db upgrade` first."
    if current != heads:
        return (f"the database is at revision {', '.join(sorted(current))} but this release needs "
                f"{', '.join(sorted(heads))}: run `serasi-web db upgrade` (after a backup).")
    return None


def require_ready(app: Flask) -> None:
    problem = database_revision_problem(app)
    if problem:
        raise click.ClickException(problem)
