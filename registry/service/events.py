"""Event subscriptions and the calendar: who gets which events, and the events no
write makes (a boundary entering the horizon, a waiver expiring).

A subscription is checked when it is made: its callback URL against the rules of
`registry.events` (https, or hosts REGISTRY_WEBHOOK_ALLOW names; never a private,
loopback or link-local address unless allowed, its name resolved now and again at
every delivery) and its event types. Its signing secret is returned once.

The calendar runs in every serving process, but only the one holding the
`calendar` lease row sweeps: for every alliance, the boundaries within the horizon
of today not announced yet (`ownership.scheduled`), and for the days since the last
sweep on which a contract or waiver boundary fell, the error findings opened and
closed (`coverage.finding`). Each is written with its calendar mark in one
transaction, so a boundary is announced once however many processes run.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from registry.access import Principal
from registry.errors import InvalidSubscription, LocatedError, NotFound
from registry.events import (
    EVENT_TYPES,
    Allow,
    CallbackRefused,
    NewEvent,
    address_problem,
    boundaries,
    callback_host,
    entering,
    finding_changes,
    findings_event,
    for_partner,
    scheduled_event,
)
from registry.service.live import Live
from registry.store import Store
from registry.store.outbox import new_id, now_text
from registry.store.tables import AttemptRow, DeliveryRow, SubscriptionRow

log = logging.getLogger("registry.events")

MAX_CALLBACK = 2048
DAY = "day"  # the calendar mark holding the last day whose findings were compared


def route(event: NewEvent, subscription: SubscriptionRow) -> dict[str, Any] | None:
    """What a subscription gets of an event: all of it, or a partner's part."""
    if subscription.partner is None:
        return event.data
    return for_partner(event, subscription.partner)


class Subscription(msgspec.Struct, kw_only=True, rename="camel"):
    id: str
    alliance: str
    callback: str
    events: list[str]
    partner: str | None
    status: str
    failing_since: str | None
    created: str
    created_by: str


class NewSubscription(Subscription, kw_only=True):
    secret: str  # shown this once


class AttemptView(msgspec.Struct, kw_only=True, rename="camel"):
    at: str
    status: int | None
    error: str | None
    duration_ms: int


class Delivery(msgspec.Struct, kw_only=True, rename="camel"):
    id: str  # the webhook-id
    event: str
    type: str
    status: str
    attempts: list[AttemptView]
    delivered: str | None


def subscription_view(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        alliance=row.alliance,
        callback=row.callback,
        events=msgspec.json.decode(row.events),
        partner=row.partner,
        status=row.status,
        failing_since=row.failing_since,
        created=row.created,
        created_by=row.created_by,
    )


def delivery_view(row: DeliveryRow, kind: str, event: str, attempts: list[AttemptRow]) -> Delivery:
    return Delivery(
        id=row.id,
        event=event,
        type=kind,
        status=row.status,
        attempts=[
            AttemptView(at=a.at, status=a.status, error=a.error, duration_ms=a.duration_ms)
            for a in attempts
        ],
        delivered=row.delivered,
    )


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (an address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_callback(url: object, allow: Allow) -> str:
    """The callback URL, once the rules accept it and its host resolves only to
    addresses the registry may call; else InvalidSubscription at $.callback."""

    def refuse(message: str) -> InvalidSubscription:
        return InvalidSubscription(
            "the subscription was not made", [LocatedError("$.callback", message)]
        )

    if not isinstance(url, str) or not url:
        raise refuse("the callback must be a URL (a string), e.g. https://example.com/hooks")
    if len(url) > MAX_CALLBACK:
        raise refuse(f"the callback URL is over {MAX_CALLBACK} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise refuse("the callback URL may not hold control characters (escape them: %00)")
    try:
        host, port = callback_host(url, allow)
    except CallbackRefused as exc:
        raise refuse(str(exc)) from None
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise refuse(f"'{host}' does not resolve to an address") from None
    for address in addresses:
        problem = address_problem(host, address, allow)
        if problem is not None:
            raise refuse(problem)
    return url


def check_events(events: object) -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidSubscription(
            "the subscription was not made",
            [
                LocatedError(
                    "$.events",
                    f"name the event types to receive, a list of one or more of "
                    f"{', '.join(EVENT_TYPES)}",
                )
            ],
        )
    errors = []
    for i, kind in enumerate(events):
        if kind not in EVENT_TYPES:
            errors.append(
                LocatedError(
                    f"$.events[{i}]",
                    f"no event type {msgspec.json.encode(kind).decode()}; the types are "
                    f"{', '.join(EVENT_TYPES)}",
                )
            )
    if errors:
        raise InvalidSubscription("the subscription was not made", errors)
    return list(dict.fromkeys(str(e) for e in events))


def new_secret() -> str:
    """A Standard Webhooks signing secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Subscriptions:
    def __init__(self, store: Store, allow: Allow) -> None:
        self._outbox = store.outbox
        self.allow = allow

    def subscribe(self, principal: Principal, alliance: str, body: object) -> NewSubscription:
        if not isinstance(body, dict):
            raise InvalidSubscription(
                "the subscription was not made",
                [LocatedError("$", 'send a JSON object: {"callback": URL, "events": [TYPE, ...]}')],
            )
        unknown = sorted(set(body) - {"callback", "events"})
        if unknown:
            raise InvalidSubscription(
                "the subscription was not made",
                [
                    LocatedError(f"$.{k}", "unknown field; the fields are callback and events")
                    for k in unknown
                ],
            )
        events = check_events(body.get("events"))
        callback = check_callback(body.get("callback"), self.allow)
        row = SubscriptionRow(
            id=new_id("sub"),
            alliance=alliance,
            partner=principal.partner if principal.role == "partner" else None,
            callback=callback,
            events=msgspec.json.encode(events).decode(),
            secret=new_secret(),
            created=now_text(),
            created_by=principal.actor,
        )
        self._outbox.subscribe(row)
        view = subscription_view(row)
        return NewSubscription(**msgspec.structs.asdict(view), secret=row.secret)

    def listed(self, principal: Principal, alliance: str) -> list[Subscription]:
        partner = principal.partner if principal.role == "partner" else None
        return [subscription_view(r) for r in self._outbox.subscriptions(alliance, partner)]

    def row(self, principal: Principal, alliance: str, subscription: str) -> SubscriptionRow:
        """The subscription, if the token may see it: a partner sees its own only."""
        row = self._outbox.subscription(alliance, subscription)
        if row is None or (principal.role == "partner" and row.partner != principal.partner):
            raise NotFound(f"no subscription '{subscription}' in alliance '{alliance}'")
        return row

    def get(self, principal: Principal, alliance: str, subscription: str) -> Subscription:
        return subscription_view(self.row(principal, alliance, subscription))

    def delete(self, principal: Principal, alliance: str, subscription: str) -> None:
        self.row(principal, alliance, subscription)
        self._outbox.unsubscribe(subscription)

    def deliveries(
        self, principal: Principal, alliance: str, subscription: str, limit: int
    ) -> list[Delivery]:
        self.row(principal, alliance, subscription)
        return [delivery_view(*found) for found in self._outbox.deliveries(subscription, limit)]

    def redeliver(
        self, principal: Principal, alliance: str, subscription: str, delivery: str
    ) -> Delivery:
        self.row(principal, alliance, subscription)
        if self._outbox.redeliver(subscription, delivery) is None:
            raise NotFound(f"no delivery '{delivery}' of subscription '{subscription}'")
        for found in self._outbox.deliveries(subscription, 1, delivery):
            return delivery_view(*found)
        raise NotFound(f"no delivery '{delivery}' of subscription '{subscription}'")


@dataclass
class Calendar:
    """The sweep the `calendar` lease holder runs (see the module's docstring)."""

    store: Store
    live: Live

    def sweep(self, today: dt.date) -> int:
        """Emit what is due on `today` for every alliance; the events written."""
        self.live.refresh()
        written = 0
        # Only alliances someone listens to: nothing to say to the others, no compile.
        for alliance in sorted(self.store.outbox.subscribed() & set(self.live.revisions)):
            try:
                written += self._alliance(alliance, today)
            except NotFound:  # deleted meanwhile
                continue
        return written

    def _alliance(self, alliance: str, today: dt.date) -> int:
        outbox = self.store.outbox
        view = self.live.view(alliance)
        marks = outbox.marks(alliance)
        written = 0
        for boundary in entering(view.bundle, today):
            if boundary.key in marks:
                continue
            event = scheduled_event(view.bundle, boundary)
            written += (
                outbox.emit(
                    alliance,
                    revision=view.revision,
                    key=boundary.key,
                    value=today.isoformat(),
                    events=[event],
                    route=route,
                )
                or 0
            )
        last = marks.get(DAY)
        since = dt.date.fromisoformat(last) if last else today - dt.timedelta(days=1)
        if since >= today:
            return written
        events = self._findings(view, since, today)
        written += (
            outbox.emit(
                alliance,
                revision=view.revision,
                key=DAY,
                value=today.isoformat(),
                events=events,
                route=route,
                replace=True,
            )
            or 0
        )
        return written

    @staticmethod
    def _findings(view: Any, since: dt.date, today: dt.date) -> Sequence[NewEvent]:
        """coverage.finding for each boundary day in (since, today] that opened or closed
        error findings (an expiring waiver, a contract ending)."""
        events = []
        for boundary in boundaries(view.bundle, since, today):
            before = view.audit(boundary.day - dt.timedelta(days=1)).findings
            after = view.audit(boundary.day).findings
            opened, closed = finding_changes(before, after)
            if opened or closed:
                events.append(findings_event("calendar", boundary.day.isoformat(), opened, closed))
        return events
