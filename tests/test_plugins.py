"""The plugin system: every hook is documented and tested; plugins are isolated from each other."""
import re
from pathlib import Path

import pluggy
import pytest
from sqlalchemy import select

from serasi_web import hookspecs
from serasi_web.capture.images import decode_photo
from serasi_web.capture.payloads import ParsedPayload, parse_payload
from serasi_web.plugins import PluginLoadError, Registry, _collect, _collect_lodging_types, _Loader, build_plugin_manager, listener_name, registry

from .capture_samples import qr_photo

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("serasi_"))


def test_every_hook_is_documented_with_an_example():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for hook in HOOKS:
        section = re.search(rf"### `{hook}\(.*?(?=\n### |\Z)", docs, re.S)
        assert section, f"{hook} is not documented in docs/plugins.md"
        assert "@hookimpl" in section.group(0), f"{hook} has no example in docs/plugins.md"


def test_every_hook_is_documented_with_its_signature_and_every_registered_type_with_its_attributes():
    import inspect

    from serasi_web import plugin_types

    docs = (ROOT / "docs" / "plugins.md").read_text()
    for hook in HOOKS:
        arguments = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
        assert f"### `{hook}({arguments})`" in docs, f"docs/plugins.md does not show {hook}({arguments})"
    for hook, kind in plugin_types.REGISTERED.items():
        assert hook in HOOKS
        section = re.search(rf"### `{hook}\(.*?(?=\n### |\Z)", docs, re.S).group(0)
        for member in plugin_types.missing(object(), kind) if kind.__dict__.get("_is_protocol") else ():
            assert f"`{member}" in section, f"docs/plugins.md does not say that a {kind.__name__} has `{member}`"


def test_every_hook_has_a_test():
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py") if path.name != "test_plugins.py")
    tests += (ROOT / "tests" / "test_plugins.py").read_text().split("# ---- hook tests", 1)[1]
    for hook in HOOKS:
        assert hook in tests, f"no test uses {hook}"


def test_bundled_plugins_register_like_external_ones_and_misspelt_hooks_fail():
    manager = build_plugin_manager()
    assert {"plugins.zxing_decoder", "plugins.zbar_decoder", "plugins.mrz_payload", "plugins.labelled_payload"} <= {
        name for name, _ in manager.list_name_plugin()}

    class Misspelt:
        @hookspecs.hookimpl
        def serasi_register_decoderz(self, register):
            pass

    manager.register(Misspelt())
    with pytest.raises(pluggy.PluginValidationError):
        manager.check_pending()


# ---- hook tests

class BrokenPlugin:
    @hookspecs.hookimpl
    def serasi_register_decoders(self, register):
        raise RuntimeError("this plugin is broken")

    @hookspecs.hookimpl
    def serasi_register_payload_parsers(self, register):
        register(ExplodingParser())


class ExplodingParser:
    name = "exploding"
    priority = 1

    def parse(self, text):
        raise ValueError("boom")


class StickerPlugin:
    @hookspecs.hookimpl
    def serasi_register_payload_parsers(self, register):
        register(StickerParser())


class StickerParser:
    name = "sticker"
    priority = 5

    def parse(self, text):
        if text.startswith("KANIM1|"):
            return ParsedPayload(kind="sticker", parser=self.name, values={"permit_number": text.split("|")[1], "entry_stamp_qr": text})
        return None


def test_a_broken_discovery_hook_stops_the_start_and_a_broken_parser_only_loses_itself(app):
    """Registration runs once at start-up and fails loudly (tests/test_plugin_failures.py); a
    registered parser that raises on one photo's text is skipped for that text only."""
    manager = build_plugin_manager(extra=[BrokenPlugin()])
    with pytest.raises(PluginLoadError, match="plugin BrokenPlugin failed in serasi_register_decoders"):
        _collect(manager, "serasi_register_decoders")
    decoders = _collect(build_plugin_manager(), "serasi_register_decoders")
    parsers = _collect(manager, "serasi_register_payload_parsers")
    assert [p.name for p in parsers][0] == "exploding"
    assert decode_photo(qr_photo("still works"), decoders).texts == ["still works"]
    assert parse_payload("passport=X1234567", parsers).values["document_number"] == "X1234567"


def test_a_registration_of_the_wrong_shape_stops_the_start_naming_the_plugin_and_what_is_missing(tmp_path):
    from serasi_web import create_app

    class HalfDecoder:  # no available()
        name, priority = "half", 5

        def decode(self, image):
            return []

    class Careless:
        @hookspecs.hookimpl
        def serasi_register_decoders(self, register):
            register(HalfDecoder())

        @hookspecs.hookimpl
        def serasi_register_lodging_types(self, register):
            register({"key": "tent", "label": "Tent"})

    with pytest.raises(PluginLoadError) as stopped:
        create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://", "EXTRA_PLUGINS": [Careless()]})
    assert str(stopped.value) == ("plugin Careless registered a HalfDecoder in serasi_register_decoders that is not a Decoder: "
                                  "it lacks available")
    loader = _Loader(allow_degraded=True)
    _collect_lodging_types(build_plugin_manager(extra=[Careless()]), loader)
    assert loader.failures == ["plugin Careless registered a dict in serasi_register_lodging_types that is not a LodgingType: "
                               "it lacks an instance of serasi_web.lodgings.types.LodgingType"]


def test_a_translations_or_migrations_folder_that_does_not_exist_stops_the_start(tmp_path):
    from serasi_web import create_app

    class Untranslated:
        @hookspecs.hookimpl
        def serasi_register_translations(self, register):
            register(tmp_path / "nowhere")

    class Unmigrated:
        @hookspecs.hookimpl
        def serasi_register_migrations(self, register):
            register(tmp_path / "nowhere")

    with pytest.raises(PluginLoadError, match="plugin Untranslated registered a translations folder that does not exist: .*nowhere"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://", "EXTRA_PLUGINS": [Untranslated()]})
    with pytest.raises(PluginLoadError, match="plugin Unmigrated registered a migrations folder that does not exist: .*nowhere"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://", "EXTRA_PLUGINS": [Unmigrated()]})


def test_a_plugin_parser_takes_its_payloads(app):
    manager = build_plugin_manager()
    manager.register(StickerPlugin())
    parsers = _collect(manager, "serasi_register_payload_parsers")
    assert parse_payload("KANIM1|2C21AB0001", parsers).values["permit_number"] == "2C21AB0001"
    assert parse_payload("passport=X1234567", parsers).kind == "labelled"


def test_the_app_keeps_its_registry(app):
    assert isinstance(registry(), Registry)
    assert [p.name for p in registry().payload_parsers] == ["mrz", "labelled"]


class RecordingPlugin:
    """Implements the remaining hooks and records what it saw."""

    def __init__(self):
        self.events = []

    @hookspecs.hookimpl
    def serasi_validate_stay(self, lodging, values):
        if values.get("room") == "13":
            return {"room": "This lodging has no room 13."}
        return None

    @hookspecs.hookimpl
    def serasi_stay_event(self, event, stay):
        self.events.append((event, stay.external_id))

    @hookspecs.hookimpl
    def serasi_register_forwarders(self, register):
        register(NullForwarder())

    @hookspecs.hookimpl
    def serasi_register_commands(self, group):
        import click

        @click.command("hello-plugin")
        def hello():
            click.echo("hello from a plugin")

        group.add_command(hello)


class NullForwarder:
    name = "null"

    def configured(self, app):
        return True

    def deliver(self, event):
        pass


class FailingEventPlugin:
    @hookspecs.hookimpl
    def serasi_stay_event(self, event, stay):
        raise RuntimeError("a broken listener")


def test_plugin_hooks_for_validation_events_forwarders_and_commands(tmp_path):
    from serasi_web.delivery.dispatcher import deliver_everything
    from serasi_web.delivery.models import Delivery, DeliveryStatus
    from serasi_web.extensions import db
    from serasi_web.stays import services, sync
    from serasi_web.testing import operator_with_lodging, plugin_app, report_values

    plugin = RecordingPlugin()
    app = plugin_app(tmp_path, plugin, FailingEventPlugin())
    with app.app_context():
        _, lodging = operator_with_lodging()
        refused = sync.upsert(lodging, "test", "A", report_values(room="13"), "test")  # serasi_validate_stay
        assert refused.outcome == "invalid" and refused.errors == {"room": "This lodging has no room 13."}
        created = sync.upsert(lodging, "test", "A", report_values(room="12"), "test")
        assert created.outcome == "created"  # the failing serasi_stay_event listener undid nothing
        services.void(created.stay, "test", None)
        assert plugin.events == []  # serasi_stay_event: delivered through the outbox, by the worker
        deliver_everything()
        assert plugin.events == [("reported", "A"), ("voided", "A")]
        # The listener that raised is retried with backoff, visible like any forwarder.
        first, second = db.session.scalars(select(Delivery).where(Delivery.forwarder == listener_name("FailingEventPlugin"))
                                           .order_by(Delivery.outbox_event_id)).all()
        assert first.status == DeliveryStatus.PENDING and first.attempts == 1 and "a broken listener" in first.last_error
        assert second.status == DeliveryStatus.PENDING and second.attempts == 0  # events of a stay keep their order
        names = [f.name for f in registry().forwarders]
        assert names[-3:] == ["null", listener_name("RecordingPlugin"), listener_name("FailingEventPlugin")]  # after the bundled ones
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["serasi", "hello-plugin"])  # serasi_register_commands
    assert result.output.strip() == "hello from a plugin"


def test_blueprints_from_plugins_are_registered_and_api_ones_skip_csrf(tmp_path):
    from flask import Blueprint

    from serasi_web.testing import plugin_app

    class BlueprintPlugin:
        @hookspecs.hookimpl
        def serasi_register_blueprints(self, register):
            bp = Blueprint("api_echo", __name__, url_prefix="/api/echo")
            bp.add_url_rule("/", "echo", lambda: {"ok": True}, methods=["POST"])
            register(bp)

    app = plugin_app(tmp_path, BlueprintPlugin(), WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/api/echo/").json == {"ok": True}


def test_plugins_link_their_lodging_pages_through_serasi_register_lodging_links(another_app, operator, offices, tmp_path):
    from flask import Blueprint
    from flask_babel import lazy_gettext as _l

    from serasi_web.lodgings.types import LodgingLink

    from .helpers import login, make_lodging

    kos = make_lodging(operator)
    mess = make_lodging(operator, name="Mess PT Nikel", lodging_type="company_mess", extra={"employer_name": "PT Nikel"})

    class Tents:
        @hookspecs.hookimpl
        def serasi_register_blueprints(self, register):
            pages = Blueprint("tents", __name__)
            pages.add_url_rule("/lodgings/<int:lodging_id>/tents", "index", lambda lodging_id: "tents")
            register(pages)

        @hookspecs.hookimpl
        def serasi_register_lodging_links(self, register):
            register(LodgingLink(_l("Roster"), "tents.index", lodging_types=("boarding_house",), order=1))

    def links(app, lodging, language="en"):
        client = app.test_client()
        login(client, operator.email)
        page = client.get(f"/lodgings/{lodging.id}", headers={"Accept-Language": language}).get_data(as_text=True)
        return re.findall(r'<a href="(/lodgings/\d+/[a-z-]+)">([^<]+)</a>', page)

    bundled = another_app()
    assert links(bundled, mess) == [(f"/lodgings/{mess.id}/edit", "Edit"), (f"/lodgings/{mess.id}/api-tokens", "API tokens"),
                                    (f"/lodgings/{mess.id}/import", "Import from a spreadsheet"),
                                    (f"/lodgings/{mess.id}/roster", "Roster")]
    assert (f"/lodgings/{kos.id}/roster", "Roster") not in links(bundled, kos)  # a kos has no roster
    assert (f"/lodgings/{mess.id}/roster", "Daftar penghuni") in links(bundled, mess, "id")
    # Disabled plugins leave no link behind; a plugin's own page is linked for its types, first.
    bare = another_app(DISABLED_PLUGINS=["push_api", "spreadsheet_import", "company_mess"], EXTRA_PLUGINS=[Tents()])
    assert links(bare, mess) == [(f"/lodgings/{mess.id}/edit", "Edit")]
    assert links(bare, kos)[:2] == [(f"/lodgings/{kos.id}/edit", "Edit"), (f"/lodgings/{kos.id}/tents", "Roster")]


def test_a_lodging_link_to_a_page_no_plugin_provides_stops_the_start(tmp_path):
    from serasi_web import create_app
    from serasi_web.lodgings.types import LodgingLink

    class Dangling:
        @hookspecs.hookimpl
        def serasi_register_lodging_links(self, register):
            register(LodgingLink("Tents", "tents.index"))

    with pytest.raises(PluginLoadError, match="a lodging link names the endpoint 'tents.index', which no registered blueprint provides"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://", "EXTRA_PLUGINS": [Dangling()]})


