"""The federation forwarder: another SERASI Web instance (say the immigration office's) through
its push API, with a token that instance issued for one of its lodgings.

The stay's external id there is ``<FEDERATION_EXTERNAL_ID_PREFIX>-<stay id here>``. Reported and
corrected events PUT the whole stay (the same body twice changes nothing there, so a repeat is
harmless); a check-out PUTs then POSTs the check-out; a void DELETEs with the reason.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import current_app

from serasi_web.delivery.destinations import check_destination
from serasi_web.delivery.forwarders import DeliveryResult, check_http_response

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


class FederationForwarder:
    name = "federation"

    def configured(self, app) -> bool:
        return bool(app.config.get("FEDERATION_URL") and app.config.get("FEDERATION_TOKEN"))

    def deliver(self, event: dict):
        config = current_app.config
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
