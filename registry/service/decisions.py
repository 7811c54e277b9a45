"""The decision log: every answer the registry gives, recorded off the answer path.

An answer (an owner query, each query of a batch, a routed ticket) gets its decision
id (UUIDv7) where it is made, and its record joins an in-memory buffer; a thread of
this process writes the buffer to the store in one transaction per flush interval
(REGISTRY_DECISION_FLUSH_INTERVAL), and once more when the server shuts down. So a
process killed with SIGKILL loses at most the decisions of its last interval.

The buffer is bounded (MAX_BUFFERED). Nothing is dropped when it is full: recording
waits for the flush to make room (back-pressure), so answers slow down rather than
go unrecorded; the API records in a worker thread when the buffer is full, so the
event loop never waits. A flush that fails (the database down) keeps its decisions
in the buffer and is tried again at the next interval; as its commit may have landed
all the same (the connection lost as it committed), the retry skips those stored.

The metrics are kept by the flush, once an interval, never by an answer:
`registry_decisions_recorded_total` counts the decisions written to the store, and
`registry_decisions_buffered` is the buffer's depth as the last flush found it (the
workers' sum; it grows while the database refuses them).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from registry.access import Principal
from registry.resolve import Answer
from registry.service.metrics import counter, gauge
from registry.store import Store
from registry.store.decisions import Decision, Stored
from registry.tickets import Routing

log = logging.getLogger("registry.decisions")

MAX_BUFFERED = 200_000
PRUNE_EVERY = 3600.0

_json = msgspec.json.Encoder()

RECORDED = counter("decisions_recorded", "Decisions written to the decision log")
BUFFERED = gauge(
    "decisions_buffered",
    "Decisions waiting in the buffer when the last flush took it (a failed flush keeps them)",
    mode="livesum",
)


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, version 7, a 12-bit counter
    within the millisecond (method 1 of §6.2, so ids a process makes are ordered), 62
    random bits. Made here rather than by a library: the owner query's hot path makes
    one per answer, and this takes a fraction of the time. The decision log pages by id."""
    ms = time.time_ns() // 1_000_000
    with _ordering:
        if ms <= _last[0]:
            ms, count = _last[0], _last[1] + 1
            if count > 0xFFF:  # 4,096 in one millisecond: borrow the next one
                ms, count = ms + 1, 0
        else:
            count = 0
        _last[0], _last[1] = ms, count
        # Random bits from a pool read from the OS a few kilobytes at a time: one
        # system call per 512 ids, not one per id (it was a quarter of the id's cost).
        bits, at = _pool
        if at + 8 > len(bits):
            bits, at = os.urandom(_POOL_BYTES), 0
        _pool[0], _pool[1] = bits, at + 8
        rand = int.from_bytes(bits[at : at + 8]) & _RANDOM_62
    value = (ms << 80) | ((0x7000 | count) << 64) | _VARIANT | rand
    hexed = f"{value:032x}"
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def _forget_pool() -> None:  # a forked child must not reuse its parent's random bits
    _pool[0], _pool[1] = b"", 0


_ordering = threading.Lock()
_last = [0, 0]  # the last id's millisecond and counter
_pool: list[Any] = [b"", 0]  # random bytes from the OS, and how many of them are used
_POOL_BYTES = 4096
_RANDOM_62 = (1 << 62) - 1
_VARIANT = 1 << 63  # the RFC's variant, binary 10, above the 62 random bits
os.register_at_fork(after_in_child=_forget_pool)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def record_of(
    answer: Answer | Routing,
    decision_id: str,
    at: str,
    principal: Principal,
    *,
    kind: str,
    ticket: str | None = None,
) -> Decision:
    """The decision log's record of one answer (never the token's secret, never a
    ticket's body: only its id and the query it mapped to)."""
    owner, face, handoff = answer.owner, answer.face, answer.handoff
    named = set(answer.candidates)
    if owner is not None:
        named.add(owner.partner)
    if face is not None:
        named.add(face.partner)
    return Decision(
        id=decision_id,
        alliance=answer.alliance,
        at=at,
        kind=kind,
        revision=answer.revision or 0,
        day=answer.at,
        query=_json.encode(answer.query).decode(),
        status=answer.status,
        owner=None if owner is None else _json.encode(owner).decode(),
        face=None if face is None else face.partner,
        handoff=None if handoff is None else _json.encode(handoff.endpoint).decode(),
        partners="," + ",".join(sorted(named)) + "," if named else ",",
        token=principal.id,
        role=principal.role,
        ticket=ticket,
    )


class Recorder:
    """This process's buffer of decisions and the thread that flushes it."""

    def __init__(self, store: Store, interval: float, limit: int = MAX_BUFFERED) -> None:
        self._store = store
        self.interval = interval
        self.limit = limit
        self._buffer: list[Decision] = []
        # The buffer's own lock, a plain one (taken in C, on every answer), apart from
        # the condition the flusher waits on and a full buffer's recorders wait for.
        self._buffered = threading.Lock()
        self._changed = threading.Condition()
        self._flushing = threading.Lock()  # one flush at a time
        # How many of the buffer's first decisions a failed flush may have written after
        # all (its commit lost with the connection): the next flush skips those stored.
        self._uncertain = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.recorded = 0  # decisions written to the store by this process
        # Run by the flushing thread at its start and every PRUNE_EVERY seconds (the
        # server prunes decisions past their retention with it).
        self.chores: Callable[[], object] | None = None
        self._chores_due = 0.0

    @property
    def full(self) -> bool:
        return len(self._buffer) >= self.limit

    def record(self, decisions: Sequence[Decision]) -> None:
        """Buffer the decisions; wait while the buffer is full (never on the event loop:
        ask `full` first there)."""
        if self._thread is None:
            self.start()
        if len(self._buffer) >= self.limit:
            self._wait_for_room()
        with self._buffered:
            self._buffer.extend(decisions)

    def _wait_for_room(self) -> None:
        with self._changed:
            while len(self._buffer) >= self.limit and not self._stopped:
                self._changed.notify_all()  # wake the flusher now
                self._changed.wait(self.interval)

    def start(self) -> None:
        with self._changed:
            if self._thread is None and not self._stopped:
                self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="decision-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Flushes start every interval, however long the last one took: a decision
        # waits at most one interval (and the flush's own commit) to be written.
        due = time.monotonic() + self.interval
        while True:
            self._chore()
            with self._changed:
                if self._stopped:
                    return
                self._changed.wait(max(0.0, due - time.monotonic()))
                if self._stopped:
                    return
            due = max(due + self.interval, time.monotonic())
            self.flush()

    def _chore(self) -> None:
        if self.chores is None or time.monotonic() < self._chores_due:
            return
        self._chores_due = time.monotonic() + PRUNE_EVERY
        try:
            self.chores()
        except Exception as exc:  # the database down: next time
            log.warning("decision log: pruning failed: %s", exc)

    def flush(self) -> int:
        """Write what is buffered now; return how many were written (0 on a failure,
        which keeps them for the next flush)."""
        with self._flushing:
            with self._buffered:
                batch, self._buffer = self._buffer, []
            BUFFERED.set(len(batch))
            if not batch:
                return 0
            started = time.perf_counter()
            try:
                self._store.decisions.append(batch, maybe_stored=self._uncertain)
            except Exception as exc:
                with self._buffered:
                    self._buffer[:0] = batch
                self._uncertain = len(batch)
                log.warning(
                    "decision log: flush of %d failed, kept for the next: %s", len(batch), exc
                )
                return 0
            self._uncertain = 0
            RECORDED.inc(len(batch))
            with self._changed:
                self.recorded += len(batch)
                self._changed.notify_all()
            log.debug(
                "decision log: %d written in %.1f ms",
                len(batch),
                1000 * (time.perf_counter() - started),
            )
            return len(batch)

    def close(self) -> None:
        """Stop the thread and write whatever is left (a shutdown loses nothing)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        for _ in range(3):  # a failing database: a couple more tries, then say so
            self.flush()
            if not self._buffer:
                return
            time.sleep(self.interval)
        log.error(
            "decision log: %d decision(s) could not be written at shutdown", len(self._buffer)
        )


class Difference(msgspec.Struct):
    field: str
    recorded: str | None
    replayed: str | None


class Replay(msgspec.Struct, rename="camel"):
    """A decision answered again at its revision and day: `match`, or what differs."""

    decision_id: str
    alliance: str
    revision: int
    day: str
    query: dict[str, str]
    result: str  # match or differs
    differences: list[Difference]


COMPARED = ("status", "owner", "face", "handoff", "partners")


def replayed(stored: Stored, answer: Answer) -> Replay:
    """Compare a stored decision with the answer recomputed for it."""
    again = record_of(
        answer, stored.id, stored.at, Principal(stored.token, "resolver"), kind=stored.kind
    )
    differences = [
        Difference(name, getattr(stored, name), getattr(again, name))
        for name in COMPARED
        if getattr(stored, name) != getattr(again, name)
    ]
    return Replay(
        stored.id,
        stored.alliance,
        stored.revision,
        stored.day,
        msgspec.json.decode(stored.query, type=dict[str, str]),
        "differs" if differences else "match",
        differences,
    )


class DecisionOut(msgspec.Struct, rename="camel", omit_defaults=True):
    """A decision as the API shows it."""

    decision_id: str
    alliance: str
    at: str
    kind: str
    revision: int
    day: str
    query: dict[str, str]
    status: str
    owner: dict[str, str] | None
    face: str | None
    handoff: dict[str, str] | None
    partners: list[str]
    token: int
    role: str
    ticket: str | None = None
    seq: int = 0
    hash: str = ""


def shown(stored: Stored) -> DecisionOut:
    return DecisionOut(
        stored.id,
        stored.alliance,
        stored.at,
        stored.kind,
        stored.revision,
        stored.day,
        msgspec.json.decode(stored.query, type=dict[str, str]),
        stored.status,
        None if stored.owner is None else msgspec.json.decode(stored.owner),
        stored.face,
        None if stored.handoff is None else msgspec.json.decode(stored.handoff),
        [p for p in stored.partners.split(",") if p],
        stored.token,
        stored.role,
        stored.ticket,
        stored.seq,
        stored.hash,
    )
