"""The federation forwarder: another SERASI Web instance (say the immigration office's).

Two protocols, told apart by the token in ``FEDERATION_TOKEN``:

- a **peer token** (``srf_...``, issued by the other instance's admin under Admin › Federation):
  each event is POSTed to ``/api/v1/federation/events`` with the stay at its version and its
  lodging (name, type, address, region codes, NIB, office), so the other instance mirrors every
  lodging in its own district and keeps the receipt numbers (docs/delivery.md, "Federation");
- a **lodging's push-API token** (``srs_...``, the older set-up): every stay lands in that one
  lodging there. The stay's external id there is ``<FEDERATION_EXTERNAL_ID_PREFIX>-<stay id
  here>``. Reported and corrected events PUT the whole stay (the same body twice changes nothing
  there, so a repeat is harmless); a check-out PUTs then POSTs the check-out; a void DELETEs with
  the reason.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from serasi_web.delivery.destinations import check_destination
from serasi_web.delivery.forwarders import DeliveryResult, check_http_response
from serasi_web.federation.peers import TOKEN_PREFIX

from .http import session


def stay_body(event: dict) -> dict:
    """The push API's body from an event payload (same sections, same names)."""
    stay = event["stay"]
    return {
        "guest": {key: value for key, value in stay["guest"].items() if value is not None},
        "document": {key: value for key, value in stay["document"].items() if value is not None},
        "permit": {key: value for key, value in stay["permit"].items() if value is not None},
        "stay": {key: value for key, value in stay["stay"].items() if value is not None},
    }


# A token the receiving instance issued to this one as a peer (not a push-API token).
PEER_TOKEN_PREFIX = TOKEN_PREFIX
STAY_FACTS = ("id", "version", "status", "receipt_number", "reported_at", "late", "checked_out_at", "void_reason")


def lodging_body(event: dict) -> dict:
    """The event's lodging as it is now (address, NIB and office are not in the outbox payload).
    A private host's NIK is never sent."""
    from serasi_web.extensions import db
    from serasi_web.lodgings.models import Lodging

    lodging = db.session.get(Lodging, event["lodging"]["id"])
    if lodging is None:  # gone since: what the event knew
        return {key: event["lodging"].get(key) for key in ("id", "name", "type", "regency_code", "district_code", "village_code")}
    body = {"id": lodging.id, "name": lodging.name, "type": lodging.lodging_type, "street_address": lodging.street_address,
            "province_code": lodging.province_code, "regency_code": lodging.regency_code, "district_code": lodging.district_code,
            "village_code": lodging.village_code, "postal_code": lodging.postal_code or None, "nib": lodging.nib,
            "person_in_charge": lodging.person_in_charge, "phone": lodging.phone,
            "office": lodging.office.name if lodging.office else None}
    return {key: value for key, value in body.items() if value not in (None, "")}


def peer_event_body(event: dict) -> dict:
    """The body of ``POST /api/v1/federation/events`` for one outbox event."""
    stay = {key: event["stay"].get(key) for key in STAY_FACTS} | stay_body(event)
    return {"event": event["event"], "idempotency_key": event["idempotency_key"], "lodging": lodging_body(event), "stay": stay}


class FederationForwarder:
    name = "federation"

    def configured(self, app) -> bool:
        return bool(app.config.get("FEDERATION_URL") and app.config.get("FEDERATION_TOKEN"))

    def deliver(self, event: dict):
        config = current_app.config
        if config["FEDERATION_TOKEN"].startswith(PEER_TOKEN_PREFIX):
            return self._deliver_to_peer(event)
        prefix = config.get("FEDERATION_EXTERNAL_ID_PREFIX") or "serasi"
        external_id = f"{prefix}-{event['stay']['id']}"
        url = f"{config['FEDERATION_URL'].rstrip('/')}/api/v1/stays/{quote(external_id, safe='')}"
        headers = {"Authorization": f"Bearer {config['FEDERATION_TOKEN']}", "Idempotency-Key": event["idempotency_key"]}
        timeout = config["DELIVERY_TIMEOUT_SECONDS"]
        check_destination(url)
        http = session()
        # Never follow a redirect: the token would go wherever the answer points.
        if event["event"] == "voided":
            response = http.delete(url, json={"reason": event["stay"].get("void_reason") or "voided"}, headers=headers, timeout=timeout,
                                   allow_redirects=False)
            if response.status_code == 404:  # never reached the other side: nothing to void there
                return DeliveryResult(404)
            return check_http_response(response)
        result = check_http_response(http.put(url, json=stay_body(event), headers=headers, timeout=timeout, allow_redirects=False))
        if event["event"] == "checked_out" and event["stay"].get("checked_out_at"):
            result = check_http_response(http.post(url + "/check-out", json={"checked_out_at": event["stay"]["checked_out_at"]},
                                                   headers=headers, timeout=timeout, allow_redirects=False))
        return result

    def _deliver_to_peer(self, event: dict):
        config = current_app.config
        url = f"{config['FEDERATION_URL'].rstrip('/')}/api/v1/federation/events"
        headers = {"Authorization": f"Bearer {config['FEDERATION_TOKEN']}", "Idempotency-Key": event["idempotency_key"]}
        check_destination(url)
        # Never follow a redirect: the token would go wherever the answer points.
        return check_http_response(session().post(url, json=peer_event_body(event), headers=headers,
                                                  timeout=config["DELIVERY_TIMEOUT_SECONDS"], allow_redirects=False))
