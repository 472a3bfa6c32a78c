"""The OTA receiver: channel managers push OTA_HotelResNotifRQ; foreign guests become stays.

The fixtures follow the documented message shape of the OpenTravel Alliance's 2003/05 schema
as the channel managers publish it: Booking.com's connectivity API reference (HotelReservation,
RoomStay/TimeSpan @Start @End, BasicPropertyInfo @HotelCode, ResGuests/ResGuest @ResGuestRPH,
Profiles/ProfileInfo/Profile/Customer/PersonName GivenName Surname, ResGlobalInfo/
HotelReservationIDs/HotelReservationID @ResID_Type @ResID_Value), OpenTravel's DocumentType
(@DocID @DocType @DocIssueCountry @ExpireDate @BirthPlace, code list DOC: 1 visa, 2 passport)
and CustomerType (@Gender @BirthDate, CitizenCountryName @Code ISO 3166 alpha-2), with the EWT
and ERR code lists for the answer (SiteMinder pmsXchange's reference tables).
"""
import base64
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import local_now

NS = {"ota": "http://www.opentravel.org/OTA/2003/05"}
URL = "/api/ota/v1/HotelResNotif"
EXPIRY = (date.today() + timedelta(days=1500)).isoformat()


@pytest.fixture
def token(app, lodging, operator):
    from plugins.push_api.tokens import create_token

    return create_token(lodging, "SiteMinder", operator)


def customer(given, surname, gender="Female", birth="1984-03-12", citizen="AU", doc_id="PA1234567", doc_country=None, visa=None,
             extension=""):
    document = f'<Document DocType="2" DocID="{doc_id}" DocIssueCountry="{doc_country or citizen}" ExpireDate="{EXPIRY}" BirthPlace="Perth"/>' if doc_id else ""
    if visa:
        document += f'<Document DocType="1" DocID="{visa}" ExpireDate="{(date.today() + timedelta(days=28)).isoformat()}"/>'
    return f"""
          <Profiles><ProfileInfo><Profile ProfileType="1">
            <Customer Gender="{gender}" BirthDate="{birth}">
              <PersonName><GivenName>{given}</GivenName><Surname>{surname}</Surname></PersonName>
              <CitizenCountryName Code="{citizen}"/>
              {document}
            </Customer>
          </Profile></ProfileInfo></Profiles>{extension}"""


def reservation(res_id="BDC-4021187", status="Commit", hotel_code=None, start=None, guests=None):
    start = start or local_now(delta_hours=-2) + ":00+08:00"
    end = (date.today() + timedelta(days=4)).isoformat()
    guests = guests if guests is not None else [customer("Emma", "Walker"), customer("Liam", "Walker", gender="Male", birth="1982-07-30",
                                                                                      doc_id="PA7654321")]
    rphs = "".join(f'<ResGuestRPH RPH="{n}"/>' for n in range(1, len(guests) + 1))
    res_guests = "".join(f'<ResGuest ResGuestRPH="{n}" AgeQualifyingCode="10">{body}</ResGuest>' for n, body in enumerate(guests, 1))
    return f"""
    <HotelReservation CreateDateTime="2026-11-01T09:12:00Z" ResStatus="{status}">
      <UniqueID Type="14" ID="{res_id}"/>
      <RoomStays><RoomStay>
        <RoomTypes><RoomType RoomTypeCode="DLX" NumberOfUnits="1"/></RoomTypes>
        <GuestCounts><GuestCount AgeQualifyingCode="10" Count="{len(guests)}"/></GuestCounts>
        <TimeSpan Start="{start}" End="{end}"/>
        <BasicPropertyInfo HotelCode="{hotel_code}"/>
        <ResGuestRPHs>{rphs}</ResGuestRPHs>
      </RoomStay></RoomStays>
      <ResGuests>{res_guests}</ResGuests>
      <ResGlobalInfo><HotelReservationIDs><HotelReservationID ResID_Type="14" ResID_Value="{res_id}"/></HotelReservationIDs></ResGlobalInfo>
    </HotelReservation>"""


def notif(*reservations, echo="ECHO-77"):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" '
            f'EchoToken="{echo}" TimeStamp="2026-11-28T06:00:00Z" Version="1.0">'
            f'<HotelReservations>{"".join(reservations)}</HotelReservations></OTA_HotelResNotifRQ>').encode()


def post(client, token, body, **headers):
    return client.post(URL, data=body, content_type="application/xml",
                       headers={"Authorization": f"Bearer {token}", "Accept-Language": "en", **headers})


def answer(response):
    root = ElementTree.fromstring(response.data)
    if root.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope":
        (root,) = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert root.tag == "{http://www.opentravel.org/OTA/2003/05}OTA_HotelResNotifRS"
    return root


def errors(response):
    return [(e.get("Type"), e.get("Code"), e.text) for e in answer(response).findall("ota:Errors/ota:Error", NS)]


def warnings(response):
    return [(w.get("Type"), w.get("Code"), w.text) for w in answer(response).findall("ota:Warnings/ota:Warning", NS)]


def stays():
    db.session.expire_all()
    return db.session.execute(select(Stay).order_by(Stay.external_id)).scalars().all()


def test_a_family_is_kept_as_two_drafts_and_the_same_message_again_changes_nothing(client, token, lodging):
    body = notif(reservation(hotel_code=lodging.id))
    first = post(client, token, body)
    assert first.status_code == 200 and errors(first) == []
    root = answer(first)
    assert root.get("EchoToken") == "ECHO-77" and root.get("TimeStamp") and root.find("ota:Success", NS) is not None
    ids = root.findall("ota:HotelReservations/ota:HotelReservation/ota:ResGlobalInfo/ota:HotelReservationIDs/ota:HotelReservationID", NS)
    assert [(i.get("ResID_Type"), i.get("ResID_Value")) for i in ids] == [("14", "BDC-4021187")]
    emma, liam = stays()
    assert (emma.external_id, liam.external_id) == ("BDC-4021187/1", "BDC-4021187/2")
    assert emma.status == liam.status == "draft" and emma.source == "ota"
    assert (emma.surname, emma.given_names, emma.sex, emma.nationality, emma.document_number, emma.issuing_state) == (
        "Walker", "Emma", "F", "AUS", "PA1234567", "AUS")
    assert liam.sex == "M" and liam.date_of_birth == date(1982, 7, 30) and liam.place_of_birth == "Perth"
    assert emma.planned_check_out == date.today() + timedelta(days=4) and emma.stay_permit == ""
    assert emma.entry_date is None and emma.purpose == "" and emma.notes == ""  # not in OTA: left for the operator, not presumed
    texts = " ".join(text for _, _, text in warnings(first))
    assert "guest 1: kept as a draft" in texts and "stay permit" in texts and "entry date" in texts
    versions = [s.version for s in (emma, liam)]
    again = post(client, token, body)
    assert again.status_code == 200 and errors(again) == []
    assert [s.version for s in stays()] == versions and len(stays()) == 2


def test_a_guest_with_everything_in_our_extension_is_reported_and_nothing_twice(client, token, lodging):
    entry = (date.today() - timedelta(days=3)).isoformat()
    extension = f'<TPA_Extensions><SerasiStay EntryDate="{entry}" StayPermit="bvk" PortOfEntry="Ngurah Rai" Purpose="tourism"/></TPA_Extensions>'
    body = notif(reservation(res_id="EXP-9", hotel_code=lodging.id, guests=[customer("Yui", "Tanaka", citizen="JP", doc_id="TZ1234567",
                                                                                      extension=extension)]))
    first = post(client, token, body)
    assert warnings(first) == [] and errors(first) == []
    (stay,) = stays()
    assert stay.status == "reported" and stay.receipt_number and stay.nationality == "JPN" and stay.entry_date.isoformat() == entry
    post(client, token, body)
    (again,) = stays()
    assert again.version == stay.version and again.receipt_number == stay.receipt_number


def test_a_modify_corrects_the_report_and_keeps_what_the_operator_completed(client, token, lodging):
    post(client, token, notif(reservation(hotel_code=lodging.id)))
    emma = stays()[0]
    emma.stay_permit, emma.entry_date = "voa", date.today() - timedelta(days=5)  # the operator completes the draft
    db.session.commit()
    modified = reservation(status="Modify", hotel_code=lodging.id, guests=[customer("Emma", "Walker-Smith"), customer(
        "Liam", "Walker", gender="Male", birth="1982-07-30", doc_id="PA7654321")])
    response = post(client, token, notif(modified))
    assert errors(response) == []
    emma, liam = stays()
    assert emma.surname == "Walker-Smith" and emma.stay_permit == "voa" and emma.entry_date == date.today() - timedelta(days=5)
    assert emma.version == 2 and liam.version == 1


def test_a_cancel_voids_the_reservations_stays_with_a_reason(client, token, lodging):
    post(client, token, notif(reservation(hotel_code=lodging.id)))
    post(client, token, notif(reservation(res_id="OTHER-1", hotel_code=lodging.id, guests=[customer("Ana", "Silva", citizen="BR", doc_id="BR5550001")])))
    response = post(client, token, notif(reservation(status="Cancel", hotel_code=lodging.id, guests=[])))
    assert response.status_code == 200 and errors(response) == []
    by_id = {s.external_id: s for s in stays()}
    assert by_id["BDC-4021187/1"].status == by_id["BDC-4021187/2"].status == "voided"
    assert "BDC-4021187 cancelled" in by_id["BDC-4021187/1"].void_reason and by_id["OTHER-1/1"].status == "draft"
    # The booking sent again after its cancellation does not bring the guests back.
    again = post(client, token, notif(reservation(status="Modify", hotel_code=lodging.id, guests=[customer("Emma", "Walker", birth="1984-03-13")])))
    assert "voided" in " ".join(text for _, _, text in warnings(again)) and by_id["BDC-4021187/1"].status == "voided"


def test_an_indonesian_guest_is_not_reported_and_a_guest_without_passport_is_a_draft_without_one(client, token, lodging):
    guests = [customer("Budi", "Santoso", gender="Male", citizen="ID", doc_id="B1234567"), customer("Sam", "Lee", citizen="SG", doc_id=None),
              customer("Hanna", "Müller", citizen="DE", doc_id="C01X00T47"), customer("Budi", "Hartono", citizen="ID", doc_id=None)]
    response = post(client, token, notif(reservation(hotel_code=lodging.id, guests=guests)))
    assert errors(response) == []
    texts = {text.split(":")[0]: (kind, code, text) for kind, code, text in warnings(response)}
    assert "Indonesian citizen" in texts["Reservation BDC-4021187, guest 1"][2]
    assert "Indonesian citizen" in texts["Reservation BDC-4021187, guest 4"][2]  # not a draft either: never reported
    kind, code, text = texts["Reservation BDC-4021187, guest 2"]
    assert (kind, code) == ("11", "321") and "kept as a draft" in text
    assert text.count("Document/@DocID") == 1 and "Document/@DocIssueCountry" in text and "Document/@ExpireDate" in text
    assert "Customer/@BirthDate" not in text and "CitizenCountryName/@Code" not in text  # the message gave those
    sam, hanna = stays()
    assert sam.external_id == "BDC-4021187/2" and sam.status == "draft" and sam.nationality == "SGP"
    assert (sam.document_number, sam.issuing_state, sam.document_expiry) == ("", "", None)
    assert hanna.external_id == "BDC-4021187/3" and hanna.nationality == "D" and hanna.status == "draft"  # Germany's ICAO code


def test_a_guest_with_only_a_name_and_an_arrival_waits_as_a_draft_a_later_message_submits_it(client, token, lodging):
    bare = """<Profiles><ProfileInfo><Profile><Customer><PersonName><GivenName>Noor</GivenName><Surname>Rahman</Surname></PersonName>
              </Customer></Profile></ProfileInfo></Profiles>"""
    nameless = bare.replace("<Surname>Rahman</Surname>", "")
    first = post(client, token, notif(reservation(res_id="CM-1", hotel_code=lodging.id, guests=[bare, nameless])))
    (draft_notice, refused) = warnings(first)
    assert draft_notice[:2] == ("11", "321") and draft_notice[2].startswith("Reservation CM-1, guest 1: kept as a draft")
    for element in ("Customer/@Gender", "Customer/@BirthDate", "CitizenCountryName/@Code", "Document/@DocID", "Document/@DocIssueCountry",
                    "Document/@ExpireDate", "SerasiStay/@EntryDate", "SerasiStay/@StayPermit", "SerasiStay/@Purpose"):
        assert element in draft_notice[2]
    assert refused[:2] == ("10", "321") and "guest 2: not saved" in refused[2] and "PersonName/Surname" in refused[2]
    (stay,) = stays()
    assert (stay.status, stay.surname, stay.sex, stay.nationality, stay.purpose, stay.stay_permit) == ("draft", "Rahman", "", "", "", "")
    assert stay.date_of_birth is None and stay.document_expiry is None and stay.entry_date is None
    # Nothing new: nothing changes (the same warning, no new version).
    again = post(client, token, notif(reservation(res_id="CM-1", hotel_code=lodging.id, guests=[bare])))
    assert warnings(again) == [draft_notice] and stays()[0].version == 1
    # Without an arrival not even a draft: the message is named.
    no_arrival = notif(reservation(res_id="CM-2", hotel_code=lodging.id, guests=[bare]))
    no_arrival = no_arrival.replace(b"<TimeSpan", b"<Ignored").replace(b"</TimeSpan>", b"")
    (refusal,) = warnings(post(client, token, no_arrival))
    assert refusal[:2] == ("10", "321") and "RoomStay/TimeSpan/@Start" in refusal[2] and len(stays()) == 1
    # The reservation sent whole completes the draft and submits it, once.
    entry = (date.today() - timedelta(days=2)).isoformat()
    extension = f'<TPA_Extensions><SerasiStay EntryDate="{entry}" StayPermit="voa" Purpose="family"/></TPA_Extensions>'
    whole = notif(reservation(res_id="CM-1", status="Modify", hotel_code=lodging.id,
                              guests=[customer("Noor", "Rahman", citizen="MY", doc_id="A12345678", extension=extension)]))
    assert warnings(post(client, token, whole)) == []
    (stay,) = stays()
    assert (stay.status, stay.nationality, stay.document_number, stay.purpose) == ("reported", "MYS", "A12345678", "family")
    receipt, version = stay.receipt_number, stay.version
    assert receipt and warnings(post(client, token, whole)) == []
    (stay,) = stays()
    assert (stay.receipt_number, stay.version) == (receipt, version)


def test_a_wrong_value_refuses_the_guest_where_a_missing_one_leaves_a_draft(client, token, lodging):
    guests = [customer("Ada", "Berg", citizen="ZZ"), customer("Ole", "Berg", birth="1984-02-31"),
              customer("Ida", "Berg", citizen="NO", doc_country="XX")]
    response = post(client, token, notif(reservation(hotel_code=lodging.id, guests=guests)))
    texts = [(kind, code, text) for kind, code, text in warnings(response)]
    assert [(kind, code) for kind, code, _ in texts] == [("3", "450")] * 3
    assert "guest 1: not saved" in texts[0][2] and "CitizenCountryName/@Code" in texts[0][2]
    assert "guest 2: not saved" in texts[1][2] and "Customer/@BirthDate" in texts[1][2]
    assert "guest 3: not saved" in texts[2][2] and "Document/@DocIssueCountry" in texts[2][2]
    assert stays() == []


def test_a_future_arrival_is_not_saved_yet(client, token, lodging):
    start = (date.today() + timedelta(days=20)).isoformat()
    response = post(client, token, notif(reservation(hotel_code=lodging.id, start=start)))
    assert errors(response) == [] and "send the reservation again on or after arrival" in warnings(response)[0][2]
    assert stays() == []


def test_an_arrival_date_gets_the_check_in_time(client, token, lodging, app):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    post(client, token, notif(reservation(hotel_code=lodging.id, start=yesterday)))
    from serasi_web.stays.services import to_local

    local = to_local(stays()[0].check_in_at, lodging)
    assert (local.date().isoformat(), local.hour, local.minute) == (yesterday, 14, 0)


@pytest.mark.parametrize("hotel_code", ["99999", ""])
def test_another_hotels_code_writes_nothing(client, token, lodging, hotel_code):
    body = notif(reservation(hotel_code=lodging.id, res_id="A-1"), reservation(hotel_code=hotel_code, res_id="B-2"))
    response = post(client, token, body)
    assert response.status_code == 200 and errors(response)[0][1] == ("392" if hotel_code else "321")
    assert answer(response).find("ota:Success", NS) is None and answer(response).get("EchoToken") == "ECHO-77"
    assert stays() == []


def test_bad_and_read_only_tokens_are_refused_with_an_ota_error(client, token, lodging, operator):
    from plugins.push_api.tokens import create_token

    body = notif(reservation(hotel_code=lodging.id))
    assert post(client, "srs_wrong", body).status_code == 401
    unauthenticated = client.post(URL, data=body, content_type="application/xml")
    assert unauthenticated.status_code == 401 and errors(unauthenticated)[0][0] == "4"
    read_only = post(client, create_token(lodging, "Dashboard", operator, scope="read"), body)
    assert read_only.status_code == 403 and errors(read_only)[0][:2] == ("6", "497") and "read-only" in errors(read_only)[0][2]
    assert stays() == []
    basic = base64.b64encode(f"serasi:{token}".encode()).decode()
    accepted = client.post(URL, data=body, content_type="application/xml", headers={"Authorization": f"Basic {basic}"})
    assert accepted.status_code == 200 and len(stays()) == 2


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE OTA_HotelResNotifRQ [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OTA_HotelResNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05"><HotelReservations><HotelReservation>
<UniqueID ID="&xxe;"/></HotelReservation></HotelReservations></OTA_HotelResNotifRQ>"""
LAUGHS = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
    f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 if n > 1 else "")) * 10}">'.encode() for n in range(1, 10)) + b"]><lolz>&lol9;</lolz>"


@pytest.mark.parametrize("body, expected", [
    (XXE, "DTD"),
    (LAUGHS, "DTD"),
    (b"<OTA_HotelResNotifRQ xmlns='http://www.opentravel.org/OTA/2003/05'><HotelReservations>", "not well-formed"),
    (b"\xff\xfe garbage", "not well-formed"),
    (b"", "not well-formed"),
    (b"<OTA_HotelResNotifRQ><HotelReservations/></OTA_HotelResNotifRQ>", "namespace"),  # no namespace
    (b"<OTA_HotelAvailNotifRQ xmlns='http://www.opentravel.org/OTA/2003/05'/>", "root element"),
    (b"<OTA_HotelResNotifRQ xmlns='http://www.opentravel.org/OTA/2003/05'><HotelReservations/></OTA_HotelResNotifRQ>", "no HotelReservations"),
])
def test_hostile_or_wrong_xml_answers_an_ota_error_and_writes_nothing(client, token, lodging, body, expected):
    response = post(client, token, body)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    (error,) = errors(response)
    assert expected in error[2] and "root:" not in error[2]
    assert stays() == []


def test_a_10_mb_body_is_refused_unread(client, token, lodging):
    response = post(client, token, b"<a>" + b"x" * (10 * 1024 * 1024) + b"</a>")
    assert response.status_code == 413 and "at most" in errors(response)[0][2]
    assert db.session.scalar(select(func.count()).select_from(Stay)) == 0


def test_odd_values_are_named_in_warnings_never_a_500(client, token, lodging):
    guests = [customer("Ann", "X" * 300, doc_id="Q" * 500), customer("Bo", "Lund", gender="Unknown", birth="not-a-date", citizen="ZZ"),
              customer("Cy", "Ray", birth="2099-01-01", doc_id="AB-12/34")]
    response = post(client, token, notif(reservation(hotel_code=lodging.id, guests=guests), reservation(res_id="R" * 91, hotel_code=lodging.id)))
    assert response.status_code == 200 and "reservation id must be" in errors(response)[0][2]
    response = post(client, token, notif(reservation(hotel_code=lodging.id, guests=guests), reservation(res_id="R2", status="Hold", hotel_code=lodging.id)))
    assert response.status_code == 200 and errors(response) == []
    texts = [text for _, _, text in warnings(response)]
    assert texts[0].startswith("Reservation BDC-4021187, guest 1: not saved")
    # Gender Unknown supplies nothing (a draft may lack it); a date or a country that is none refuses the guest.
    assert texts[1].startswith("Reservation BDC-4021187, guest 2: not saved") and "Customer/@Gender" not in texts[1]
    assert "Customer/@BirthDate" in texts[1] and "CitizenCountryName/@Code" in texts[1]
    assert texts[2].startswith("Reservation BDC-4021187, guest 3: not saved") and "'Hold' is not processed" in texts[3]
    assert stays() == []


def test_a_token_cannot_write_to_another_operators_lodging(client, token, lodging, other_operator):
    from .helpers import make_lodging

    theirs = make_lodging(other_operator, name="Villa Lain")
    response = post(client, token, notif(reservation(hotel_code=theirs.id)))
    assert errors(response)[0][1] == "392" and stays() == []


def test_a_guest_without_rph_or_with_an_odd_one_is_keyed_by_position(client, token, lodging):
    body = notif(reservation(hotel_code=lodging.id)).replace(b'ResGuestRPH="1"', b"").replace(b'ResGuestRPH="2"', b'ResGuestRPH="' + b"9" * 200 + b'"')
    assert errors(post(client, token, body)) == []
    assert [s.external_id for s in stays()] == ["BDC-4021187/1", "BDC-4021187/2"]


def test_a_draft_completed_by_a_later_message_is_submitted_once(client, token, lodging):
    post(client, token, notif(reservation(hotel_code=lodging.id, guests=[customer("Yui", "Tanaka", citizen="JP", doc_id="TZ1234567")])))
    assert stays()[0].status == "draft"
    entry = (date.today() - timedelta(days=1)).isoformat()
    extension = f'<TPA_Extensions><SerasiStay EntryDate="{entry}" StayPermit="voa" Purpose="business"/></TPA_Extensions>'
    body = notif(reservation(status="Modify", hotel_code=lodging.id, guests=[customer("Yui", "Tanaka", citizen="JP", doc_id="TZ1234567",
                                                                                      extension=extension)]))
    assert warnings(post(client, token, body)) == []
    (stay,) = stays()
    assert stay.status == "reported" and stay.receipt_number and stay.purpose == "business" and stay.stay_permit == "voa"
    receipt, version = stay.receipt_number, stay.version
    post(client, token, body)
    (stay,) = stays()
    assert (stay.receipt_number, stay.version) == (receipt, version)


def soap(body):
    """The SOAP 1.1 envelope some channel managers wrap the message in (SiteMinder's pmsXchange)."""
    message = body.split(b"?>", 1)[1]
    return (b'<?xml version="1.0" encoding="UTF-8"?><soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soap-env:Header/><soap-env:Body>" + message + b"</soap-env:Body></soap-env:Envelope>")


def test_a_message_in_a_soap_envelope_is_answered_in_one(client, token, lodging):
    response = post(client, token, soap(notif(reservation(hotel_code=lodging.id))))
    assert response.data.count(b"Envelope") == 2 and answer(response).find("ota:Success", NS) is not None and len(stays()) == 2
    wrong = post(client, token, soap(notif(reservation(hotel_code="77"))))
    assert wrong.data.count(b"Envelope") == 2 and errors(wrong)[0][1] == "392"
    empty = post(client, token, b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>')
    assert "no Body with a message" in errors(empty)[0][2]
