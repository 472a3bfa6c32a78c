"""``flask --app wsgi serasi sources ...``: run the pull adapters that plugins offer."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..lodgings.models import Lodging
from ..plugin_types import SourceError
from ..plugins import registry
from . import services, sync


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
    """Pull stays from source NAME into a lodging (idempotent: run it as often as you like)."""
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
    counts: dict[str, int] = {}
    try:
        items = list(source.pull(lodging, values))
    except SourceError as error:
        raise click.ClickException(str(error.message)) from None
    for item in items:
        try:
            result = sync.upsert(lodging, source.name, item.external_id, item.values, f"source:{source.name}")
            if result.outcome in ("created", "updated", "unchanged") and item.checked_out_at and result.stay.status == "reported":
                services.check_out([result.stay], item.checked_out_at, None, actor_label=f"source:{source.name}")
        except Exception as error:  # noqa: BLE001 - one bad item must not stop the others
            db.session.rollback()
            result = sync.UpsertResult("invalid", errors={"": str(error)})
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        if result.errors:
            click.echo(f"{item.external_id}: " + "; ".join(f"{k}: {v}" for k, v in result.errors.items()), err=True)
    click.echo(", ".join(f"{outcome}: {count}" for outcome, count in sorted(counts.items())) or "nothing to sync")
