"""statistics: daily check-in counts kept by the worker, and the days changed since (noted by triggers)

Revision ID: 0026_statistics_counts
Revises: 0025_national_console
Create Date: 2026-12-07 03:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

from serasi_web.officer import summaries

# revision identifiers, used by Alembic.
revision = "0026_statistics_counts"
down_revision = "0025_national_console"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stat_day_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("regency_code", sa.String(length=5), nullable=False),
        sa.Column("district_code", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("check_ins", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_day_count")),
    )
    op.create_index("ix_stat_day_count_dimension_day", "stat_day_count", ["dimension", "day"])
    op.create_index("ix_stat_day_count_office_id_dimension_day", "stat_day_count", ["office_id", "dimension", "day"])
    op.create_table(
        "stat_dirty_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_dirty_day")),
    )
    summaries.create_triggers(op.get_bind())
    # The reports already there are counted by the worker's first refresh (everything); until
    # then the statistics read the stays, as before.
    op.execute("INSERT INTO stat_dirty_day (day) VALUES (NULL)")


def downgrade():
    summaries.drop_triggers(op.get_bind())
    op.drop_table("stat_dirty_day")
    op.drop_index("ix_stat_day_count_office_id_dimension_day", table_name="stat_day_count")
    op.drop_index("ix_stat_day_count_dimension_day", table_name="stat_day_count")
    op.drop_table("stat_day_count")
