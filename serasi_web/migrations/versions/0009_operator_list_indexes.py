"""operator lists: indexes for the lists and the document search of one account's stays

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 00:05:00.000000

Measured with 100,000 stays in one account (docs/benchmarks.md, "Operator dashboard"):
- ``(lodging_id, document_number, issuing_state)``: the document search is a prefix range on
  ``document_number`` within the account's lodgings, and a new report's duplicate check is an
  equality on all three (before, ``ix_stay_document`` found the document everywhere and the
  lodging was filtered after).
- ``(lodging_id, check_in_at)``: the "all" list, newest check-in first, read one page instead
  of sorting every stay of the account.
- ``(lodging_id, status, checked_out_at)``: the "checked out" list, likewise.
Plain index creation: on SQLite no table is rebuilt, so the triggers of 0008 stay.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_stay_lodging_id_document", "stay", ["lodging_id", "document_number", "issuing_state"])
    op.create_index("ix_stay_lodging_id_check_in_at", "stay", ["lodging_id", "check_in_at"])
    op.create_index("ix_stay_lodging_id_status_checked_out_at", "stay", ["lodging_id", "status", "checked_out_at"])


def downgrade():
    op.drop_index("ix_stay_lodging_id_status_checked_out_at", table_name="stay")
    op.drop_index("ix_stay_lodging_id_check_in_at", table_name="stay")
    op.drop_index("ix_stay_lodging_id_document", table_name="stay")
