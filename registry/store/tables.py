"""The registry's tables. Documents are versioned rows, never updated in place except
for the `current` flag; the change log is append-only and hash-chained per alliance."""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# The schema is alembic's revisions (store/migrations/versions/); a table changed below
# needs a new one. `registry_state.schema_version` is what the releases before
# migrations check: they refuse a database above 1. It stays 1 while those releases can
# still use the database (0002 adds a column their inserts fill by its default); a
# revision that breaks them raises it, and this number with it. 0003 raised it to 2:
# tokens those releases create are in no token log, so this registry would not load them.
SCHEMA_VERSION = 2

# Revisions are INTEGER columns (32 bits on PostgreSQL): the API refuses a larger one
# as a parameter instead of handing the database a number it cannot compare.
MAX_REVISION = 2**31 - 1


class RegistryState(SQLModel, table=True):
    """Row 1 (its `schema_version` is the one the releases before migrations check):
    `generation` grows with every committed alliance write, whose transaction updates
    it first, which also serialises alliance writers. Row 2, made by the first token
    write, counts token writes the same way, apart, so neither waits for the other's
    row lock. A worker learns whether anything changed by reading their sum."""

    __tablename__ = "registry_state"
    id: int = Field(default=1, primary_key=True)
    schema_version: int
    generation: int = 0
    # Made once by revision 0003; the origin line of every checkpoint names it.
    registry_id: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # The token log's revision and last hash, as an alliance row keeps its own.
    tokens_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tokens_head: str = Field(default="", sa_column_kwargs={"server_default": ""})


class AllianceRow(SQLModel, table=True):
    __tablename__ = "alliances"
    name: str = Field(primary_key=True)
    revision: int = 0
    # The hash of the alliance's last change-log entry: deleting the newest entries
    # of the log would otherwise leave a shorter chain that still verifies.
    head: str = ""
    created: str


class DocumentRow(SQLModel, table=True):
    """One version of one document, written at the alliance revision `revision`."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("alliance", "kind", "name", "revision"),
        Index("ix_documents_current", "alliance", "current"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alliance: str
    kind: str
    name: str
    revision: int
    body: str | None = None  # JSON text as the API returns it; None for a deletion
    etag: str | None = None
    deleted: bool = False
    current: bool = True
    # The model version it was written with (`registry.model.API_VERSION`). Versions
    # from before the column, and those releases before migrations write, are v1.
    api_version: str = Field(sa_column_kwargs={"server_default": "alliance-registry/v1"})


class ChangeRow(SQLModel, table=True):
    __tablename__ = "changes"
    __table_args__ = (UniqueConstraint("alliance", "revision"),)
    seq: int | None = Field(default=None, primary_key=True)
    alliance: str = Field(index=True)
    revision: int
    at: str
    actor: str
    action: str
    forced: bool = False
    documents: str  # JSON list of {ref, before, after} content digests
    previous: str
    hash: str


class TokenRow(SQLModel, table=True):
    __tablename__ = "tokens"
    id: int | None = Field(default=None, primary_key=True)
    hash: str = Field(unique=True)
    role: str
    alliance: str | None = None
    partner: str | None = None
    name: str | None = None
    created: str
    revoked: str | None = None


class TokenChangeRow(SQLModel, table=True):
    """One entry of the token log, the server's own hash chain: a token created,
    revoked, or adopted by revision 0003. `record` is the token as it stands after."""

    __tablename__ = "token_changes"
    seq: int | None = Field(default=None, primary_key=True)
    revision: int = Field(unique=True)
    at: str
    actor: str
    action: str
    token: int = Field(index=True)
    record: str  # JSON of chain.TokenRecord
    previous: str
    hash: str


class CheckpointRow(SQLModel, table=True):
    """A signed checkpoint of one chain at one revision, written in the transaction
    that wrote the entry. `chain` is `alliances/<name>` or `tokens`."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("chain", "size"),)
    id: int | None = Field(default=None, primary_key=True)
    chain: str
    size: int
    head: str
    at: str
    note: str  # the signed note, as served


# -- events (revision 0004): subscriptions, the outbox, deliveries, the calendar --------


class SubscriptionRow(SQLModel, table=True):
    """Where an alliance's events go. `secret` signs every delivery (Standard Webhooks);
    it is shown once, when the subscription is made. A partner's subscription gets only
    the events that name its partner. The lease fields say which process delivers to it
    now (`lease_until`, seconds since the epoch), so its deliveries go out one at a time,
    in order; `next_at` is when the next attempt is due after a failed one."""

    __tablename__ = "subscriptions"
    id: str = Field(primary_key=True)
    alliance: str = Field(index=True)
    partner: str | None = None
    callback: str
    events: str  # JSON list of event types
    secret: str
    created: str
    created_by: str
    status: str = "active"  # active | failing
    failing_since: str | None = None
    next_at: float = 0.0
    lease_holder: str | None = None
    lease_until: float = 0.0


class EventRow(SQLModel, table=True):
    """One event of an alliance, written in the transaction of what it tells (a write,
    a calendar day): the outbox. `body` is the JSON delivered."""

    __tablename__ = "events"
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    alliance: str = Field(index=True)
    type: str
    revision: int
    at: str
    body: str


class DeliveryRow(SQLModel, table=True):
    """One event to one subscription; `id` is its webhook-id, the same on every attempt.
    `body` is set when the subscription gets less than the whole event (a partner's)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_queue", "subscription", "status", "seq"),)
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True)
    subscription: str
    event: int
    body: str | None = None
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    created: float
    delivered: str | None = None


class AttemptRow(SQLModel, table=True):
    """One attempt to deliver: the HTTP status the callback answered, or why none."""

    __tablename__ = "delivery_attempts"
    id: int | None = Field(default=None, primary_key=True)
    delivery: int = Field(index=True)
    at: str
    status: int | None = None
    error: str | None = None
    duration_ms: int = 0
    holder: str = ""


class LeaseRow(SQLModel, table=True):
    """A job one process at a time does (the calendar), held until `until`."""

    __tablename__ = "leases"
    name: str = Field(primary_key=True)
    holder: str
    until: float


class CalendarRow(SQLModel, table=True):
    """What the calendar has emitted for an alliance: `key` is a boundary announced
    (`scheduled:...`) or a day whose findings were compared (`day`, its `value`)."""

    __tablename__ = "calendar_marks"
    alliance: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str = ""


# -- the decision log (revision 0005): answers given, chained per alliance ------------


class DecisionRow(SQLModel, table=True):
    """One answer the registry gave (an owner query, one query of a batch, a routed
    ticket), as the decision log records it. `seq` and `hash` chain each alliance's
    decisions (store/decisions.py); `month` (YYYYMM of `at`) is the partition key on
    PostgreSQL, where the table is partitioned by month (migration 0005). JSON columns
    are hashed as stored, so a verifier recomputes the chain from the text."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_alliance_id", "alliance", "id"),
        Index("ix_decisions_alliance_seq", "alliance", "seq"),
    )
    month: int = Field(primary_key=True)
    id: str = Field(primary_key=True)  # UUIDv7, time-ordered
    alliance: str
    seq: int
    at: str  # when it was answered (UTC, milliseconds)
    kind: str  # owner, batch, ticket
    revision: int
    day: str  # the day asked about
    query: str  # JSON object, dimension -> node
    status: str
    owner: str | None = None  # JSON {partner, contract}
    face: str | None = None  # the face's partner
    handoff: str | None = None  # JSON of the handoff endpoint {name, type, address}
    partners: str  # ",a,b,": the partners the answer names (owner, face, candidates)
    token: int
    role: str
    ticket: str | None = None  # the ticket's id, for a routed ticket
    previous: str
    hash: str


class DecisionHeadRow(SQLModel, table=True):
    """Each alliance's decision chain: its length and last hash. Its row lock (on
    SQLite the file's write lock) serialises the processes that flush decisions."""

    __tablename__ = "decision_heads"
    alliance: str = Field(primary_key=True)
    size: int = 0
    head: str = ""
    pruned: str = ""  # the time decisions before which were pruned (retention)
