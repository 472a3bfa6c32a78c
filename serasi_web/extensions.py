"""Flask extensions, created unbound here and bound to an app in ``create_app``."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .database import Base
from .htmx import htmx  # noqa: F401  (bound in create_app like the others)
from .replica import RoutingSession

# The routing session sends the console's reads to a replica when one is configured (replica.py).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()


@migrate.configure
def _with_plugin_migrations(config):
    """Alembic finds the plugins' own revisions (``serasi_register_migrations``) beside the
    core's: each plugin's is a branch of its own, so ``db upgrade`` goes to every head
    (``schema.upgrade_schema``)."""
    from flask import current_app

    folders = [*current_app.extensions.get("serasi.plugin_migrations", []),
               *_held_by_the_database(current_app.extensions.get("serasi.disabled_plugin_migrations", []))]
    if folders:
        import os

        core = os.path.join(config.get_main_option("script_location"), "versions")
        config.set_main_option("path_separator", "os")  # os.pathsep (alembic 1.16+): paths may hold spaces
        config.set_main_option("version_locations", os.pathsep.join([core, *folders]))
    return config


def _held_by_the_database(folders: list[str]) -> list[str]:
    """Those of the disabled plugins' migration folders whose revisions the database holds: the
    plugin was on when it was upgraded. Its branch stays known (its table and rows are kept, and
    ``db upgrade`` and the start check work); a database that never had it gets no table."""
    if not folders:
        return []
    import re
    from pathlib import Path

    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    # An engine of its own on the app's URL (a SQLite path as resolved against the instance folder):
    # the app's pool is left as it was, with no connection (a server forks after its start check).
    engine = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return []
            held = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:  # unreachable: the start check and the doctor say so
        return []
    finally:
        engine.dispose()
    revision_line = re.compile(r"""^revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)
    return [folder for folder in folders
            if held & {match for path in Path(folder).glob("*.py") for match in revision_line.findall(path.read_text())}]


def _upgrade_goes_to_every_head() -> None:
    """``serasi-web db upgrade`` without a revision means every head (Flask-Migrate's default,
    "head", refuses once a plugin brings a branch): one command upgrades the core and plugins."""
    from flask_migrate.cli import upgrade

    for parameter in upgrade.params:
        if parameter.name == "revision":
            parameter.default = "heads"


_upgrade_goes_to_every_head()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
