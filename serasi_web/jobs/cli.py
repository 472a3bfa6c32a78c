"""``flask --app wsgi serasi worker``: the huey consumer plus the outbox delivery loop."""
from __future__ import annotations

import logging
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True, help="huey worker threads (periodic jobs and tasks).")
@click.option("--delivery/--no-delivery", default=True, show_default=True, help="Run the outbox delivery loop in this worker.")
@click.option("--periodic/--no-periodic", default=True, show_default=True, help="Run the periodic jobs (reminders, digests).")
@with_appcontext
def worker_command(threads: int, delivery: bool, periodic: bool):
    """Run background jobs until Ctrl-C or SIGTERM (any number of workers may run at once)."""
    from ..delivery.dispatcher import delivery_loop
    from ..readiness import require_ready
    from . import get_huey

    require_ready(current_app._get_current_object())

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()
    huey = get_huey(app)
    stop = threading.Event()
    loops = []
    if delivery:
        for number in range(app.config["DELIVERY_LOOPS"]):
            loop = threading.Thread(target=delivery_loop, args=(app, stop), name=f"delivery-{number + 1}", daemon=True)
            loop.start()
            loops.append(loop)
    backend = "redis" if app.config.get("REDIS_URL") else "sqlite"
    click.echo(f"SERASI worker: huey on {backend}, {threads} threads, delivery {'on' if delivery else 'off'}, "
               f"periodic jobs {'on' if periodic else 'off'}.", err=True)
    consumer = huey.create_consumer(workers=threads, worker_type="thread", periodic=periodic, check_worker_health=True)
    try:
        consumer.run()  # handles SIGINT/SIGTERM itself and returns when asked to stop
    finally:
        stop.set()
        for loop in loops:
            loop.join(timeout=30)


@click.command("deliver-now")
@with_appcontext
def deliver_now_command():
    """Dispatch the outbox and deliver everything due once, in this process."""
    from ..delivery.dispatcher import deliver_everything

    deliver_everything(timeout=600)
    click.echo("Done.")
