"""The outbox: subscriptions, events and their deliveries, in the registry database.

Events are written in the transaction of what they tell (`record`, called by
`Draft.commit` and by the calendar), fanned out there and then to one delivery per
subscription that wants them, so an event never exists without its deliveries and a
write never commits without its events.

Processes deliver by leasing a subscription (`claim`): an UPDATE of the
subscriptions whose lease has run out, `FOR UPDATE SKIP LOCKED` on PostgreSQL so
processes claiming together take different ones (SQLite has one writer at a time).
The holder delivers that subscription's deliveries one at a time, oldest first,
renewing its lease in the transaction that records each one (`delivered`); a holder
killed mid-delivery stops renewing, and once the lease runs out another process
claims the subscription and starts again from the oldest pending delivery, so the
one in flight may arrive twice, with its same webhook-id. The calendar holds a lease
row of its own (`lease`).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Engine, delete, func, text, update
from sqlmodel import Session, col, select

from registry.events import NewEvent, payload
from registry.store.tables import (
    AttemptRow,
    CalendarRow,
    DeliveryRow,
    EventRow,
    SubscriptionRow,
)

# What a subscription gets of an event: the data to send (None: not this event).
Route = Callable[[NewEvent, SubscriptionRow], dict[str, Any] | None]


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def record(
    session: Session,
    alliance: str,
    revision: int,
    events: Sequence[NewEvent],
    route: Route,
) -> int:
    """Write the events and a delivery of each to every subscription of the alliance
    that wants it, in the caller's transaction. Returns the events written. An event
    no subscription wants is not written: the outbox holds what is to be delivered."""
    if not events:
        return 0
    subscriptions = session.exec(
        select(SubscriptionRow)
        .where(SubscriptionRow.alliance == alliance)
        .order_by(col(SubscriptionRow.id))
    ).all()
    at, made = now_text(), 0
    for event in events:
        wanted = []
        for subscription in subscriptions:
            if event.type not in msgspec.json.decode(subscription.events):
                continue
            data = route(event, subscription)
            if data is not None:
                wanted.append((subscription, data))
        if not wanted:  # an event no subscription wants is not kept
            continue
        row = EventRow(
            id=new_id("evt"),
            alliance=alliance,
            type=event.type,
            revision=revision,
            at=at,
            body=payload(event, alliance, revision, at),
        )
        session.add(row)
        session.flush()
        assert row.seq is not None
        made += 1
        for subscription, data in wanted:
            body = None if data is event.data else payload(event, alliance, revision, at, data)
            session.add(
                DeliveryRow(
                    id=new_id("msg"),
                    subscription=subscription.id,
                    event=row.seq,
                    body=body,
                    created=time.time(),
                )
            )
    return made


@dataclass(frozen=True)
class Claimed:
    """A subscription this process delivers to until its lease runs out."""

    id: str
    callback: str
    secret: str


@dataclass(frozen=True)
class Pending:
    seq: int
    id: str  # the webhook-id
    body: str
    attempts: int
    created: float


@dataclass(frozen=True)
class Attempt:
    at: str
    status: int | None
    error: str | None
    duration_ms: int


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _marking(self) -> Iterator[Session]:
        """A transaction of the dispatch's own bookkeeping (leases, attempts, a delivery
        marked delivered). On PostgreSQL it commits without waiting for the WAL flush:
        one lost in a crash of the database costs a delivery sent twice, with its same
        webhook-id, which at-least-once allows, and spares a disk flush per delivery."""
        with self._session() as session:
            if self.postgres:
                session.connection().exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield session

    # -- subscriptions -----------------------------------------------------------

    def subscribe(self, row: SubscriptionRow) -> None:
        with self._session() as session:
            session.add(row)
            session.commit()

    def subscriptions(self, alliance: str, partner: str | None = None) -> list[SubscriptionRow]:
        with self._session() as session:
            query = select(SubscriptionRow).where(SubscriptionRow.alliance == alliance)
            if partner is not None:
                query = query.where(SubscriptionRow.partner == partner)
            return list(session.exec(query.order_by(col(SubscriptionRow.created))).all())

    def subscribed(self) -> set[str]:
        """The alliances that have subscriptions."""
        with self._session() as session:
            return set(session.exec(select(SubscriptionRow.alliance).distinct()).all())

    def wants(self, alliance: str, event: str) -> bool:
        """Whether any subscription of the alliance takes this type of event."""
        return any(event in msgspec.json.decode(row.events) for row in self.subscriptions(alliance))

    def subscription(self, alliance: str, subscription: str) -> SubscriptionRow | None:
        with self._session() as session:
            row = session.get(SubscriptionRow, subscription)
        return row if row is not None and row.alliance == alliance else None

    def unsubscribe(self, subscription: str) -> None:
        """The subscription, its deliveries and their attempts (its events stay: other
        subscriptions may hold them)."""
        with self._session() as session:
            seqs = select(DeliveryRow.seq).where(DeliveryRow.subscription == subscription)
            session.exec(delete(AttemptRow).where(col(AttemptRow.delivery).in_(seqs)))
            session.exec(delete(DeliveryRow).where(col(DeliveryRow.subscription) == subscription))
            session.exec(delete(SubscriptionRow).where(col(SubscriptionRow.id) == subscription))
            session.commit()

    def deliveries(
        self, subscription: str, limit: int, delivery: str | None = None
    ) -> list[tuple[DeliveryRow, str, str, list[AttemptRow]]]:
        """The newest deliveries (or the one named), newest first, each with its event's
        type and id and its attempts, oldest first."""
        with self._session() as session:
            query = (
                select(DeliveryRow, EventRow.type, EventRow.id)
                .join(EventRow, col(EventRow.seq) == col(DeliveryRow.event))
                .where(DeliveryRow.subscription == subscription)
            )
            if delivery is not None:
                query = query.where(DeliveryRow.id == delivery)
            rows = session.exec(query.order_by(col(DeliveryRow.seq).desc()).limit(limit)).all()
            seqs = [d.seq for d, _, _ in rows]
            attempts: dict[int, list[AttemptRow]] = {}
            if seqs:
                for attempt in session.exec(
                    select(AttemptRow)
                    .where(col(AttemptRow.delivery).in_(seqs))
                    .order_by(col(AttemptRow.id))
                ).all():
                    attempts.setdefault(attempt.delivery, []).append(attempt)
        return [(d, kind, event, attempts.get(d.seq or 0, [])) for d, kind, event in rows]

    def redeliver(self, subscription: str, delivery: str) -> DeliveryRow | None:
        """Send the delivery again (same webhook-id), and take up the subscription again
        if it was failing."""
        with self._session() as session:
            row = session.exec(
                select(DeliveryRow).where(
                    DeliveryRow.id == delivery, DeliveryRow.subscription == subscription
                )
            ).first()
            if row is None:
                return None
            row.status, row.created = "pending", time.time()
            session.add(row)
            session.exec(
                update(SubscriptionRow)
                .where(col(SubscriptionRow.id) == subscription)
                .values(status="active", failing_since=None, next_at=0.0)
            )
            session.commit()
            session.refresh(row)
            return row

    # -- dispatch ----------------------------------------------------------------

    def claim(self, holder: str, lease_seconds: float, limit: int = 16) -> list[Claimed]:
        """Lease the subscriptions due for a delivery that no live lease holds."""
        now = time.time()
        lock = " FOR UPDATE SKIP LOCKED" if self.postgres else ""
        sql = text(
            "UPDATE subscriptions SET lease_holder = :holder, lease_until = :until "
            "WHERE id IN (SELECT s.id FROM subscriptions s WHERE s.status = 'active' "
            "AND s.lease_until < :now AND s.next_at <= :now AND EXISTS (SELECT 1 FROM "
            "deliveries d WHERE d.subscription = s.id AND d.status = 'pending') "
            f"ORDER BY s.lease_until LIMIT :limit{lock}) "
            "RETURNING id, callback, secret"
        )
        with self._marking() as session:
            rows = session.connection().execute(
                sql, {"holder": holder, "until": now + lease_seconds, "now": now, "limit": limit}
            )
            claimed = [Claimed(*row) for row in rows]
            session.commit()
        return claimed

    def pending(self, subscription: str, limit: int, after: int = 0) -> list[Pending]:
        """The subscription's oldest pending deliveries (after `after`: those sent but
        not recorded yet)."""
        sql = text(
            "SELECT d.seq, d.id, coalesce(d.body, e.body), d.attempts, d.created "
            "FROM deliveries d JOIN events e ON e.seq = d.event "
            "WHERE d.subscription = :subscription AND d.status = 'pending' AND d.seq > :after "
            "ORDER BY d.seq LIMIT :limit"
        )
        with self._session() as session:
            rows = session.connection().execute(
                sql, {"subscription": subscription, "limit": limit, "after": after}
            )
            return [Pending(*row) for row in rows]

    def delivered(
        self,
        subscription: str,
        done: Sequence[tuple[Pending, Attempt]],
        holder: str,
        lease: float,
    ) -> bool:
        """Record deliveries made and renew the lease, in one transaction; False when
        the lease was lost meanwhile (another process holds the subscription now: stop)."""
        if not done:
            return True
        with self._marking() as session:
            if not self._renew(session, subscription, holder, lease):
                return False
            connection = session.connection()
            connection.execute(
                text(
                    "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, "
                    "delivered = :at WHERE seq = :seq"
                ),
                [{"seq": pending.seq, "at": attempt.at} for pending, attempt in done],
            )
            connection.execute(
                text(
                    "INSERT INTO delivery_attempts (delivery, at, status, error, duration_ms, "
                    "holder) VALUES (:delivery, :at, :status, :error, :duration_ms, :holder)"
                ),
                [
                    {
                        "delivery": pending.seq,
                        "at": attempt.at,
                        "status": attempt.status,
                        "error": attempt.error,
                        "duration_ms": attempt.duration_ms,
                        "holder": holder,
                    }
                    for pending, attempt in done
                ],
            )
            session.commit()
        return True

    def failed(
        self,
        subscription: str,
        pending: Pending,
        attempt: Attempt,
        holder: str,
        retry_at: float | None,
    ) -> None:
        """Record a failed attempt and release the lease until `retry_at`; None: the
        retries are over, the delivery failed and the subscription is failing."""
        with self._marking() as session:
            values: dict[str, Any] = {"lease_holder": None, "lease_until": 0.0}
            if retry_at is None:
                values |= {"status": "failing", "failing_since": attempt.at}
            else:
                values["next_at"] = retry_at
            held = session.exec(
                update(SubscriptionRow)
                .where(
                    col(SubscriptionRow.id) == subscription,
                    col(SubscriptionRow.lease_holder) == holder,
                )
                .values(**values)
            )
            if not held.rowcount:
                return
            session.exec(
                update(DeliveryRow)
                .where(col(DeliveryRow.seq) == pending.seq)
                .values(
                    attempts=DeliveryRow.attempts + 1,
                    status="pending" if retry_at is not None else "failed",
                )
            )
            self._attempt(session, pending, attempt, holder)
            session.commit()

    def release(self, subscription: str, holder: str) -> None:
        with self._marking() as session:
            session.exec(
                update(SubscriptionRow)
                .where(
                    col(SubscriptionRow.id) == subscription,
                    col(SubscriptionRow.lease_holder) == holder,
                )
                .values(lease_holder=None, lease_until=0.0)
            )
            session.commit()

    def _renew(self, session: Session, subscription: str, holder: str, lease: float) -> bool:
        result = session.exec(
            update(SubscriptionRow)
            .where(
                col(SubscriptionRow.id) == subscription,
                col(SubscriptionRow.lease_holder) == holder,
            )
            .values(lease_until=time.time() + lease)
        )
        return bool(result.rowcount)

    def _attempt(self, session: Session, pending: Pending, attempt: Attempt, holder: str) -> None:
        session.add(
            AttemptRow(
                delivery=pending.seq,
                at=attempt.at,
                status=attempt.status,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                holder=holder,
            )
        )

    def backlog(self) -> tuple[int, float | None, int]:
        """Deliveries pending, the age in seconds of the oldest, and deliveries failed
        for good (the metrics' outbox depth, oldest age and failures)."""
        with self._session() as session:
            depth, oldest = session.exec(
                select(func.count(), func.min(DeliveryRow.created)).where(
                    DeliveryRow.status == "pending"
                )
            ).one()
            failed = session.exec(select(func.count()).where(DeliveryRow.status == "failed")).one()
        age = None if oldest is None else max(0.0, time.time() - float(oldest))
        return int(depth), age, int(failed)

    # -- the calendar -----------------------------------------------------------

    def lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take or renew the named lease; False when another process holds it."""
        now = time.time()
        with self._session() as session:
            connection = session.connection()
            connection.execute(
                text(
                    "INSERT INTO leases (name, holder, until) VALUES (:name, '', 0) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                {"name": name},
            )
            taken = connection.execute(
                text(
                    "UPDATE leases SET holder = :holder, until = :until WHERE name = :name "
                    "AND (until < :now OR holder = :holder)"
                ),
                {"name": name, "holder": holder, "until": now + seconds, "now": now},
            )
            session.commit()
            return bool(taken.rowcount)

    def marks(self, alliance: str) -> dict[str, str]:
        with self._session() as session:
            rows = session.exec(
                select(CalendarRow.key, CalendarRow.value).where(CalendarRow.alliance == alliance)
            ).all()
        return dict(rows)

    def emit(
        self,
        alliance: str,
        *,
        revision: int,
        key: str,
        value: str,
        events: Sequence[NewEvent],
        route: Route,
        replace: bool = False,
    ) -> int | None:
        """Write the events with the calendar's mark `key`, in one transaction: None
        (nothing written) when the mark is there already, another process having
        emitted them; else the events written (those some subscription wants).
        `replace`: the mark is a value to move on (the last day swept), moved only
        forward."""
        with self._session() as session:
            connection = session.connection()
            if replace:
                moved = connection.execute(
                    text(
                        "UPDATE calendar_marks SET value = :value WHERE alliance = :alliance "
                        "AND key = :key AND value < :value"
                    ),
                    {"alliance": alliance, "key": key, "value": value},
                )
                if not moved.rowcount:
                    inserted = connection.execute(
                        text(
                            "INSERT INTO calendar_marks (alliance, key, value) VALUES "
                            "(:alliance, :key, :value) ON CONFLICT (alliance, key) DO NOTHING"
                        ),
                        {"alliance": alliance, "key": key, "value": value},
                    )
                    if not inserted.rowcount:
                        return None
            else:
                inserted = connection.execute(
                    text(
                        "INSERT INTO calendar_marks (alliance, key, value) VALUES "
                        "(:alliance, :key, :value) ON CONFLICT (alliance, key) DO NOTHING"
                    ),
                    {"alliance": alliance, "key": key, "value": value},
                )
                if not inserted.rowcount:
                    return None
            written = record(session, alliance, revision, events, route)
            session.commit()
        return written
