"""Signed checkpoints of every chain, and the token log, the server's own chain.

Revision 0003, after 0002. Adds `checkpoints` (one signed note per chain and revision,
written with the entry by a server that has a signing key) and `token_changes` (the
token log), and to `registry_state` the registry's id (the origin line of its
checkpoints names it) and the token log's revision and head. Every token that exists
is adopted into the token log, one entry each, so the tokens in use keep working: from
now on a token row that is not as its newest entry says is not loaded.

Raises `registry_state.schema_version` to 2: the releases before migrations would
create tokens outside the token log, which this registry would refuse, so they refuse
this database instead. Once released, a revision never changes: databases out there
are stamped with it. Change the schema with a new one.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

from registry.store.chain import GENESIS, encode_record, token_entry_hash, token_record
from registry.store.tables import TokenChangeRow

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite: ADD and DROP COLUMN in place, 3.35 or newer), so a
    # downgrade leaves the table exactly as it was.
    op.add_column(
        "registry_state",
        sa.Column("registry_id", sa.String(), nullable=False, server_default=""),
    )
    op.add_column(
        "registry_state",
        sa.Column("tokens_revision", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "registry_state",
        sa.Column("tokens_head", sa.String(), nullable=False, server_default=""),
    )
    changes = op.create_table(
        "token_changes",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(), nullable=False),
        sa.Column("previous", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("revision"),
    )
    op.create_index("ix_token_changes_token", "token_changes", ["token"])
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(), nullable=False),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain", "size"),
    )
    bind = op.get_bind()
    head, entries = GENESIS, []
    at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    tokens = bind.execute(
        sa.text(
            "SELECT id, hash, role, alliance, partner, name, created, revoked FROM tokens "
            "ORDER BY id"
        )
    ).all()
    for number, row in enumerate(tokens, start=1):
        entry = TokenChangeRow(
            revision=number,
            at=at,
            actor="revision 0003",
            action="adopt",
            token=row.id,
            record=encode_record(token_record(row)),
            previous=head,
            hash="",
        )
        entry.hash = head = token_entry_hash(entry)
        entries.append(entry.model_dump(exclude={"seq"}))
    op.bulk_insert(changes, entries)
    bind.execute(
        sa.text(
            "UPDATE registry_state SET schema_version = 2, registry_id = :id, "
            "tokens_revision = :revision, tokens_head = :head"
        ),
        {"id": secrets.token_hex(8), "revision": len(entries), "head": head},
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
    op.drop_index("ix_token_changes_token", "token_changes")
    op.drop_table("token_changes")
    for column in ("tokens_head", "tokens_revision", "registry_id"):
        op.drop_column("registry_state", column)
    op.execute("UPDATE registry_state SET schema_version = 1")
