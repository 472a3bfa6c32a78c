"""``flask --app wsgi serasi ...``: administration commands."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db


@click.group("serasi")
def serasi_cli():
    """SERASI Web administration."""


def build_cli() -> click.Group:
    """A fresh ``flask serasi`` group per app with the core commands; plugins add theirs to it
    (``serasi_register_commands``) without touching the module-level group."""
    from .stays.cli import sources_cli

    group = click.Group("serasi", help=serasi_cli.help)
    for name, command in serasi_cli.commands.items():
        group.add_command(command, name)
    group.add_command(sources_cli)
    from .jobs.cli import deliver_now_command, worker_command

    group.add_command(worker_command)
    group.add_command(deliver_now_command)
    return group


@serasi_cli.command("serve")
@click.option("--bind", default=None, help="Address to listen on (default SERASI_BIND or 127.0.0.1:8000).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Worker processes (default SERASI_WORKERS or 2 x cores + 1).")
@with_appcontext
def serve(bind: str | None, workers: int | None):
    """Run the web server: gunicorn with the production settings (put nginx in front, deploy/)."""
    from .readiness import require_ready

    require_ready(current_app)
    if bind:
        os.environ["SERASI_BIND"] = bind
    if workers:
        os.environ["SERASI_WORKERS"] = str(workers)
    # Replace this process, so that systemd's signals reach gunicorn's master directly.
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:serasi_web.gunicorn_config",
                              "serasi_web:create_app()"])


@serasi_cli.command("static-folder")
@with_appcontext
def static_folder():
    """Print the folder of the static files, for nginx to serve (docs/deploy.md)."""
    click.echo(current_app.static_folder)


@serasi_cli.command("plugins")
@with_appcontext
def plugins_command():
    """List the plugins loaded and what they registered (decoders, forwarders, sources ...)."""
    from .plugins import plugin_failures, plugin_manager, registry

    for name, _plugin in sorted(plugin_manager().list_name_plugin()):
        click.echo(f"{'plugin':<15} {name}")
    found = registry()
    for kind in ("decoders", "payload_parsers", "lodging_types", "stay_sources", "forwarders"):
        for item in getattr(found, kind):
            label = getattr(item, "name", None) or getattr(item, "key", "?")
            configured = ""
            if kind == "forwarders":
                configured = " (configured)" if item.configured(current_app) else " (not configured)"
            click.echo(f"{kind[:-1]:<15} {label}{configured}")
    for failure in plugin_failures():
        click.secho(f"{'FAILED':<15} {failure}", fg="red")


@serasi_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="The admin's full name.")
@with_appcontext
def create_admin(email: str, name: str):
    """Create an admin account. The password comes from SERASI_ADMIN_PASSWORD or a prompt."""

    from .accounts.models import Role
    from .accounts.services import create_user, find_user_by_email
    from .passwords import is_common_password

    if find_user_by_email(email):
        raise click.ClickException(f"an account with {email} already exists")
    password = os.environ.get("SERASI_ADMIN_PASSWORD") or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    minimum, maximum = current_app.config["PASSWORD_MIN_LENGTH"], current_app.config["PASSWORD_MAX_LENGTH"]
    if not minimum <= len(password) <= maximum:
        raise click.ClickException(f"the password must have {minimum} to {maximum} characters")
    if is_common_password(password):
        raise click.ClickException("that password is among the most common ones; choose another")
    create_user(email=email, password=password, full_name=name, role=Role.ADMIN)
    db.session.commit()
    click.echo(f"Admin {email} created.")


@serasi_cli.command("demo")
@with_appcontext
def demo():
    """Load the demo offices, accounts and lodgings (only what is missing)."""
    from .demo import load_demo_data, logins_file

    created = load_demo_data()
    click.echo(f"Demo data loaded; {len(created)} new accounts.")
    _print_logins(logins_file())


@serasi_cli.command("demo-data")
@click.option("--stays", type=click.IntRange(1, 20_000_000), default=10_000, show_default=True, help="Guest reports to add.")
@click.option("--days", type=click.IntRange(7, 3650), default=730, show_default=True, help="Spread check-ins over this many past days.")
@click.option("--seed", type=int, default=None, help="Random seed (the same seed gives the same data, except receipt numbers).")
@with_appcontext
def demo_data_command(stays: int, days: int, seed: int | None):
    """Add realistic demo lodgings and STAYS guest reports (bulk insert) for demos and benchmarks."""
    from .demo import logins_file
    from .demo_data import generate

    def progress(done: int, total: int) -> None:
        if done % 100_000 < 5000 or done == total:
            click.echo(f"  {done:>9,} / {total:,} stays", err=True)

    result = generate(stays, days=days, seed=seed, progress=progress)
    click.echo(f"Added {result.lodgings} lodgings and {result.stays:,} stays ({result.versions:,} versions) "
               f"in {result.seconds:.0f} s; by status: {result.by_status}")
    _print_logins(logins_file())


@serasi_cli.command("statistics-counts")
@with_appcontext
def statistics_counts_command():
    """Count again the statistics' daily check-ins now (the worker does it every minute), e.g.
    after a bulk load, so the statistics page need not count from the stays meanwhile."""
    from .officer.summaries import refresh

    result = refresh()
    if result.skipped:
        click.echo("Another process is counting right now; nothing done.")
        return
    what = "every day" if result.everything else f"{result.days} days"
    click.echo(f"Counted again: {what}, in {result.seconds:.1f} s.")


@serasi_cli.command("setup")
@with_appcontext
def setup():
    """Upgrade the database; load demo data if it is empty; print the demo logins (``make run``)."""
    from .database import upgrade_schema
    from .demo import database_is_empty, load_demo_data, logins_file

    upgrade_schema()
    if database_is_empty():
        load_demo_data()
        click.echo("Empty database: demo data loaded.")
    _print_logins(logins_file())


def _print_logins(path) -> None:
    if path.exists():
        click.echo("Demo logins (role, e-mail, password):")
        click.echo(path.read_text().rstrip())


@serasi_cli.group("offices")
def offices_cli():
    """Import or export immigration offices and their areas as CSV."""


@offices_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
@with_appcontext
def offices_import(csv_file):
    """Import offices from CSV_FILE (one row per office and region code); all or nothing."""
    from .offices.csv_io import decode_upload, import_offices

    result = import_offices(decode_upload(csv_file.read()))
    if not result.ok:
        for line, message in result.errors:
            click.echo(f"line {line}: {message}", err=True)
        raise click.ClickException(f"{len(result.errors)} bad rows; nothing was imported")
    click.echo(f"Imported {result.offices} offices with {result.region_codes} region codes.")


@offices_cli.command("export")
@click.argument("csv_file", type=click.File("w"), default="-")
@with_appcontext
def offices_export(csv_file):
    """Write every office and region code as CSV to CSV_FILE (default: standard output)."""
    from .offices.csv_io import export_offices

    csv_file.write(export_offices())
    if csv_file is not sys.stdout:
        click.echo("Exported.", err=True)


@serasi_cli.group("retention")
def retention_cli():
    """The retention policy of personal data (docs/privacy.md)."""


@retention_cli.command("show")
@with_appcontext
def retention_show():
    """Print the period of each kind of record, in days (0: kept for ever)."""
    from .privacy.retention import DEFAULT_DAYS, policy

    for kind, days in policy().items():
        note = "" if days == DEFAULT_DAYS[kind] else f" (default {DEFAULT_DAYS[kind]})"
        click.echo(f"{kind:16} {days:>6}{note}")


@retention_cli.command("set")
@click.argument("kind")
@click.argument("days", type=click.IntRange(0, 100 * 365))
@with_appcontext
def retention_set(kind: str, days: int):
    """Keep records of KIND for DAYS days (0: for ever); the change is audited."""
    from .privacy.retention import DEFAULT_DAYS, set_period

    if kind not in DEFAULT_DAYS:
        raise click.ClickException(f"unknown kind {kind!r}; one of: {', '.join(DEFAULT_DAYS)}")
    set_period(kind, days, by="cli")
    click.echo(f"{kind}: {days} days.")


@retention_cli.command("run")
@with_appcontext
def retention_run():
    """Apply the policy now, in this process (the worker does it daily), and print what it did."""
    from .privacy.retention import run_retention

    for name, count in run_retention().items():
        click.echo(f"{name:24} {count:>9,}")


@serasi_cli.command("backup")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=".", show_default=True,
              help="A folder (the archive gets a dated name) or the archive's file name.")
@with_appcontext
def backup_command(output: Path):
    """Back up the database and the instance folder into one .tar.gz (safe while running)."""
    from .backup import BackupError, create_backup

    try:
        result = create_backup(output)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = result.manifest
    click.echo(f"Backup written to {result.path}: schema revision {manifest['alembic_revision']}, "
               f"{len(manifest['row_counts'])} tables, {sum(manifest['row_counts'].values())} rows, "
               f"{len(manifest['instance_files'])} instance files.")


@serasi_cli.command("restore")
@click.argument("archive", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace everything in a database that already has tables.")
@with_appcontext
def restore_command(archive: Path, force: bool):
    """Restore ARCHIVE (made by ``backup``) into the configured database and instance folder.
    Stop the web server and the worker first."""
    from .backup import BackupError, restore_backup

    try:
        result = restore_backup(archive, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    counts = result.manifest["row_counts"]
    click.echo(f"Restored the backup of {result.manifest['created_at']}: {len(counts)} tables with the same row counts "
               f"as the backup ({sum(counts.values())} rows), {len(result.instance_files)} instance files.")
    if result.upgrade_needed:
        click.echo(f"The backup is at schema revision {result.manifest['alembic_revision']}, older than this version: "
                   "run `serasi-web db upgrade` before starting.")


@serasi_cli.command("doctor")
@click.option("--min-free-mb", type=click.IntRange(0), default=1024, show_default=True,
              help="Free space the instance folder's disk needs.")
@with_appcontext
def doctor_command(min_free_mb: int):
    """Check the configuration and surroundings; one line per check; exit status 1 on a problem."""
    from .doctor import run_checks

    problems = 0
    for check in run_checks(min_free_bytes=min_free_mb * 1024 * 1024):
        click.echo(check.line())
        problems += not check.ok
    if problems:
        click.echo(f"{problems} problem{'s' if problems > 1 else ''} found.", err=True)
        sys.exit(1)
    click.echo("No problems found.")
