"""A third-party plugin (tests/plugin_example, installed through its entry point) adds a lodging
type and a pull adapter without any change to SERASI Web's code."""
import json

from importlib.metadata import entry_points
from sqlalchemy import select

from serasi_web.extensions import db
from serasi_web.lodgings.models import Lodging
from serasi_web.stays.models import Stay
from serasi_web.testing import report_values

from .helpers import lodging_values, make_lodging, skip_or_fail

EN = {"Accept-Language": "en"}


def require_installed():
    if not any(ep.name == "example" for ep in entry_points(group="serasi")):
        skip_or_fail("the example plugin is not installed: pip install -e tests/plugin_example (make test does it)")


def test_entry_point_plugin_adds_a_lodging_type_with_its_own_field_and_rule(operator_client, offices):
    require_installed()
    page = operator_client.get("/lodgings/new", headers=EN).get_data(as_text=True)
    assert '<option value="glamping">Glamping</option>' in page
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="glamping", room_count=4, tent_count=9), headers=EN)
    assert "more tents than rooms" in response.get_data(as_text=True)
    response = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="glamping", room_count=12, tent_count=9))
    assert response.status_code == 303
    assert db.session.execute(select(Lodging)).scalar_one().extra == {"tent_count": 9}


def test_entry_point_plugin_speaks_indonesian_from_its_own_catalogue(operator_client, offices):
    """Its label and its rule's message come from the plugin's catalogue, merged at start;
    the core's strings on the same page are unchanged."""
    require_installed()
    page = operator_client.get("/lodgings/type-fields?lodging_type=glamping", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Jumlah tenda" in page and "Number of tents" not in page
    assert "Number of tents" in operator_client.get("/lodgings/type-fields?lodging_type=glamping", headers={"HX-Request": "true", **EN}).get_data(as_text=True)
    page = operator_client.post("/lodgings/new", data=lodging_values(lodging_type="glamping", room_count=4, tent_count=9)).get_data(as_text=True)
    assert "tidak boleh memiliki tenda lebih banyak daripada kamar" in page
    assert "Daftarkan penginapan" in page  # the core's Indonesian is still there


def test_entry_point_plugin_has_its_own_table_and_page_linked_from_the_lodging(app, operator_client, operator, other_operator, offices):
    """The tents of a glamping site: the plugin's table (its own migration branch, already
    applied by ``db upgrade``), its page and its link, in Indonesian, scoped to the owner."""
    require_installed()
    from sqlalchemy import inspect

    from .helpers import login

    assert inspect(db.engine).has_table("example_tent")
    site = make_lodging(operator, name="Glamping Kintamani", lodging_type="glamping", extra={"tent_count": 3})
    kos = make_lodging(operator, name="Kos Melati")
    url = f"/lodgings/{site.id}/tents"
    assert f'<a href="{url}">Tenda</a>' in operator_client.get(f"/lodgings/{site.id}").get_data(as_text=True)
    assert "/tents" not in operator_client.get(f"/lodgings/{kos.id}").get_data(as_text=True)
    assert "Belum ada tenda." in operator_client.get(url).get_data(as_text=True)
    # A mistake comes back at the field, in Indonesian, with what was typed.
    page = operator_client.post(url, data={"name": "Tenda Bulan", "beds": "0"}).get_data(as_text=True)
    assert "Masukkan jumlah tempat tidur dari 1 sampai 20." in page and 'value="Tenda Bulan"' in page
    response = operator_client.post(url, data={"name": "Tenda Bulan", "beds": "2"})
    assert response.status_code == 303 and response.location == url
    assert "Tenda Bulan · 2 tempat tidur" in operator_client.get(url).get_data(as_text=True)
    assert operator_client.get(f"/lodgings/{kos.id}/tents").status_code == 404  # not a glamping site
    stranger = app.test_client()
    login(stranger, other_operator.email)
    assert stranger.get(url).status_code == 404 and stranger.post(url, data={"name": "X", "beds": "1"}).status_code == 404


def test_entry_point_plugin_pulls_stays_idempotently(app, operator, offices, tmp_path):
    require_installed()
    lodging = make_lodging(operator)
    export = tmp_path / "pms.json"
    export.write_text(json.dumps({str(lodging.id): [
        {"external_id": "R-1", "values": report_values(document_number="PQ1111111")},
        {"external_id": "R-2", "values": report_values(document_number="PQ2222222", nationality="ZZZ")},
    ]}))
    app.config["EXAMPLE_PMS_FILE"] = str(export)
    runner = app.test_cli_runner()
    assert "example_pms" in runner.invoke(args=["serasi", "sources", "list"]).output
    result = runner.invoke(args=["serasi", "sources", "sync", "example_pms", "--lodging", str(lodging.id)])
    assert "created: 1, invalid: 1" in result.output and "R-2: nationality" in result.output
    again = runner.invoke(args=["serasi", "sources", "sync", "example_pms", "--lodging", str(lodging.id)])
    assert "unchanged: 1" in again.output
    stay = db.session.execute(select(Stay)).scalar_one()
    assert stay.source == "example_pms" and stay.external_id == "R-1" and stay.status == "reported"
    assert runner.invoke(args=["serasi", "sources", "sync", "nope", "--lodging", "1"]).exit_code != 0
    # The connection's fields come as --setting; a pull that cannot be done says why, in one line.
    missing = runner.invoke(args=["serasi", "sources", "sync", "example_pms", "--lodging", str(lodging.id),
                                  "--setting", f"export_file={tmp_path / 'gone.json'}"])
    assert missing.exit_code != 0 and "tidak dapat dibaca" in missing.output and "Traceback" not in missing.output
    unknown = runner.invoke(args=["serasi", "sources", "sync", "example_pms", "--lodging", str(lodging.id), "--setting", "colour=red"])
    assert unknown.exit_code != 0 and "no field colour" in unknown.output


def test_the_plugin_is_loaded_from_its_entry_point_and_can_be_disabled(app, another_app):
    require_installed()
    from serasi_web.plugins import plugin_manager

    for hook in ("serasi_register_lodging_types", "serasi_register_stay_sources"):
        implementers = [impl.plugin_name for impl in getattr(plugin_manager().hook, hook).get_hookimpls()]
        assert "example" in implementers, hook
    without = another_app(DISABLED_PLUGINS=["example"])
    with without.app_context():
        from serasi_web.lodgings.types import lodging_type
        from serasi_web.plugins import registry

        assert lodging_type("glamping") is None and registry().stay_source("example_pms") is None
