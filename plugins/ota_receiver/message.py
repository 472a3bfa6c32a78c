"""Reading an OpenTravel ``OTA_HotelResNotifRQ`` into reservations and guests, and writing the
``OTA_HotelResNotifRS`` answer.

The element and attribute names are those of the OpenTravel Alliance's 2003/05 schema
(``OTA_HotelResNotifRQ.xsd``, ``OTA_HotelReservation.xsd``, ``OTA_CommonTypes.xsd``), as the
channel managers publish them (Booking.com's connectivity API reference, SiteMinder's pmsXchange):

    OTA_HotelResNotifRQ @EchoToken @TimeStamp @Version
      HotelReservations/HotelReservation @ResStatus (Commit, Book, Modify, Cancel ...)
        UniqueID @ID                                     the reservation's id (Type 14)
        RoomStays/RoomStay
          TimeSpan @Start @End                           arrival and departure (date or date-time)
          BasicPropertyInfo @HotelCode
          ResGuestRPHs/ResGuestRPH @RPH                  the guests in this room (optional)
        ResGuests/ResGuest @ResGuestRPH
          Profiles/ProfileInfo/Profile/Customer @Gender @BirthDate
            PersonName/GivenName, PersonName/Surname
            CitizenCountryName @Code                     ISO 3166 alpha-2
            Document @DocID @DocType @DocIssueCountry @ExpireDate @BirthPlace @DocHolderNationality
          TPA_Extensions/SerasiStay                      our extension (docs/ota.md)
        ResGlobalInfo/HotelReservationIDs/HotelReservationID @ResID_Type @ResID_Value

Document types follow the OpenTravel code list DOC (1 visa, 2 passport, 5 national identity
document); the error and warning types the list EWT, the codes the list ERR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as SafeET
import pycountry
from defusedxml import DefusedXmlException

from serasi_web.reference import countries

NS = "http://www.opentravel.org/OTA/2003/05"
SOAP_NAMESPACES = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")  # SOAP 1.1, 1.2
ROOT = f"{{{NS}}}OTA_HotelResNotifRQ"
UPSERT_STATUSES = {"Commit", "Book", "Modify", "Reserved", "Initiate"}
CANCEL_STATUSES = {"Cancel", "Cancelled"}
DOC_VISA, DOC_PASSPORT = "1", "2"
GENDERS = {"male": "M", "female": "F"}  # "Unknown" says nothing: the field stays missing
MAX_RESERVATION_ID = 90  # the external id is "<reservation id>/<guest RPH>", at most 100 characters

# OpenTravel Error Warning Type (EWT) and Error Code (ERR) lists.
EWT_BIZ_RULE, EWT_AUTHENTICATION, EWT_AUTHORIZATION, EWT_REQUIRED_FIELD, EWT_ADVISORY, EWT_PROCESSING = "3", "4", "6", "10", "11", "12"
ERR_REQUIRED_FIELD, ERR_INVALID_HOTEL, ERR_SYSTEM, ERR_UNABLE, ERR_AUTHORIZATION = "321", "392", "448", "450", "497"


class MessageError(Exception):
    """The message as a whole cannot be read; nothing is written. (EWT type, ERR code, text)."""

    def __init__(self, text: str, ewt: str = EWT_PROCESSING, code: str = ERR_UNABLE, soap: str | None = None):
        super().__init__(text)
        self.text, self.ewt, self.code, self.soap = text, ewt, code, soap


@dataclass
class Guest:
    rph: str
    values: dict[str, str]  # the report form's field names, as text; only what the message holds
    citizen: str | None  # ICAO code of the nationality, when the message names one


@dataclass
class Reservation:
    res_id: str
    status: str
    hotel_codes: list[str]
    ids: list[tuple[str, str]]  # (ResID_Type, ResID_Value), echoed in the answer
    guests: list[Guest] = field(default_factory=list)


@dataclass
class Notification:
    echo_token: str | None
    version: str
    reservations: list[Reservation]
    soap: str | None = None  # the SOAP envelope's namespace, when the message came in one


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, *path: str) -> Element | None:
    """The first descendant along ``path`` of OTA elements, or None."""
    for name in path:
        if element is None:
            return None
        element = element.find(f"{{{NS}}}{name}")
    return element


def _children(element: Element | None, *path: str) -> list[Element]:
    if element is None:
        return []
    return element.findall("/".join(f"{{{NS}}}{name}" for name in path))


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def icao_country(code: str | None) -> str | None:
    """An OTA country code (ISO 3166 alpha-2, or alpha-3) as the ICAO code of our reports
    (Germany's passports say D, not DEU); None when unknown."""
    code = (code or "").strip().upper()
    if code in ("DE", "DEU", "D"):
        return "D"
    if len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
        return country.alpha_3 if country else None
    return code if countries.is_known(code) else None


def _date_text(value: str | None) -> str | None:
    """The date part of an OTA date or date-time ("2026-11-28" or "2026-11-28T14:00:00+08:00");
    text that is no date as it came, so that the report form's validator names it (a wrong value
    refuses the guest, where a missing one leaves a gap a draft may have)."""
    value = (value or "").strip()
    try:
        return date.fromisoformat(value[:10]).isoformat() if len(value) >= 10 else value or None
    except ValueError:
        return value


def _country_text(value: str | None) -> str | None:
    """``icao_country``, or an unknown code as it came (for the form's validator to name)."""
    return icao_country(value) or (value or "").strip() or None


def parse(body: bytes) -> Notification:
    """The notification in ``body``; raises MessageError. No DTD, entity or external reference is
    accepted (defusedxml), so an entity bomb or an XXE is refused before anything is expanded."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MessageError("A DTD, entity declaration or external reference is not accepted.", EWT_PROCESSING, ERR_UNABLE) from None
    except (ParseError, ValueError) as error:
        raise MessageError(f"The body is not well-formed XML ({error}).", EWT_PROCESSING, ERR_UNABLE) from None
    soap = None
    if _local(root.tag) == "Envelope" and root.tag[1:].split("}")[0] in SOAP_NAMESPACES:
        soap = root.tag[1:].split("}")[0]
        body_element = root.find(f"{{{soap}}}Body")
        root = next(iter(body_element), None) if body_element is not None else None
        if root is None:
            raise MessageError("The SOAP envelope has no Body with a message.", EWT_PROCESSING, ERR_UNABLE, soap)
    if root.tag != ROOT:
        raise MessageError(f"The root element must be OTA_HotelResNotifRQ in the namespace {NS}; it is {root.tag}.",
                           EWT_PROCESSING, ERR_UNABLE, soap)
    try:
        reservations = [_reservation(element, index) for index, element in enumerate(_children(root, "HotelReservations", "HotelReservation"), 1)]
    except MessageError as error:
        error.soap = soap
        raise
    if not reservations:
        raise MessageError("The message holds no HotelReservations/HotelReservation.", EWT_REQUIRED_FIELD, ERR_REQUIRED_FIELD, soap)
    return Notification(root.get("EchoToken"), root.get("Version") or "1.0", reservations, soap)


def _reservation(element: Element, index: int) -> Reservation:
    ids = [(item.get("ResID_Type") or "", item.get("ResID_Value") or "")
           for item in _children(element, "ResGlobalInfo", "HotelReservationIDs", "HotelReservationID") if item.get("ResID_Value")]
    unique = _child(element, "UniqueID")
    res_id = ((unique.get("ID") if unique is not None else None) or (ids[0][1] if ids else "")).strip()
    if not res_id:
        raise MessageError(f"HotelReservation {index} has no UniqueID/@ID and no HotelReservationID/@ResID_Value.",
                           EWT_REQUIRED_FIELD, ERR_REQUIRED_FIELD)
    if len(res_id) > MAX_RESERVATION_ID or "/" in res_id or not res_id.isprintable():
        raise MessageError(f"HotelReservation {index}: the reservation id must be 1-{MAX_RESERVATION_ID} printable characters without '/'.",
                           EWT_BIZ_RULE, ERR_UNABLE)
    room_stays = _children(element, "RoomStays", "RoomStay")
    hotel_codes = [(stay_info.get("HotelCode") or "").strip() for room in room_stays
                   if (stay_info := _child(room, "BasicPropertyInfo")) is not None]
    reservation = Reservation(res_id, (element.get("ResStatus") or "Commit").strip(), hotel_codes, ids or [("14", res_id)])
    # Which room each guest stays in: RoomStay/ResGuestRPHs when given, else the first room.
    room_of: dict[str, Element] = {}
    for room in room_stays:
        for rph in _children(room, "ResGuestRPHs", "ResGuestRPH"):
            room_of.setdefault((rph.get("RPH") or "").strip(), room)
    for position, guest in enumerate(_children(element, "ResGuests", "ResGuest"), 1):
        rph = (guest.get("ResGuestRPH") or "").strip()
        if not (rph.isdigit() and len(rph) <= 8):  # an RPH is 1-8 digits (RPH_Type); else the guest's position
            rph = str(position)
        reservation.guests.append(_guest(guest, rph, room_of.get(rph, room_stays[0] if room_stays else None)))
    return reservation


def _guest(element: Element, rph: str, room: Element | None) -> Guest:
    customer = _child(element, "Profiles", "ProfileInfo", "Profile", "Customer")
    values: dict[str, str] = {}

    def put(name: str, value: str | None) -> None:
        if value and value.strip():
            values[name] = value.strip()

    if customer is not None:
        name = _child(customer, "PersonName")
        put("surname", _text(_child(name, "Surname")))
        put("given_names", " ".join(_text(given) for given in _children(name, "GivenName") if _text(given)))
        put("sex", GENDERS.get((customer.get("Gender") or "").strip().lower()))
        put("date_of_birth", _date_text(customer.get("BirthDate")))
    documents = _children(customer, "Document") if customer is not None else []
    passport = next((d for d in documents if d.get("DocType") == DOC_PASSPORT), None)
    other = next((d for d in documents if d.get("DocType") not in (DOC_PASSPORT, DOC_VISA)), None)
    document = passport if passport is not None else other
    citizen_element = _child(customer, "CitizenCountryName")
    nationality = _country_text(citizen_element.get("Code")) if citizen_element is not None else None
    if document is not None:
        put("document_type", "passport" if document is passport else "other")
        put("document_number", document.get("DocID"))
        put("issuing_state", _country_text(document.get("DocIssueCountry")))
        put("document_expiry", _date_text(document.get("ExpireDate")))
        put("place_of_birth", document.get("BirthPlace"))
        nationality = nationality or _country_text(document.get("DocHolderNationality"))
        values.setdefault("date_of_birth", _date_text(document.get("BirthDate")) or "")
        values.setdefault("sex", GENDERS.get((document.get("Gender") or "").strip().lower(), ""))
        values = {k: v for k, v in values.items() if v}
    visa = next((d for d in documents if d.get("DocType") == DOC_VISA), None)
    if visa is not None:
        put("permit_number", visa.get("DocID"))
        put("permit_valid_until", _date_text(visa.get("ExpireDate")))
    put("nationality", nationality)
    if room is not None:
        span = _child(room, "TimeSpan")
        if span is not None:
            put("check_in_at", (span.get("Start") or "").strip())  # converted by the caller (the lodging's time)
            put("planned_check_out", _date_text(span.get("End")))
    extension = next((item for item in _children(element, "TPA_Extensions") for item in item if _local(item.tag) == "SerasiStay"), None)
    if extension is not None:
        put("entry_date", _date_text(extension.get("EntryDate")))
        put("stay_permit", (extension.get("StayPermit") or "").lower())
        put("visa_index", extension.get("VisaIndex"))
        put("port_of_entry", extension.get("PortOfEntry"))
        put("purpose", (extension.get("Purpose") or "").lower())
    return Guest(rph, values, icao_country(nationality))


# ---- the answer ----------------------------------------------------------------------------

@dataclass
class Notice:
    """One OTA Error or Warning."""

    ewt: str
    code: str
    text: str


def response(request_notification: Notification | None, echo_token: str | None, *, errors: list[Notice] = (),
             warnings: list[Notice] = (), reservations: list[Reservation] = (), soap: str | None = None) -> bytes:
    """``OTA_HotelResNotifRS``: Errors alone, or Success, Warnings and the HotelReservations with
    their HotelReservationIDs. EchoToken is echoed; TimeStamp is the answer's own creation time
    (OTA_PayloadStdAttributes). In a SOAP envelope of namespace ``soap`` when the request was."""
    root = Element("OTA_HotelResNotifRS", {"xmlns": NS, "Version": request_notification.version if request_notification else "1.0",
                                           "TimeStamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    if echo_token:
        root.set("EchoToken", echo_token)
    if errors:
        holder = SubElement(root, "Errors")
        for notice in errors:
            SubElement(holder, "Error", {"Type": notice.ewt, "Code": notice.code, "ShortText": notice.text[:255]}).text = notice.text
    else:
        SubElement(root, "Success")
        if warnings:
            holder = SubElement(root, "Warnings")
            for notice in warnings:
                SubElement(holder, "Warning", {"Type": notice.ewt, "Code": notice.code, "ShortText": notice.text[:255]}).text = notice.text
        if reservations:
            holder = SubElement(root, "HotelReservations")
            for reservation in reservations:
                item = SubElement(holder, "HotelReservation", {"ResStatus": reservation.status})
                SubElement(item, "UniqueID", {"Type": "14", "ID": reservation.res_id})
                ids = SubElement(SubElement(item, "ResGlobalInfo"), "HotelReservationIDs")
                for res_type, value in reservation.ids:
                    SubElement(ids, "HotelReservationID", {"ResID_Type": res_type or "14", "ResID_Value": value})
    if soap:
        envelope = Element("soap:Envelope", {"xmlns:soap": soap})
        SubElement(envelope, "soap:Body").append(root)
        root = envelope
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode").encode()
