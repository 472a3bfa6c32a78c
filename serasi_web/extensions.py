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

    folders = current_app.extensions.get("serasi.plugin_migrations", [])
    if folders:
        import os

        core = os.path.join(config.get_main_option("script_location"), "versions")
        config.set_main_option("path_separator", "os")  # os.pathsep (alembic 1.16+): paths may hold spaces
        config.set_main_option("version_locations", os.pathsep.join([core, *folders]))
    return config


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
