"""A property system's view: a Python client generated with openapi-python-client from the
served OpenAPI document runs a PMS's day through it (single PUTs, a batch with a bad item, a
correction, cursor listing, check-out, void). A spec the generated client cannot use, or an
answer it does not expect, fails here (``raise_on_unexpected_status``)."""
import importlib
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path


from .browser import live_server
from .helpers import local_now, make_lodging, skip_or_fail


def generate_client(document: dict, folder: Path):
    tool = Path(sys.executable).parent / "openapi-python-client"
    if not tool.exists():
        skip_or_fail("openapi-python-client is not installed: pip install -e '.[dev]'")
    (folder / "openapi.json").write_text(json.dumps(document))
    (folder / "config.yml").write_text("post_hooks: []\n")
    output = folder / "serasi_push_client"
    run = subprocess.run([str(tool), "generate", "--path", str(folder / "openapi.json"), "--meta", "none", "--config",
                          str(folder / "config.yml"), "--output-path", str(output)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr  # nothing of the spec was left out
    sys.path.insert(0, str(folder))
    try:
        for name in [name for name in sys.modules if name.startswith("serasi_push_client")]:
            del sys.modules[name]
        return importlib.import_module("serasi_push_client")
    finally:
        sys.path.remove(str(folder))


def stay(number="TZ1234567", room="101", **top):
    return {
        "guest": {"surname": "Tanaka", "given_names": "Yui", "sex": "F", "date_of_birth": "1992-04-05", "place_of_birth": "Osaka", "nationality": "JPN"},
        "document": {"type": "passport", "number": number, "issuing_state": "JPN", "expiry_date": (date.today() + timedelta(days=1500)).isoformat()},
        "permit": {"kind": "bvk", "entry_date": (date.today() - timedelta(days=2)).isoformat(), "port_of_entry": "Ngurah Rai", "valid_until": None},
        "stay": {"check_in": local_now(delta_hours=-2) + ":00+08:00", "room": room, "purpose": "tourism"},
        **top,
    }


def test_a_generated_client_runs_a_property_systems_day(app, operator, offices, tmp_path):
    from plugins.push_api.tokens import create_token

    token = create_token(make_lodging(operator), "Generated PMS", operator)
    module = generate_client(app.test_client().get("/api/v1/openapi.json").json, tmp_path)
    from serasi_push_client.api.default import batch, check_out, get_stay, list_stays, put_stay, void_stay
    from serasi_push_client.models import BatchBody, CheckOutBody, StayBody, VoidStayBody

    with live_server(app) as base_url:
        client = module.AuthenticatedClient(base_url=base_url + "/api/v1", token=token, raise_on_unexpected_status=True)
        created = put_stay.sync_detailed("RES-1", client=client, body=StayBody.from_dict(stay()))
        assert created.status_code == 201 and created.parsed.status.value == "reported"
        again = put_stay.sync_detailed("RES-1", client=client, body=StayBody.from_dict(stay()))
        assert again.status_code == 200 and again.parsed.version == 1
        corrected = put_stay.sync_detailed("RES-1", client=client, body=StayBody.from_dict(stay(room="102")))
        assert corrected.status_code == 200 and corrected.parsed.version == 2

        items = [stay("TB0000001", external_id="B-1"), stay("TB0000002", external_id="B-2"), stay("TB0000003", external_id="B-3")]
        items[1]["stay"]["check_in"] = "2001-01-01T10:00:00+08:00"  # schema-valid, but before the entry date: a bad item
        answer = batch.sync_detailed(client=client, body=BatchBody.from_dict({"items": items}))
        assert answer.status_code == 200
        results = answer.parsed.results
        assert [result.status for result in results] == [201, 422, 201]
        assert results[1].problem.type_ == "urn:serasi-web:problem:invalid-stay" and results[1].problem.status == 422
        assert all(error.pointer.startswith("/items/1/") for error in results[1].problem.errors)

        seen, cursor = [], None
        while True:
            page = list_stays.sync(client=client, limit=1, cursor=cursor) if cursor else list_stays.sync(client=client, limit=1)
            seen += [item.external_id for item in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(seen) == ["B-1", "B-3", "RES-1"]

        out = check_out.sync_detailed("B-1", client=client, body=CheckOutBody.from_dict({"checked_out_at": local_now() + ":00+08:00"}))
        assert out.status_code == 200 and out.parsed.status.value == "checked_out"
        voided = void_stay.sync_detailed("B-3", client=client, body=VoidStayBody.from_dict({"reason": "Booking cancelled"}))
        assert voided.status_code == 200 and voided.parsed.status.value == "voided"
        refused = put_stay.sync_detailed("B-3", client=client, body=StayBody.from_dict(stay("TB0000003", room="9")))
        assert refused.status_code == 409 and refused.parsed.type_ == "urn:serasi-web:problem:conflict"
        missing = get_stay.sync_detailed("NOPE", client=client)
        assert missing.status_code == 404 and missing.parsed.status == 404
