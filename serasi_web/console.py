"""``serasi-web``: the command an installed SERASI Web is run with (no ``--app`` needed).

It is the Flask command line of ``create_app()`` (``db upgrade``, ``routes``, ``shell`` ...) with
every ``serasi`` command also at the top level: ``serasi-web serve``, ``serasi-web worker``,
``serasi-web create-admin``, ``serasi-web doctor`` ... A configuration that cannot work ends the
command with one line saying what to fix, not a traceback.
"""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup, ScriptInfo


def _create_app():
    from . import create_app

    return create_app()


class SerasiGroup(FlaskGroup):
    """Flask's commands, then the ``serasi`` group's (core and plugins) at the top level."""

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None or name == "serasi":
            return command
        app = ctx.ensure_object(ScriptInfo).load_app()
        group = app.cli.commands.get("serasi")
        return group.get_command(ctx, name) if group is not None else None

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        try:
            group = ctx.ensure_object(ScriptInfo).load_app().cli.commands.get("serasi")
        except Exception:  # noqa: BLE001 - the listing still shows Flask's own commands
            group = None
        if group is not None:
            names |= set(group.list_commands(ctx))
        return sorted(names)


cli = SerasiGroup(name="serasi-web", help="SERASI Web: report foreign guests' stays to Indonesian immigration.", create_app=_create_app,
                  add_version_option=False, load_dotenv=False, set_debug_flag=False)


def one_line_problem(error: BaseException) -> str | None:
    """The one line to print for a start-up problem a person must fix, or None (a real bug)."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from .config import ConfigurationError
    from .plugins import PluginLoadError

    if isinstance(error, (ConfigurationError, PluginLoadError)):
        return str(error)
    if isinstance(error, OperationalError):
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error).splitlines()[0]
        return f"cannot reach the database ({reason}): check SERASI_DATABASE_URL and that the server runs."
    if isinstance(error, ArgumentError):
        return f"SERASI_DATABASE_URL is not a database URL ({error})."
    return None


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="serasi-web")
    except Exception as error:  # noqa: BLE001 - only the ones a person can fix are shortened
        line = one_line_problem(error)
        if line is None:
            raise
        click.secho(f"serasi-web: {line}", err=True, fg="red")
        sys.exit(2)


if __name__ == "__main__":
    main()
