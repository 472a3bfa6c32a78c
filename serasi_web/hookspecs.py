"""Every hook of SERASI Web, grouped by lifecycle.

Plugins implement hooks with ``@serasi_web.hookimpl``. Discovery hooks receive a ``register``
callback and call it once per thing they provide (a decoder, a parser ...); the work then runs
through those small objects, so one failing plugin cannot break the others. Hook
implementations must not rely on default argument values (pluggy ignores them).

Failure policy, per kind of hook (docs/plugins.md, "When a plugin fails"):
- discovery hooks (``serasi_register_*``) run once at start-up; one that raises stops the start
  with a one-line message naming the plugin (``ALLOW_DEGRADED_START`` starts anyway, shown in
  red on ``/healthz`` and every admin page). A plugin that cannot be imported does the same;
- validation hooks (``serasi_validate_stay``) fail closed: one that raises refuses the report;
- event hooks (``serasi_stay_event``) are delivered through the outbox by the worker: one that
  raises is retried with backoff, like a forwarder, and shows on the admin's delivery page.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("serasi")
hookimpl = pluggy.HookimplMarker("serasi")


# ---- Document capture ---------------------------------------------------------------------

@hookspec
def serasi_register_decoders(register):
    """Offer image decoders that find machine-readable codes (QR, barcodes) in a photo.

    Called when the plugin manager is built. Call ``register(decoder)`` for each decoder; a
    decoder has ``name: str``, ``priority: int`` (lower runs first), ``available() -> bool``
    (False when its native library is missing) and ``decode(image: PIL.Image.Image) ->
    list[str]`` returning the text of every code found (an empty list when none). Decoders run
    in priority order on the scaled photo; the next one runs only when the earlier found nothing.
    Return value: ignored.
    """


@hookspec
def serasi_register_payload_parsers(register):
    """Offer parsers that turn the text of a code (or typed MRZ lines) into report fields.

    Call ``register(parser)`` for each parser; a parser has ``name: str``, ``priority: int``
    (lower is tried first) and ``parse(text: str) -> serasi_web.capture.payloads.ParsedPayload |
    None`` (None when the text is not of its kind). The first parser that returns a result wins.
    A parser fills a field only from what the payload states; it never invents a value.
    Return value: ignored.
    """


# ---- Lodgings -----------------------------------------------------------------------------

@hookspec
def serasi_register_lodging_types(register):
    """Offer lodging types (hotel, kos, company mess ...).

    Called when the plugin manager is built. Call ``register(lodging_type)`` with a
    ``serasi_web.lodgings.types.LodgingType``: ``key``, ``label``, ``commercial`` (a commercial
    lodging must give its NIB), ``individual_host`` (a person's own home: residence wording,
    the host's NIK, no NIB or room count), ``extra_fields`` (name -> WTForms field, stored in
    ``Lodging.extra``), ``validate(values) -> dict[field, message]`` for its own rules, and
    ``order`` (position in the list). A later registration of the same key replaces the earlier
    one, so an installed plugin can refine a bundled type. Return value: ignored.
    """


# ---- Stays --------------------------------------------------------------------------------

@hookspec
def serasi_validate_stay(lodging, values):
    """Extra validation of a guest report, from the form, the API or an import.

    Called before a report is created, corrected or submitted, with the lodging and the report's
    values (the report form's field names: ``surname``, ``document_number``, ``check_in_at`` as
    an aware UTC datetime ...). Return ``{field name: message}`` for each problem, or None. The
    problems of every plugin are shown together. Fails closed: if the implementation raises, the
    report is refused (a check that did not run must not let a report through).
    """


@hookspec
def serasi_stay_event(event, stay):
    """A report changed: ``event`` is "reported", "corrected", "checked_out" or "voided".

    Delivered through the outbox by the background worker after the change is committed, with the
    ``Stay`` as it is then, inside an app context. Use it to notify or to start work elsewhere; do
    not change the stay here. An exception does not undo the change: the event is retried with
    backoff (``DELIVERY_*`` settings) and shows on the admin's delivery page as
    ``plugin:<plugin name>``, so make the work idempotent. Return value: ignored.
    """


@hookspec
def serasi_register_stay_sources(register):
    """Offer adapters that bring stays in from another system (a PMS, an HR roster ...).

    Call ``register(source)``; a source has ``name`` (also its ``source`` value on the stays it
    brings), ``label`` and ``pull(lodging) -> Iterable[serasi_web.stays.sync.ExternalStay]``.
    ``flask --app wsgi serasi sources sync NAME --lodging ID`` runs it; every item goes through the
    same idempotent upsert as the push API (same external id and content: nothing happens; changed
    content: a correction). One failing item does not stop the others. Return value: ignored.
    """


# ---- Delivery -----------------------------------------------------------------------------

@hookspec
def serasi_register_forwarders(register):
    """Offer delivery targets for reports (a webhook, another SERASI Web, e-mail ...).

    Call ``register(forwarder)``; a forwarder has ``name``, ``configured(app) -> bool`` and
    ``deliver(event: dict) -> None`` (raise to ask for a retry). Background delivery calls every
    configured forwarder for each stay event. Return value: ignored.

    Refinements (``serasi_web.delivery.forwarders``): ``deliver`` may return a
    ``DeliveryResult(status_code)`` shown to the admin; raising
    ``DeliveryFailed(message, status_code=..., retry=..., retry_after=...)`` says whether a retry
    can help (by default: yes for 408, 425, 429 and 5xx, no for other 4xx, which then wait for a
    person); any other exception is retried with backoff. ``deliver`` runs in a worker thread
    inside an app context (``current_app.config`` holds the settings); the event's
    ``idempotency_key`` must travel with it so the receiver can drop repeats.
    """


# ---- Privacy ------------------------------------------------------------------------------

@hookspec
def serasi_purge_expired(moment, batch_size):
    """Delete the records a plugin keeps of uploads and imports that are past their retention
    period (the ``import_jobs`` kind, docs/privacy.md): those made before ``moment``, an aware
    UTC datetime.

    Called by the daily retention job (``serasi_web.privacy.retention.run_retention``) inside an
    app context, after the core's own kinds, and not at all while the period is 0 (kept for
    ever). Delete at most ``batch_size`` rows per transaction and commit each batch
    (``serasi_web.privacy.retention.delete_in_batches(model, condition, batch_size)`` does both,
    repeating the condition so a row that changed in between is left alone). Return a dict of
    counts, e.g. ``{"import_jobs_deleted": 3}``: they are added to the run's report (the same key
    from two plugins is summed). An exception stops the run after the core's kinds are done; the
    next daily run tries again.
    """


# ---- Application --------------------------------------------------------------------------

@hookspec
def serasi_register_lodging_links(register):
    """Link a plugin's page for one lodging from the lodging's page (the operator's view): call
    ``register(LodgingLink(label, endpoint, lodging_types=(), order=100))`` from
    ``serasi_web.lodgings.types``. ``endpoint`` is a view of one of the plugin's blueprints taking
    ``lodging_id`` (the start stops if no blueprint provides it); ``lodging_types`` limits the
    link to those types; the label is a lazy string, shown in the user's language. The page
    itself must check that the lodging is the user's own. Called once in ``create_app()``.
    Return value: ignored.
    """


@hookspec
def serasi_register_blueprints(register):
    """Add pages or API routes: call ``register(blueprint)`` with a Flask ``Blueprint``.

    Called once in ``create_app()``. A blueprint whose name starts with ``api`` is exempt from
    CSRF protection (it must authenticate every request itself). Return value: ignored.
    """


@hookspec
def serasi_register_translations(register):
    """Add a plugin's own message catalogue: call ``register(folder)`` with a folder holding
    ``<language>/LC_MESSAGES/messages.mo`` (the plugin's strings, marked with flask_babel's
    ``gettext``/``lazy_gettext`` as in the core). The catalogues are merged at start, the core's
    last, so a plugin adds translations and never changes the core's. A folder that does not
    exist stops the start. Called once in ``create_app()``. Return value: ignored.
    """


@hookspec
def serasi_register_migrations(register):
    """Add a plugin's own tables: call ``register(folder)`` with a folder of Alembic revision
    files. The plugin's first revision has ``down_revision = None``, ``branch_labels =
    ("<plugin>",)`` and ``depends_on`` the core revision whose tables it refers to; its models
    use ``serasi_web.extensions.db.Model``. ``serasi-web db upgrade`` then upgrades the core and
    every plugin's branch in one go. A folder that does not exist stops the start. Keep it as
    ``migrations/`` in the plugin's package: a disabled plugin's branch is found there when the
    database already holds it. Called once in ``create_app()``. Return value: ignored.
    """


@hookspec
def serasi_register_audit_labels(register):
    """Name a plugin's audit entries in words: call ``register(AuditLabels(actions={code: label},
    object_types={class name: label}))`` from ``serasi_web.plugin_types``, labels as lazy strings.
    ``actions`` are the codes the plugin passes to ``serasi_web.audit.services.record``;
    ``object_types`` the class names of the objects it records them about. The audit log, its
    export and a data subject's answer then show the words in the reader's language (a code no
    plugin names shows as itself, or "Other event"); the core's own labels win over a plugin's.
    Called once in ``create_app()``. Return value: ignored.
    """


@hookspec
def serasi_register_commands(group):
    """Add command-line commands: ``group`` is the ``flask serasi`` click group; call
    ``group.add_command(command)``. Called once in ``create_app()``. Return value: ignored.
    """


@hookspec
def serasi_register_tasks(register):
    """Add background jobs run by the worker (huey): call ``register(name, function)``; the
    function runs inside an app context (and its database session is removed afterwards).
    Enqueue it with ``serasi_web.jobs.get_huey().serasi_tasks[name](*args)``; arguments must be
    JSON-like values (ids, not objects). Called once in ``create_app()``; the tasks are put on
    the app's huey when it is first used. Return value: ignored.
    """
