"""Every stay event writes an outbox row in the same transaction as the change."""
from sqlalchemy import select

from serasi_web.delivery.models import OutboxEvent
from serasi_web.extensions import db
from serasi_web.stays.models import Stay

from .helpers import guest_form, local_now, make_lodging, report_guest


def outbox():
    return [(row.event, row.stay_version) for row in db.session.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars()]


def test_reported_corrected_checked_out_voided_each_leave_one_outbox_row(operator_client, operator, offices):
    lodging = make_lodging(operator)
    draft = report_guest(operator_client, lodging, action="draft", document_number="D1111111")
    assert outbox() == []  # a draft is nobody else's business yet
    operator_client.post(f"/stays/{draft}/void", data={"reason": "typo"})
    assert outbox() == []
    stay_id = report_guest(operator_client, lodging)
    operator_client.post(f"/stays/{stay_id}/correct", data=guest_form(room="9") | {"reason": "room"})
    operator_client.post(f"/stays/{stay_id}/check-out", data={"checked_out_at": local_now()})
    assert outbox() == [("reported", 1), ("corrected", 2), ("checked_out", 3)]
    row = db.session.execute(select(OutboxEvent).where(OutboxEvent.event == "corrected")).scalar_one()
    stay = db.session.get(Stay, stay_id)
    assert row.idempotency_key == f"stay-{stay_id}-v2-corrected" and row.payload["stay"]["stay"]["room"] == "9"
    assert row.payload["stay"]["receipt_number"] == stay.receipt_number and row.payload["lodging"]["office_id"] == lodging.office_id
