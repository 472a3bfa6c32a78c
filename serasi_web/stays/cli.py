"""``flask --app wsgi serasi sources ...``: run the pull adapters that plugins offer."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..lodgings.models import Lodging
from ..plugin_types import SourceError
from ..plugins import registry


@click.group("sources")
def sources_cli():
    """Adapters that bring stays in from other systems (plugins)."""


@sources_cli.command("list")
@with_appcontext
def list_sources():
    """List the stay sources the installed plugins offer."""
    for source in registry().stay_sources:
        fields = ", ".join(field.name + ("" if field.required else "?") for field in source.fields)
        click.echo(f"{source.name}\t{source.label}\t{fields}")


@sources_cli.command("sync")
@click.argument("name")
@click.option("--lodging", "lodging_id", type=int, required=True, help="The lodging whose stays the source pulls.")
@click.option("--setting", "settings", multiple=True, metavar="FIELD=VALUE", help="One of the source's fields (see: sources list); repeat for each.")
@with_appcontext
def sync_source(name: str, lodging_id: int, settings: tuple[str, ...]):
    """Pull stays from source NAME into a lodging (idempotent: run it as often as you like).

    The same pull as the worker's scheduled one (``integrations.sources.pull_into``), with the
    settings given here instead of a stored connection's."""
    from ..integrations.sources import pull_into

    source = registry().stay_source(name)
    if source is None:
        raise click.ClickException(f"no stay source named {name!r} (see: flask serasi sources list)")
    lodging = db.session.get(Lodging, lodging_id)
    if lodging is None:
        raise click.ClickException(f"no lodging {lodging_id}")
    values = dict(setting.partition("=")[::2] for setting in settings)
    unknown = set(values) - {field.name for field in source.fields}
    if unknown:
        raise click.ClickException(f"{name} has no field {', '.join(sorted(unknown))}")
    try:
        counts = pull_into(lodging, source, values)
    except SourceError as error:
        raise click.ClickException(str(error.message)) from None
    for external_id, errors in counts.problems:
        click.echo(f"{external_id}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), err=True)
    click.echo(", ".join(f"{outcome}: {count}" for outcome, count in sorted(counts.outcomes.items())) or "nothing to sync")


@sources_cli.command("run")
@click.argument("connection_id", type=int)
@with_appcontext
def run_connection(connection_id: int):
    """Pull one stored connection now, as the worker would (recorded in its history)."""
    from ..integrations.models import SourceConnection
    from ..integrations.sources import describe_failure, run_pull

    connection = db.session.get(SourceConnection, connection_id)
    if connection is None:
        raise click.ClickException(f"no connection {connection_id}")
    run = run_pull(connection)
    if run.failure:
        raise click.ClickException(describe_failure(run.failure))
    click.echo(f"created: {run.created_count}, updated: {run.updated_count}, unchanged: {run.unchanged_count}, "
               f"draft: {run.draft_count}, refused: {run.refused_count}, voided: {run.voided_count}")
