"""The events an alliance sends its subscribers, as data: what a write or a calendar
day tells them, what a partner's subscription may see of it, and which callback URLs
the registry may call.

Four types (docs/api.md, "Subscriptions and deliveries"):

- `alliance.revision`: the documents a write changed, and who wrote them;
- `ownership.moved`: the boxes whose accountable partner a write moves, read off the
  write's plan, with the day it takes effect;
- `ownership.scheduled`: a contract or waiver boundary entering the policy's horizon,
  once per boundary, with the boxes that move on that day;
- `coverage.finding`: error findings opened or closed by a write or by the calendar.

Pure: the service decides when, the store keeps the outbox, the dispatcher sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from registry.bundle import Bundle
from registry.claims import compile_bundle, horizon_end
from registry.dimensions import Box
from registry.engine import Arrangement, Atom, arrange, merged, paused_gc
from registry.findings import Finding
from registry.plan import OwnerMove, Plan

EventType = Literal[
    "alliance.revision", "ownership.moved", "ownership.scheduled", "coverage.finding"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "alliance.revision",
    "ownership.moved",
    "ownership.scheduled",
    "coverage.finding",
)


@dataclass(frozen=True)
class NewEvent:
    """An event to write to the outbox: its type and its `data` as builtins. `partners`
    are the partners it names: a partner's subscription gets it only if its own is
    among them (and then only what concerns it, `for_partner`)."""

    type: EventType
    data: dict[str, Any]
    partners: frozenset[str]


def payload(
    event: NewEvent, alliance: str, revision: int, at: str, data: dict[str, Any] | None = None
) -> str:
    """The JSON body delivered: {type, timestamp, alliance, revision, data}."""
    body = {
        "type": event.type,
        "timestamp": at,
        "alliance": alliance,
        "revision": revision,
        "data": event.data if data is None else data,
    }
    return msgspec.json.encode(body).decode()


# -- what a write tells ------------------------------------------------------------


def write_events(
    *,
    documents: Sequence[tuple[str, str, str | None]],
    actor: str,
    action: str,
    forced: bool,
    change: Plan | None,
    faces: list[OwnerMove] | None = None,
) -> list[NewEvent]:
    """The events of one committed write. `documents`: (ref, created/updated/deleted,
    the partner the document names or None); `faces`: the boxes whose customer face
    the write changes (`moves_between`), None when nobody asked."""
    named = frozenset(p for _, _, p in documents if p)
    events = [
        NewEvent(
            "alliance.revision",
            {
                "documents": [{"ref": ref, "action": what} for ref, what, _ in documents],
                "actor": actor,
                "action": action,
                "forced": forced,
            },
            named,
        )
    ]
    if change is None:
        return events
    faces = faces or []
    if change.moves or faces:
        moves = change.moves or []
        events.append(
            NewEvent(
                "ownership.moved",
                {
                    "effective": change.as_of,
                    "moves": [_move(m) for m in moves],
                    "faceMoves": [_move(m) for m in faces],
                },
                _move_partners([*moves, *faces]),
            )
        )
    opened = [f for f in change.added if f.severity == "error"]
    closed = [f for f in change.removed if f.severity == "error"]
    if opened or closed:
        events.append(findings_event("write", change.as_of, opened, closed))
    return events


def findings_event(
    cause: Literal["write", "calendar"], day: str, opened: list[Finding], closed: list[Finding]
) -> NewEvent:
    partners = frozenset(p for f in (*opened, *closed) for p in f.partners)
    return NewEvent(
        "coverage.finding",
        {
            "cause": cause,
            "on": day,
            "opened": msgspec.to_builtins(opened),
            "closed": msgspec.to_builtins(closed),
        },
        partners,
    )


def _move(move: OwnerMove) -> dict[str, Any]:
    return {
        "region": move.region,
        "cells": move.cells,
        "example": move.example,
        "before": move.before,
        "after": move.after,
    }


def _move_partners(moves: Iterable[OwnerMove]) -> frozenset[str]:
    return frozenset(p for m in moves for p in (*m.before, *m.after))


def for_partner(event: NewEvent, partner: str) -> dict[str, Any] | None:
    """What a subscription of `partner` gets of the event: None when it does not name
    the partner; otherwise its data, with the moves and findings of other partners
    left out."""
    if partner not in event.partners:
        return None
    data = dict(event.data)
    for key in ("moves", "faceMoves"):
        if key in data:
            data[key] = [m for m in data[key] if partner in m["before"] or partner in m["after"]]
    for key in ("opened", "closed"):
        if key in data:
            data[key] = [f for f in data[key] if partner in f["partners"]]
    return data


# -- what the calendar tells -------------------------------------------------------


@dataclass(frozen=True)
class Boundary:
    """A day on which contracts start or end, or waivers expire."""

    day: dt.date
    edges: tuple[tuple[str, str], ...]  # (ref, from | until | expires), sorted

    @property
    def key(self) -> str:
        """Once per boundary: the same day with the same documents is one boundary."""
        digest = hashlib.sha256(repr(self.edges).encode()).hexdigest()[:16]
        return f"scheduled:{self.day.isoformat()}:{digest}"


def boundaries(bundle: Bundle, after: dt.date, until: dt.date) -> list[Boundary]:
    """The boundaries on days in (after, until], by day."""
    days: dict[dt.date, list[tuple[str, str]]] = {}
    for contract in bundle.contracts:
        effective = contract.spec.effective
        if effective is not None:
            for edge, day in (("from", effective.from_), ("until", effective.until)):
                if day is not None and after < day <= until:
                    days.setdefault(day, []).append((contract.ref, edge))
    for waiver in bundle.waivers:
        if after < waiver.spec.expires <= until:
            days.setdefault(waiver.spec.expires, []).append((waiver.ref, "expires"))
    return [Boundary(day, tuple(sorted(edges))) for day, edges in sorted(days.items())]


def entering(bundle: Bundle, today: dt.date) -> list[Boundary]:
    """The boundaries within the horizon of today: (today, today + horizon]."""
    return boundaries(bundle, today, horizon_end(today, bundle.policy.horizon))


def scheduled_event(bundle: Bundle, boundary: Boundary) -> NewEvent:
    """ "On 2027-03-01 these boxes move from callwave to fastnet": the boxes whose
    accountable partners differ between the day before the boundary and its day."""
    moves = day_moves(bundle, boundary.day)
    return NewEvent(
        "ownership.scheduled",
        {
            "on": boundary.day.isoformat(),
            "boundaries": [{"ref": ref, "edge": edge} for ref, edge in boundary.edges],
            "moves": [_move(m) for m in moves.accountable],
            "faceMoves": [_move(m) for m in moves.face],
        },
        _move_partners([*moves.accountable, *moves.face])
        | frozenset(_partner_of(bundle, ref) for ref, _ in boundary.edges) - {""},
    )


def _partner_of(bundle: Bundle, ref: str) -> str:
    for contract in bundle.contracts:
        if contract.ref == ref:
            return contract.spec.partner
    return ""


def day_moves(bundle: Bundle, day: dt.date) -> Moves:
    """The owner and face moves from the day before `day` to `day`, of one bundle."""
    return moves_between(bundle, day - dt.timedelta(days=1), bundle, day)


@dataclass(frozen=True)
class Moves:
    accountable: list[OwnerMove]
    face: list[OwnerMove]


def moves_between(old: Bundle, old_day: dt.date, new: Bundle, new_day: dt.date) -> Moves:
    """The boxes whose accountable partners, and those whose customer faces, differ
    between `old` on `old_day` and `new` on `new_day` (of one dimension space): both
    compiled on their day and arranged at once, as the plan arranges two versions."""
    with paused_gc:
        was, now = compile_bundle(old, [old_day]), compile_bundle(new, [new_day])
        offset = len(was.claims)
        shifted = [Atom(a.nodes, a.claim + offset, a.negative) for a in now.atoms]
        axes = [d.axis for d in new.space.dimensions]
        arrangement = arrange(axes, [*was.atoms, *shifted])
        owners: list[tuple[tuple[str, ...], tuple[str, ...]] | None] = []
        faces: list[tuple[tuple[str, ...], tuple[str, ...]] | None] = []
        for label in arrangement.labels:
            before = was.state_at(frozenset(c for c in label if c < offset), 0)
            after = now.state_at(frozenset(c - offset for c in label if c >= offset), 0)
            owned = _owners(old, before.accountable), _owners(new, after.accountable)
            faced = tuple(sorted(before.face)), tuple(sorted(after.face))
            owners.append(owned if owned[0] != owned[1] else None)
            faces.append(faced if faced[0] != faced[1] else None)
    return Moves(_boxes(new, arrangement, owners), _boxes(new, arrangement, faces))


def _boxes(
    bundle: Bundle,
    arrangement: Arrangement,
    changes: list[tuple[tuple[str, ...], tuple[str, ...]] | None],
) -> list[OwnerMove]:
    moved: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Box]] = {}
    for box, lid in arrangement.leaves:
        change = changes[lid]
        if change is not None:
            moved.setdefault(change, []).append(box)
    space = bundle.space
    return [
        OwnerMove(
            region=space.region(box),
            cells=space.box_cells(box),
            example=space.example(box),
            before=list(was),
            after=list(now),
        )
        for (was, now), boxes in sorted(moved.items())
        for box in merged([d.size for d in space.dimensions], boxes)
    ]


def _owners(bundle: Bundle, contracts: frozenset[int]) -> tuple[str, ...]:
    return tuple(sorted({bundle.contracts[c].spec.partner for c in contracts}))


def finding_changes(
    before: Sequence[Finding], after: Sequence[Finding]
) -> tuple[list[Finding], list[Finding]]:
    """The error findings opened and closed from one audit to the next."""

    def key(f: Finding) -> bytes:
        return msgspec.json.encode((f.rule, f.severity, f.partners, f.region, f.date))

    was = {key(f) for f in before if f.severity == "error"}
    now = {key(f) for f in after if f.severity == "error"}
    opened = [f for f in after if f.severity == "error" and key(f) not in was]
    closed = [f for f in before if f.severity == "error" and key(f) not in now]
    return opened, closed


# -- callback URLs -----------------------------------------------------------------


class Allow(msgspec.Struct, frozen=True):
    """The hosts REGISTRY_WEBHOOK_ALLOW names: names, addresses or networks. An allowed
    host may be called over http and may resolve to private or loopback addresses."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Allow:
        names, networks = set(), []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                names.add(item.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def host(self, host: str) -> bool:
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in n for n in self.networks)

    def address(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in n for n in self.networks)


class CallbackRefused(ValueError):
    """A callback URL the registry will not call; the message says why."""


def callback_host(url: str, allow: Allow) -> tuple[str, int]:
    """The host and port of a callback URL the rules accept (else CallbackRefused):
    https, or http to a host REGISTRY_WEBHOOK_ALLOW names; no credentials in it."""
    try:
        parts = urlsplit(url)
        hostname, username, password = parts.hostname, parts.username, parts.password
    except ValueError:  # "Invalid IPv6 URL" and the like
        raise CallbackRefused("the callback is not a URL the registry can read") from None
    if parts.scheme not in ("https", "http"):
        raise CallbackRefused(
            f"the callback must be an https URL; '{parts.scheme or url}' is not a scheme "
            "the registry calls"
        )
    host = (hostname or "").lower().rstrip(".")
    if not host:
        raise CallbackRefused("the callback URL names no host")
    if username is not None or password is not None:
        raise CallbackRefused("the callback URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CallbackRefused("the callback URL's port is not a number from 1 to 65535") from None
    if parts.scheme == "http" and not allow.host(host):
        raise CallbackRefused(
            f"the callback must use https; http is allowed only to the hosts "
            f"REGISTRY_WEBHOOK_ALLOW names, and '{host}' is not one of them"
        )
    return host, port


def address_problem(host: str, address: str, allow: Allow) -> str | None:
    """Why the registry may not call `address` (what `host` resolved to), or None. A
    private, loopback, link-local or otherwise special address is refused unless the
    host or the address is allowed (no requests into the server's own network)."""
    ip = ipaddress.ip_address(address.split("%", maxsplit=1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow.host(host) or allow.address(str(ip)):
        return None
    kinds = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    for kind, yes in kinds:
        if yes:
            return (
                f"'{host}' resolves to {ip}, a {kind} address; the registry calls only "
                "public addresses unless REGISTRY_WEBHOOK_ALLOW names the host"
            )
    return None
