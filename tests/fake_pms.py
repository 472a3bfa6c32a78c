"""Local fake servers of the property systems the bundled pull adapters speak to, answering as
their public documentation describes: Beds24 API V2 (plugins/beds24) and Cloudbeds API v1.2
(plugins/cloudbeds). Shared by the adapters' tests, the connections' tests and the browser test;
the fixtures ``beds24`` and ``cloudbeds`` point the app's adapter at their server."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

WITA = ZoneInfo("Asia/Makassar")


class FakeApi:
    """A web server on 127.0.0.1 whose answers come from ``handle(request) -> Response``; it keeps
    every request it got (path, query, headers)."""

    def __init__(self, handle):
        self.handle = handle
        self.requests: list[Request] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request)
        return self.handle(request)(environ, start_response)

    def start(self) -> FakeApi:
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def json_response(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def today() -> date:
    return datetime.now(WITA).date()


# ---- Beds24 API V2 ------------------------------------------------------------------------------
REFRESH_TOKEN = "refresh-7c1e9a"
TOKEN = "token-55d0b2"  # read at each request: a test may rotate it (Beds24 forgetting a token)
BEDS24_PROPERTY_ID = "4711"


def identity(**changes) -> list[dict]:
    """Info items of a guest who answered the property's questions (SERASI_<FIELD> codes)."""
    values = {"SERASI_NATIONALITY": "AU", "SERASI_SEX": "F", "SERASI_DATE_OF_BIRTH": "1990-04-02",
              "SERASI_DOCUMENT_TYPE": "passport", "SERASI_DOCUMENT_NUMBER": "PA1234567", "SERASI_ISSUING_STATE": "AU",
              "SERASI_DOCUMENT_EXPIRY": (today() + timedelta(days=900)).isoformat(),
              "SERASI_ENTRY_DATE": (today() - timedelta(days=3)).isoformat(), "SERASI_STAY_PERMIT": "bvk",
              "SERASI_PURPOSE": "tourism", **changes}
    return [{"id": number, "bookingId": 0, "code": code, "text": text} for number, (code, text) in enumerate(values.items(), 1) if text]


def booking(booking_id: int, *, arrival_days: int = -2, nights: int = 5, status: str = "confirmed", **changes) -> dict:
    return {"id": booking_id, "propertyId": int(BEDS24_PROPERTY_ID), "roomId": 88, "unitId": 1, "status": status,
            "arrival": (today() + timedelta(days=arrival_days)).isoformat(),
            "departure": (today() + timedelta(days=arrival_days + nights)).isoformat(), "arrivalTime": "15:30",
            "numAdult": 1, "firstName": "Olivia", "lastName": "Harper", "email": "olivia@example.com",
            "infoItems": identity(), **changes}


class Beds24:
    """The documented API: GET /authentication/token (header refreshToken) and GET /bookings
    (header token; propertyId, arrivalTo, departureFrom, includeInfoItems, page), two bookings a page."""

    PAGE_SIZE = 2

    def __init__(self):
        self.bookings: list[dict] = []
        self.fail_with: Response | None = None

    def __call__(self, request: Request) -> Response:
        if self.fail_with is not None:
            return self.fail_with
        if request.path == "/v2/authentication/token":
            if request.headers.get("refreshToken") != REFRESH_TOKEN:
                return json_response({"success": False, "code": 401, "error": "Refresh token is invalid"}, 401)
            return json_response({"token": TOKEN, "expiresIn": 86400})
        if request.path == "/v2/bookings":
            if request.headers.get("token") != TOKEN:
                return json_response({"success": False, "code": 401, "error": "Token is missing"}, 401)
            args = request.args
            assert args["propertyId"] == BEDS24_PROPERTY_ID and args["includeInfoItems"] == "true"
            found = [b for b in self.bookings if b["arrival"] <= args["arrivalTo"] and b["departure"] >= args["departureFrom"]]
            page = int(args.get("page", 1))
            chunk = found[(page - 1) * self.PAGE_SIZE: page * self.PAGE_SIZE]
            more = page * self.PAGE_SIZE < len(found)
            return json_response({"success": True, "type": "booking", "count": len(chunk), "data": chunk,
                                  "pages": {"nextPageExists": more, "nextPageLink": None}})
        return json_response({"success": False, "error": "not found"}, 404)


@pytest.fixture
def beds24(app):
    """The fake Beds24 on a free port, the app's BEDS24_API_URL pointing at it; ``.server``
    keeps the requests."""
    handler = Beds24()
    server = FakeApi(handler).start()
    app.config["BEDS24_API_URL"] = server.url + "/v2"
    handler.server = server
    yield handler
    server.stop()


# ---- Cloudbeds API v1.2 -------------------------------------------------------------------------
API_KEY = "cbat_9f2d71c0"
CLOUDBEDS_PROPERTY_ID = "173512"


def guest(guest_id: str, **changes) -> dict:
    return {"guestID": guest_id, "guestFirstName": "Lukas", "guestLastName": "Becker", "guestGender": "M",
            "guestEmail": "lukas@example.com", "guestCountry": "ID",  # lives in Bali: not his nationality
            "guestBirthdate": "1985-07-19", "guestDocumentType": "passport", "guestDocumentNumber": "C01X00T47",
            "guestDocumentIssueDate": "2020-01-10", "guestDocumentIssuingCountry": "DE",
            "guestDocumentExpirationDate": (today() + timedelta(days=1500)).isoformat(), "isAnonymized": False,
            "roomName": "Bungalow 2", "isMainGuest": True,
            "customFields": [{"customFieldName": "SERASI_ENTRY_DATE", "customFieldValue": (today() - timedelta(days=10)).isoformat()},
                             {"customFieldName": "SERASI_STAY_PERMIT", "customFieldValue": "itas"}],
            **changes}


def reservation(reservation_id: str, *guests: dict, status: str = "checked_in", start_days: int = -1, nights: int = 4) -> dict:
    return {"propertyID": CLOUDBEDS_PROPERTY_ID, "reservationID": reservation_id, "status": status,
            "startDate": (today() + timedelta(days=start_days)).isoformat(),
            "endDate": (today() + timedelta(days=start_days + nights)).isoformat(), "estimatedArrivalTime": "13:00",
            "guestName": "Lukas Becker", "assigned": [{"roomName": "Bungalow 2", "roomTypeName": "Bungalow"}],
            "customFields": [{"customFieldName": "SERASI_PURPOSE", "customFieldValue": "work"}],
            "guestList": {g["guestID"]: g for g in guests}}


class Cloudbeds:
    """The documented API: GET getReservations (propertyID, checkInTo, checkOutFrom, pageNumber,
    pageSize; answered two at a time here) and GET getReservation (reservationID, propertyID),
    both with the x-api-key header."""

    PAGE_LIMIT = 2

    def __init__(self):
        self.reservations: list[dict] = []
        self.fail_with: Response | None = None

    def __call__(self, request: Request) -> Response:
        if self.fail_with is not None:
            return self.fail_with
        if request.headers.get("x-api-key") != API_KEY:
            return json_response({"success": False, "message": "Invalid API key"}, 401)
        args = request.args
        assert args["propertyID"] == CLOUDBEDS_PROPERTY_ID
        if request.path == "/api/v1.2/getReservations":
            found = [r for r in self.reservations if r["startDate"] <= args["checkInTo"] and r["endDate"] >= args["checkOutFrom"]]
            page = int(args["pageNumber"])
            chunk = found[(page - 1) * self.PAGE_LIMIT: page * self.PAGE_LIMIT]
            summaries = [{key: r[key] for key in ("propertyID", "reservationID", "status", "startDate", "endDate", "guestName")}
                         for r in chunk]
            return json_response({"success": True, "data": summaries, "count": len(summaries), "total": len(found)})
        if request.path == "/api/v1.2/getReservation":
            found = next((r for r in self.reservations if r["reservationID"] == args["reservationID"]), None)
            return json_response({"success": True, "data": found} if found else {"success": False, "message": "Reservation not found"})
        return json_response({"success": False, "message": "not found"}, 404)


@pytest.fixture
def cloudbeds(app):
    """The fake Cloudbeds on a free port, the app's CLOUDBEDS_API_URL pointing at it; ``.server``
    keeps the requests."""
    handler = Cloudbeds()
    server = FakeApi(handler).start()
    app.config["CLOUDBEDS_API_URL"] = server.url + "/api/v1.2"
    handler.server = server
    yield handler
    server.stop()
