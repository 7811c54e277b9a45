"""The decision log: every answer the registry gave, chained per alliance.

Revision 0005, after 0004. Adds `decisions` (one row per owner answer, per query of a
batch, per routed ticket) and `decision_heads` (each alliance's decision chain: its
length and last hash). On PostgreSQL `decisions` is partitioned by month (`month`,
YYYYMM): the store makes each month's partition when it first writes to it, and
retention drops whole partitions. On SQLite it is a plain table, pruned by time.

Leaves `registry_state.schema_version` at 2: the releases before migrations never read
these tables. Once released, a revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = """
    month INTEGER NOT NULL,
    id VARCHAR NOT NULL,
    alliance VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    at VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    day VARCHAR NOT NULL,
    query VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    owner VARCHAR,
    face VARCHAR,
    handoff VARCHAR,
    partners VARCHAR NOT NULL,
    token INTEGER NOT NULL,
    role VARCHAR NOT NULL,
    ticket VARCHAR,
    previous VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    PRIMARY KEY (month, id)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TABLE decisions ({COLUMNS}) PARTITION BY RANGE (month)")
    else:
        op.execute(f"CREATE TABLE decisions ({COLUMNS})")
    op.create_index("ix_decisions_alliance_id", "decisions", ["alliance", "id"])
    op.create_index("ix_decisions_alliance_seq", "decisions", ["alliance", "seq"])
    op.create_table(
        "decision_heads",
        sa.Column("alliance", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(), nullable=False),
        sa.Column("pruned", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("alliance"),
    )


def downgrade() -> None:
    op.drop_table("decision_heads")
    op.drop_index("ix_decisions_alliance_seq", "decisions")
    op.drop_index("ix_decisions_alliance_id", "decisions")
    op.drop_table("decisions")  # on PostgreSQL its partitions go with it
