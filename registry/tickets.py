"""TMF621 trouble tickets routed through an alliance.

A ticket (TM Forum Trouble Ticket API, v4 or v5, told apart by its shape) is
mapped to an owner query by the Alliance's `tickets` block, answered by the
compiled `OwnerIndex` on the ticket's creation day, and turned into a routing
decision: owner, face, handoff, consulted team and escalation as in an owner
answer, the deadlines counted from the ticket's creation time, and the ticket
itself with `relatedParty` entries naming the accountable partner, the face and
the consulted partners, in the ticket's own version's shape.

Pure: no I/O, no clock (the caller says when the ticket was received, which is
used only when the ticket has no `creationDate`).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from registry.dimensions import Dimension
from registry.errors import LocatedError, NoTicketMapping, TicketRejected
from registry.messages import choices, describe_value, json_path, suggest
from registry.model import Duration, TicketDimension
from registry.resolve import (
    Answer,
    Authority,
    ConsultedTeam,
    Face,
    Handoff,
    Level,
    Owner,
    OwnerIndex,
    Waived,
)

Version = Literal["v4", "v5"]
# relatedParty roles the registry writes; entries of these roles already on a
# ticket (from an earlier routing) are replaced, so routing twice changes nothing.
ROLES = ("accountable", "customerFace", "consulted")
# The characteristics of a ticket: TMF621 v5 names them troubleTicketCharacteristic;
# v4.0.0 defines none, and v4 systems that send them use the TMF name `characteristic`.
CHARACTERISTICS: dict[Version, str] = {"v4": "characteristic", "v5": "troubleTicketCharacteristic"}
# Top-level fields that exist in one version only.
_ONLY_IN: dict[Version, tuple[str, ...]] = {
    "v4": ("statusChange", "externalId", "characteristic"),
    "v5": (
        "statusChangeHistory",
        "externalIdentifier",
        "troubleTicketCharacteristic",
        "troubleTicketSpecification",
    ),
}
MAX_CHOICES = 100


# One reason a ticket cannot be routed: where in the ticket, and what to do.
TicketError = LocatedError


@dataclass(frozen=True, slots=True)
class _Missing(LocatedError):
    """The ticket does not say: the dimension's `default` applies, if it has one."""


def _rejected(errors: list[TicketError]) -> TicketRejected:
    n = len(errors)
    return TicketRejected(f"{n} error(s) in the ticket; it was not routed", errors)


# -- the parts of a ticket the registry reads; every other field passes through ----


class _Tmf(msgspec.Struct, kw_only=True, rename="camel"):
    """TMF resources carry many fields: unknown ones are allowed and ignored here
    (the ticket forwarded is the original, not this view of it)."""


class _Characteristic(_Tmf):
    name: str | None = None
    value: Any = None


class _PartyRef(_Tmf):
    id: str | int | None = None
    name: str | None = None


class _RelatedPartyV4(_PartyRef):
    role: str | None = None


class _RelatedPartyV5(_Tmf):
    role: str | None = None
    party_or_party_role: _PartyRef | None = None


class _RelatedEntityV4(_PartyRef):
    role: str | None = None


class _RelatedEntityV5(_Tmf):
    role: str | None = None
    entity: _PartyRef | None = None


_FIELD_TYPES: dict[Version, dict[str, Any]] = {
    "v4": {
        "creationDate": dt.datetime | None,
        "relatedParty": list[_RelatedPartyV4],
        "relatedEntity": list[_RelatedEntityV4],
        "characteristic": list[_Characteristic],
    },
    "v5": {
        "creationDate": dt.datetime | None,
        "relatedParty": list[_RelatedPartyV5],
        "relatedEntity": list[_RelatedEntityV5],
        "troubleTicketCharacteristic": list[_Characteristic],
    },
}


# -- the decision ------------------------------------------------------------------


class Deadlines(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    # The instant the clocks start, and where it came from: the ticket's
    # `creationDate`, or the time the ticket was received when it has none.
    start: str
    source: Literal["creationDate", "received"]
    acknowledge_by: str | None = None
    resolve_by: str | None = None
    respond_by: dict[str, str] = {}  # consulted partner -> by when it answers


class EscalationStep(msgspec.Struct, omit_defaults=True):
    after: str
    to: dict[str, str]
    at: str | None = None  # start + after; None only past the year 9999


class Routing(msgspec.Struct, kw_only=True, omit_defaults=True):
    alliance: str
    revision: int | None
    version: Version
    at: str
    query: dict[str, str]
    status: str
    owner: Owner | None
    candidates: list[str]
    waivers: list[Waived]
    face: Face | None
    handoff: Handoff | None
    consulted: list[ConsultedTeam]
    escalation: list[EscalationStep]
    authority: Authority
    deadlines: Deadlines
    ticket: dict[str, Any]  # the ticket as received, with the routing's relatedParty entries
    decision_id: str | None = msgspec.field(default=None, name="decisionId")


def route(ticket: Any, index: OwnerIndex, received: dt.datetime) -> Routing:
    """Route one ticket. Raises NoTicketMapping when the alliance has no `tickets`
    block, TicketRejected with every error when the ticket cannot be mapped."""
    bundle = index.bundle
    mapping = bundle.alliance.spec.tickets
    if mapping is None:
        raise NoTicketMapping(
            f"alliance '{bundle.name}' declares no ticket mapping, so its tickets cannot be "
            "routed; add spec.tickets to its Alliance document to say which ticket field "
            "names each dimension"
        )
    if not isinstance(ticket, dict):
        raise _rejected(
            [
                TicketError(
                    "$",
                    f"expected a TMF621 TroubleTicket (a JSON object), got "
                    f"{describe_value(ticket)}",
                )
            ]
        )
    version, errors = detect_version(ticket)
    wanted = {"creationDate", "relatedParty"}
    for source in mapping.dimensions.values():
        if source.characteristic is not None:
            wanted.add(CHARACTERISTICS[version])
        if source.related_entity is not None:
            wanted.add("relatedEntity")
    parts, decode_errors = _decode(ticket, version, wanted)
    errors += decode_errors
    query: dict[str, str] = {}
    for dim_name, source in mapping.dimensions.items():
        dim = bundle.space.dimensions[bundle.space.by_name[dim_name]]
        node = _node(ticket, version, parts, dim, source)
        if isinstance(node, TicketError):
            errors.append(node)
        elif node is not None:
            query[dim_name] = node
    if errors:
        raise _rejected(errors)
    created = parts.get("creationDate")
    try:
        start = _utc(created if isinstance(created, dt.datetime) else received)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC instant
        raise _rejected(
            [TicketError("$.creationDate", "out of range; write a time after year 1 in UTC")]
        ) from None
    answer = index.owner(query, start.date())
    deadlines = Deadlines(
        start=_instant(start), source="creationDate" if created is not None else "received"
    )
    if answer.handoff is not None:
        deadlines.acknowledge_by = _after(start, answer.handoff.acknowledge_within)
        deadlines.resolve_by = _after(start, answer.handoff.resolve_within)
    for team in answer.consulted:
        by = _after(start, team.respond_within)
        if by is not None:
            deadlines.respond_by[team.partner] = by
    return Routing(
        alliance=answer.alliance,
        revision=answer.revision,
        version=version,
        at=answer.at,
        query=answer.query,
        status=answer.status,
        owner=answer.owner,
        candidates=answer.candidates,
        waivers=answer.waivers,
        face=answer.face,
        handoff=answer.handoff,
        consulted=answer.consulted,
        escalation=[_step(start, level) for level in answer.escalation],
        authority=answer.authority,
        deadlines=deadlines,
        ticket=_enrich(ticket, version, index, answer),
    )


def detect_version(ticket: Mapping[str, Any]) -> tuple[Version, list[TicketError]]:
    """v4 or v5, by the fields only one of them has and by the shape of relatedParty
    and relatedEntity items; v5 when nothing tells. A ticket showing both is refused:
    the entries the registry adds must be in one shape."""
    seen: dict[Version, list[str]] = {"v4": [], "v5": []}
    for version, fields in _ONLY_IN.items():
        seen[version] += [f"$.{f}" for f in fields if f in ticket]
    for key, nested in (("relatedParty", "partyOrPartyRole"), ("relatedEntity", "entity")):
        items = ticket.get(key)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            if nested in item:
                seen["v5"].append(f"$.{key}[{i}].{nested}")
            elif "id" in item or "@referredType" in item:
                seen["v4"].append(f"$.{key}[{i}]")
    if seen["v4"] and seen["v5"]:
        return "v5", [
            TicketError(
                seen["v4"][0],
                f"a TMF621 v4 field, but {seen['v5'][0]} is v5; send the ticket in one "
                "version's shape (v4: statusChange, externalId, relatedParty items with id; "
                "v5: statusChangeHistory, externalIdentifier, relatedParty items with "
                "partyOrPartyRole)",
            )
        ]
    return ("v4" if seen["v4"] else "v5"), []


def _decode(
    ticket: Mapping[str, Any], version: Version, wanted: set[str]
) -> tuple[dict[str, Any], list[TicketError]]:
    """The fields the registry reads, typed; each field's error, if any."""
    parts: dict[str, Any] = {}
    errors: list[TicketError] = []
    for key, type_ in _FIELD_TYPES[version].items():
        if key not in wanted or key not in ticket:
            continue
        try:
            parts[key] = msgspec.convert(ticket[key], type_)
        except msgspec.ValidationError as exc:
            text, _, where = str(exc).rpartition(" - at `")
            inner = where.rstrip("`").removeprefix("$") if text else ""
            if key == "creationDate":
                text = (
                    f"{describe_value(ticket[key])} is not an RFC 3339 date-time; "
                    "write e.g. 2026-05-31T07:34:45Z"
                )
            errors.append(TicketError(f"{json_path([key])}{inner}", _plain(text or str(exc))))
    return parts, errors


_MSGSPEC_TYPES = {
    "array": "a list",
    "object": "an object",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
}


def _plain(message: str) -> str:
    """msgspec's "Expected `array`, got `object`" in the words of the other errors; a
    null that a field may also be goes unsaid (an absent field is no error here)."""

    def names(match: re.Match[str]) -> str:
        types = [t for t in match.group(1).split(" | ") if t != "null"] or ["null"]
        return " or ".join(_MSGSPEC_TYPES.get(t, t) for t in types)

    return re.sub(r"`([^`]+)`", names, message.replace("Expected", "expected", 1))


def _node(
    ticket: Mapping[str, Any],
    version: Version,
    parts: Mapping[str, Any],
    dim: Dimension,
    source: TicketDimension,
) -> str | TicketError | None:
    """The node the ticket names for one dimension, or why it names none; None when
    the field it is read from could not be decoded (that error is reported already)."""
    found = _read(ticket, version, parts, dim.name, source)
    if found is None:
        return None
    if isinstance(found, _Missing) and source.default is not None:
        return source.default
    if isinstance(found, TicketError):
        return TicketError(found.path, found.message)
    path, value = found
    if value in source.values:
        return source.values[value]
    if value in dim.nodes:
        return value
    return TicketError(path, _unknown_value(dim, value, source))


def _read(
    ticket: Mapping[str, Any],
    version: Version,
    parts: Mapping[str, Any],
    dim_name: str,
    source: TicketDimension,
) -> tuple[str, str] | TicketError | None:
    """(JSON path, value) of what the ticket says for a dimension, or why it does not;
    None when the field it is in failed to decode (that error is reported already)."""
    if source.field_ is not None:
        return _read_field(ticket, source.field_, dim_name)
    if source.characteristic is not None:
        key = CHARACTERISTICS[version]
        if key in ticket and key not in parts:
            return None
        for i, item in enumerate(parts.get(key, [])):
            if item.name == source.characteristic:
                return _text(f"$.{key}[{i}].value", item.value, dim_name)
        return _Missing(
            f"$.{key}",
            f"no characteristic named '{source.characteristic}'; the alliance maps "
            f"{dim_name} from it",
        )
    role = source.related_entity
    if "relatedEntity" in ticket and "relatedEntity" not in parts:
        return None
    for i, item in enumerate(parts.get("relatedEntity", [])):
        if item.role != role:
            continue
        if isinstance(item, _RelatedEntityV5):
            name = item.entity.name if item.entity is not None else None
            return _text(f"$.relatedEntity[{i}].entity.name", name, dim_name)
        return _text(f"$.relatedEntity[{i}].name", item.name, dim_name)
    return _Missing(
        "$.relatedEntity",
        f"no related entity with role '{role}'; the alliance maps {dim_name} from its name",
    )


def _read_field(
    ticket: Mapping[str, Any], dotted: str, dim_name: str
) -> tuple[str, str] | TicketError:
    keys = dotted.split(".")
    value: Any = ticket
    for depth, key in enumerate(keys):
        if not isinstance(value, dict):
            return TicketError(
                json_path(keys[:depth]),
                f"expected an object holding '{key}', got {describe_value(value)}; "
                f"the alliance maps {dim_name} from {dotted}",
            )
        if key not in value or value[key] is None:
            return _Missing(
                json_path(keys[: depth + 1]),
                f"missing; the alliance maps {dim_name} from {dotted}",
            )
        value = value[key]
    return _text(json_path(keys), value, dim_name)


def _text(path: str, value: Any, dim_name: str) -> tuple[str, str] | TicketError:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return _Missing(path, f"missing; the alliance maps {dim_name} from it")
    if not isinstance(value, str):
        return TicketError(
            path,
            f"expected a string, got {describe_value(value)}; the alliance maps {dim_name} from it",
        )
    return path, value


def _unknown_value(dim: Dimension, value: str, source: TicketDimension) -> str:
    nodes = list(dim.axis.ids)[1:]  # tree order; id 0 is the whole dimension
    mapped = list(source.values)
    hint = suggest(value, [*mapped, *nodes])
    listing = f"a {dim.name} node: {choices(nodes, MAX_CHOICES)}"
    if mapped:
        listing = (
            f"{choices([repr(v) for v in mapped], MAX_CHOICES)} (mapped by the alliance) "
            f"or {listing}"
        )
    return f"unknown {dim.name} '{value}'{hint}; the valid choices are {listing}"


def _enrich(
    ticket: Mapping[str, Any],
    version: Version,
    index: OwnerIndex,
    answer: Answer,
) -> dict[str, Any]:
    """The ticket with every field it had, its relatedParty entries of the
    registry's roles replaced by the routing's."""
    out = copy.deepcopy(dict(ticket))
    partners = index.bundle.partners
    added = []
    if answer.owner is not None:
        added.append(("accountable", answer.owner.partner))
    if answer.face is not None:
        added.append(("customerFace", answer.face.partner))
    added += [("consulted", team.partner) for team in answer.consulted]
    kept = [
        p
        for p in out.get("relatedParty") or []
        if not (isinstance(p, dict) and p.get("role") in ROLES)
    ]
    for role, name in added:
        partner = partners.get(name)
        legal = partner.spec.legal_name if partner is not None else name
        if version == "v5":
            kept.append(
                {
                    "role": role,
                    "partyOrPartyRole": {
                        "id": name,
                        "name": legal,
                        "@type": "PartyRef",
                        "@referredType": "Organization",
                    },
                    "@type": "RelatedPartyRefOrPartyRoleRef",
                }
            )
        else:
            kept.append({"id": name, "name": legal, "role": role, "@referredType": "Organization"})
    out["relatedParty"] = kept
    return out


def _step(start: dt.datetime, level: Level) -> EscalationStep:
    return EscalationStep(level.after, level.to, _after(start, level.after))


def _after(start: dt.datetime, duration: str | None) -> str | None:
    if duration is None:
        return None
    try:
        return _instant(start + Duration.parse(duration))
    except OverflowError:
        return None


def _utc(moment: dt.datetime) -> dt.datetime:
    """A time without an offset is read as UTC, as dates are."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _instant(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a Z, to the millisecond when the time has them."""
    moment = _utc(moment)
    if moment.microsecond == 0:
        spec = "seconds"
    elif moment.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def to_builtins(routing: Routing) -> Any:
    return msgspec.to_builtins(routing)


def text(routing: Routing) -> str:
    """The decision for a person: what `registry route --format text` prints."""
    ticket_id = routing.ticket.get("id")
    asked = ", ".join(f"{k}={v}" for k, v in routing.query.items()) or "every cell"
    if routing.owner is not None:
        head = f"owned by {routing.owner.partner} (contract {routing.owner.contract})"
    else:
        head = f"{routing.status}; candidates: {', '.join(routing.candidates) or 'none'}"
    name = f"ticket {ticket_id}" if ticket_id is not None else "ticket"
    lines = [
        f"{routing.alliance}: {name} (TMF621 {routing.version}) {asked} on {routing.at}: {head}",
        f"  face: {routing.face.partner if routing.face else 'none'}",
    ]
    d = routing.deadlines
    if routing.handoff is not None:
        h = routing.handoff
        lines.append(
            f"  handoff: {h.endpoint.name} ({h.endpoint.type} {h.endpoint.address}), mode {h.mode}"
        )
        if h.requires:
            lines.append(f"  requires: {', '.join(h.requires)}")
    lines.append(f"  clock starts {d.start} ({d.source})")
    for label, value in (("acknowledge by", d.acknowledge_by), ("resolve by", d.resolve_by)):
        if value is not None:
            lines.append(f"  {label} {value}")
    for team in routing.consulted:
        by = d.respond_by.get(team.partner)
        lines.append(f"  consulted: {team.partner}" + (f", respond by {by}" if by else ""))
    for step in routing.escalation:
        who = " ".join(f"{k} {v}" for k, v in step.to.items())
        when = f" ({step.at})" if step.at else ""
        lines.append(f"  escalate after {step.after}{when}: {who}")
    parties = [
        f"{p.get('role')} {_party_id(p)}"
        for p in routing.ticket.get("relatedParty", [])
        if isinstance(p, dict) and p.get("role") in ROLES
    ]
    lines.append(f"  relatedParty added: {', '.join(parties) or 'none'}")
    return "\n".join(lines)


def _party_id(entry: Mapping[str, Any]) -> Any:
    nested = entry.get("partyOrPartyRole")
    return nested.get("id") if isinstance(nested, dict) else entry.get("id")
