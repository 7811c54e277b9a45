"""Event subscriptions, the outbox of events, their deliveries and attempts, leases and
the calendar's marks.

Revision 0004, after 0003. New tables only: the releases that know 0003 can still use
the database (they write no events), so `registry_state.schema_version` stays 2. Once
released, a revision never changes: databases out there are stamped with it. Change the
schema with a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("alliance", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=True),
        sa.Column("callback", sa.String(), nullable=False),
        sa.Column("events", sa.String(), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("created", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("failing_since", sa.String(), nullable=True),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("lease_holder", sa.String(), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subscriptions_alliance", "subscriptions", ["alliance"])
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("alliance", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_events_alliance", "events", ["alliance"])
    op.create_table(
        "deliveries",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("subscription", sa.String(), nullable=False),
        sa.Column("event", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("delivered", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_deliveries_queue", "deliveries", ["subscription", "status", "seq"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "calendar_marks",
        sa.Column("alliance", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("alliance", "key"),
    )


def downgrade() -> None:
    for table in (
        "calendar_marks",
        "leases",
        "delivery_attempts",
        "deliveries",
        "events",
        "subscriptions",
    ):
        op.drop_table(table)
