"""The decision log's storage: appending flushed decisions to each alliance's decision
chain (signed like the change logs), reading them back, and pruning old ones.

Each alliance's decisions form a hash chain of their own: decision `seq` n hashes its
stored columns on the hash of decision n - 1, and every flush signs a checkpoint of
the chain (`decisions/<alliance>`, size = decisions so far) in its transaction. So a
decision edited or deleted in the database no longer recomputes to a signed head:
an evidence file carries the checkpoints before and after the decisions it holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Engine, delete, text
from sqlmodel import Session, col, select

from registry.checkpoint import Signer, origin
from registry.store.chain import GENESIS
from registry.store.tables import CheckpointRow, DecisionHeadRow, DecisionRow

# What `DecisionRow` columns a decision's hash covers, in this order (with `previous`
# first): every column but the partition key and the hash itself.
HASHED = (
    "id",
    "alliance",
    "seq",
    "at",
    "kind",
    "revision",
    "day",
    "query",
    "status",
    "owner",
    "face",
    "handoff",
    "partners",
    "token",
    "role",
    "ticket",
)


def decisions_chain(alliance: str) -> str:
    return f"decisions/{alliance}"


class Decision(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One answer as the service hands it to the store (JSON columns as text). `at`
    empty: the time in the id (a UUIDv7), read when it is written.

    Not tracked by the cyclic garbage collector (gc=False: texts and numbers hold no
    cycles): thousands wait in the buffer each second, and tracked they made the
    collector run through every compiled view again and again."""

    id: str
    alliance: str
    at: str
    kind: str
    revision: int
    day: str
    query: str
    status: str
    owner: str | None
    face: str | None
    handoff: str | None
    partners: str
    token: int
    role: str
    ticket: str | None


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """A decision as stored: a Decision with its place in the chain."""

    id: str
    alliance: str
    seq: int
    at: str
    kind: str
    revision: int
    day: str
    query: str
    status: str
    owner: str | None
    face: str | None
    handoff: str | None
    partners: str
    token: int
    role: str
    ticket: str | None
    previous: str
    hash: str


def decision_hash(stored: Stored | DecisionRow, previous: str | None = None) -> str:
    start = stored.previous if previous is None else previous
    return _hash(start, [getattr(stored, name) for name in HASHED])


def _hash(previous: str, fields: list[object]) -> str:
    return hashlib.sha256(_encode(["decision", previous, *fields])).hexdigest()


_encode = msgspec.json.Encoder().encode


# Rows per INSERT on SQLite: many rows a statement, because executemany steps the
# statement once a row and each step lets go of the GIL and takes it back, and under
# load the flushing thread then fights the event loop for it on every row (measured:
# about 55 us of CPU a row in the server against 10 in a quiet process). 500 rows of
# 19 values stay well under SQLite's 32,766 bound on a statement's values.
ROWS_PER_INSERT = 500


_COLUMNS = f"month, {', '.join(HASHED)}, previous, hash"
_COPY = f"COPY decisions ({_COLUMNS}) FROM STDIN"  # PostgreSQL
_ROW = f"({', '.join(['?'] * (len(HASHED) + 3))})"  # SQLite's placeholders for one row


def _insert_many(connection: Any, rows: list[tuple[object, ...]]) -> None:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        values = tuple(itertools.chain.from_iterable(chunk))  # at C speed: 19 a row
        marks = ", ".join([_ROW] * len(chunk))
        connection.exec_driver_sql(f"INSERT INTO decisions ({_COLUMNS}) VALUES {marks}", values)


def at_of(decision_id: str) -> str:
    """When a decision was answered, from its UUIDv7's millisecond timestamp."""
    ms = int(decision_id[:8] + decision_id[9:13], 16)
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return when.isoformat(timespec="milliseconds")


def month_of(at: str) -> int:
    return int(at[0:4]) * 100 + int(at[5:7])


@dataclass(frozen=True)
class Filters:
    partner: str | None = None
    status: str | None = None
    since: str | None = None  # at >= since
    until: str | None = None  # at < until
    ticket: str | None = None
    before: str | None = None  # the cursor: ids below it (latest first)


class DecisionLog:
    """The decision tables of one store's database."""

    def __init__(self, engine: Engine, registry_id: str, signer: Signer | None) -> None:
        self.engine = engine
        self.registry_id = registry_id
        self.signer = signer
        self.postgres = engine.dialect.name == "postgresql"
        self._months: set[int] = set()

    def append(self, decisions: Sequence[Decision], maybe_stored: int = 0) -> None:
        """Append the decisions, in order, to their alliances' chains in one
        transaction, signing each chain's new head when the store has a key.

        `maybe_stored`: the first so many may be in the store already (an earlier
        append failed and its commit may have landed, the connection lost as it
        committed): those found are skipped, so a retry neither writes one twice nor
        fails for ever on the duplicate key."""
        if not decisions:
            return
        uncertain = {d.id for d in decisions[:maybe_stored]}
        by_alliance: dict[str, list[tuple[Decision, str]]] = {}
        ats: dict[str, str] = {}  # a UUIDv7's first 13 characters -> its time
        months: dict[str, int] = {}  # "YYYY-MM" -> its partition's month
        for d in decisions:
            at = d.at
            if not at:  # the ids of one millisecond share its time: made once
                at = ats.get(d.id[:13]) or ats.setdefault(d.id[:13], at_of(d.id))
            if at[:7] not in months:
                months[at[:7]] = month_of(at)
            by_alliance.setdefault(d.alliance, []).append((d, at))
        if self.postgres:
            self._partitions(months.values())
        with Session(self.engine) as session:
            connection = session.connection()
            for alliance in sorted(by_alliance):  # one lock order for every process
                # A write first: SQLite takes its write lock here, for the whole flush.
                connection.execute(_HEAD_ROW, {"alliance": alliance})
                query = select(DecisionHeadRow).where(DecisionHeadRow.alliance == alliance)
                if self.postgres:
                    query = query.with_for_update()
                head = session.exec(query).one()
                size, previous = head.size, head.head or GENESIS
                pending = by_alliance[alliance]
                if uncertain:  # after the head's lock: an earlier commit has finished
                    pending = _unstored(session, alliance, pending, uncertain)
                    if not pending:
                        continue
                rows = []
                for d, at in pending:
                    size += 1
                    fields = [
                        d.id, alliance, size, at, d.kind, d.revision, d.day, d.query, d.status,
                        d.owner, d.face, d.handoff, d.partners, d.token, d.role, d.ticket,
                    ]  # fmt: skip
                    digest = _hash(previous, fields)
                    rows.append((months[at[:7]], *fields, previous, digest))
                    previous = digest
                if self.postgres:  # COPY: a few microseconds a row, executemany ~20
                    raw: Any = connection.connection.dbapi_connection
                    with raw.cursor() as cursor, cursor.copy(_COPY) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    _insert_many(connection, rows)  # `at`: the last one's
                if self.signer is not None:
                    chain = decisions_chain(alliance)
                    note = self.signer.sign(origin(self.registry_id, chain), size, previous, at)
                    session.add(
                        CheckpointRow(chain=chain, size=size, head=previous, at=at, note=note)
                    )
                head.size, head.head = size, previous
                session.add(head)
            session.commit()

    def _partitions(self, months: Iterable[int]) -> None:
        """Make each month's partition on PostgreSQL, once per process."""
        for month in sorted(set(months) - self._months):
            year, number = divmod(month, 100)
            following = (year + 1) * 100 + 1 if number == 12 else month + 1
            with self.engine.connect() as connection:
                exists = connection.execute(
                    text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"decisions_{month}"}
                ).scalar()
                if not exists:
                    try:
                        connection.exec_driver_sql(
                            f"CREATE TABLE IF NOT EXISTS decisions_{month} PARTITION OF decisions "
                            f"FOR VALUES FROM ({month}) TO ({following})"
                        )
                        connection.commit()
                    except Exception:  # another process made it at the same moment
                        connection.rollback()
            self._months.add(month)

    # -- reads -------------------------------------------------------------------

    def page(self, alliance: str, filters: Filters, limit: int) -> list[Stored]:
        """Up to `limit` decisions of the alliance matching the filters, latest first."""
        query = select(DecisionRow).where(DecisionRow.alliance == alliance)
        if filters.partner is not None:
            query = query.where(col(DecisionRow.partners).contains(f",{filters.partner},"))
        if filters.status is not None:
            query = query.where(DecisionRow.status == filters.status)
        if filters.ticket is not None:
            query = query.where(DecisionRow.ticket == filters.ticket)
        if filters.since is not None:
            query = query.where(DecisionRow.at >= filters.since)
            query = query.where(DecisionRow.month >= month_of(filters.since))
        if filters.until is not None:
            query = query.where(DecisionRow.at < filters.until)
            query = query.where(DecisionRow.month <= month_of(filters.until))
        if filters.before is not None:
            query = query.where(DecisionRow.id < filters.before)
        query = query.order_by(col(DecisionRow.id).desc()).limit(limit)
        with Session(self.engine) as session:
            return [_stored(row) for row in session.exec(query)]

    def get(self, alliance: str | None, decision_id: str) -> Stored | None:
        """The decision (of the alliance, or of any when None)."""
        query = select(DecisionRow).where(DecisionRow.id == decision_id)
        if alliance is not None:
            query = query.where(DecisionRow.alliance == alliance)
        with Session(self.engine) as session:
            row = session.exec(query).first()
        return None if row is None else _stored(row)

    def span(self, alliance: str, since: str, until: str) -> tuple[list[Stored], str, str] | None:
        """The decisions answered in [since, until), widened to whole flushes: every
        decision from the one after the last checkpoint before the first of them to
        the one its next checkpoint covers, with those two checkpoints (the first
        empty for the chain's start). None: no decision in the range."""
        with Session(self.engine) as session:
            bounds = session.exec(
                select(DecisionRow.seq)
                .where(
                    DecisionRow.alliance == alliance,
                    DecisionRow.at >= since,
                    DecisionRow.at < until,
                )
                .order_by(col(DecisionRow.seq))
            ).all()
            if not bounds:
                return None
            chain = decisions_chain(alliance)
            first, last = bounds[0], bounds[-1]
            start = session.exec(
                select(CheckpointRow)
                .where(CheckpointRow.chain == chain, CheckpointRow.size < first)
                .order_by(col(CheckpointRow.size).desc())
                .limit(1)
            ).first()
            end = session.exec(
                select(CheckpointRow)
                .where(CheckpointRow.chain == chain, CheckpointRow.size >= last)
                .order_by(col(CheckpointRow.size))
                .limit(1)
            ).first()
            low = 0 if start is None else start.size
            high = last if end is None else end.size
            rows = session.exec(
                select(DecisionRow)
                .where(
                    DecisionRow.alliance == alliance,
                    DecisionRow.seq > low,
                    DecisionRow.seq <= high,
                )
                .order_by(col(DecisionRow.seq))
            ).all()
        return (
            [_stored(row) for row in rows],
            "" if start is None else start.note,
            "" if end is None else end.note,
        )

    # -- retention ---------------------------------------------------------------

    def prune(self, before: dt.datetime) -> dict[str, int]:
        """Remove the decisions answered before `before`: by time on SQLite, whole
        monthly partitions on PostgreSQL (those of months that ended before it).
        Returns the decisions removed per alliance."""
        cutoff = before.astimezone(dt.UTC).isoformat(timespec="milliseconds")
        removed: dict[str, int] = {}
        with Session(self.engine) as session:
            connection = session.connection()
            if self.postgres:
                month = month_of(cutoff)
                old = connection.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = to_regclass('decisions')"
                    )
                ).scalars()
                names = [n for n in old if n.startswith("decisions_") and int(n[10:]) < month]
                for name in names:
                    counted = connection.exec_driver_sql(
                        f"SELECT alliance, count(*) FROM {name} GROUP BY alliance"
                    ).all()
                    for alliance, count in counted:
                        removed[alliance] = removed.get(alliance, 0) + count
                    connection.exec_driver_sql(f"DROP TABLE {name}")
                    self._months.discard(int(name[10:]))
            else:
                counted = connection.execute(
                    select(DecisionRow.alliance, text("count(*)"))
                    .where(DecisionRow.at < cutoff)
                    .group_by(col(DecisionRow.alliance))
                ).all()
                removed = {alliance: count for alliance, count in counted}
                if removed:
                    connection.execute(delete(DecisionRow).where(col(DecisionRow.at) < cutoff))
            for alliance in removed:
                connection.execute(_HEAD_ROW, {"alliance": alliance})
                connection.execute(
                    text("UPDATE decision_heads SET pruned = :at WHERE alliance = :alliance"),
                    {"at": cutoff, "alliance": alliance},
                )
            session.commit()
        return removed


def _unstored(
    session: Session, alliance: str, pending: list[tuple[Decision, str]], uncertain: set[str]
) -> list[tuple[Decision, str]]:
    """The pending decisions of the alliance that are not in the store yet."""
    asked = [d.id for d, _ in pending if d.id in uncertain]
    found: set[str] = set()
    for start in range(0, len(asked), ROWS_PER_INSERT):
        chunk = asked[start : start + ROWS_PER_INSERT]
        found.update(
            session.exec(
                select(DecisionRow.id).where(
                    DecisionRow.alliance == alliance, col(DecisionRow.id).in_(chunk)
                )
            )
        )
    return [(d, at) for d, at in pending if d.id not in found]


_HEAD_ROW = text(
    "INSERT INTO decision_heads (alliance, size, head, pruned) VALUES (:alliance, 0, '', '') "
    "ON CONFLICT (alliance) DO NOTHING"
)


def _stored(row: DecisionRow) -> Stored:
    return Stored(**{name: getattr(row, name) for name in (*HASHED, "previous", "hash")})
