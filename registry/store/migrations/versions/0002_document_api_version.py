"""Each stored document version records the model version it was written with.

Revision 0002, after 0001. Every version stored until now was written by the model
`alliance-registry/v1` (the apiVersion its body carries): the column's default fills
them in, and fills in every version a release before migrations still writes, which
is v1 too. Bodies, digests and ETags are left as they are. Once released, a revision
never changes: databases out there are stamped with it. Change the schema with a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The model version of the documents stored before this revision: history, so written
# out here rather than taken from the model, which moves on.
BEFORE = "alliance-registry/v1"


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("api_version", sa.String(), nullable=False, server_default=BEFORE),
    )


def downgrade() -> None:
    op.drop_column("documents", "api_version")  # SQLite: 3.35 or newer
