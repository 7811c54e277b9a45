"""Owner resolution: who owns a complaint, and how the face hands it over.

An `OwnerIndex` is compiled once per alliance revision: the engine's arrangement
of every claim, with time cut at every contract day and waiver expiry. A full-cell
query walks the split tree (a dictionary step per split) to its region and copies
the answer cached for that region and time segment, the live waivers covering it
included; a query naming inner nodes or leaving dimensions out collects the
distinct regions inside its box.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec.structs import replace

from registry.bundle import Bundle
from registry.claims import State, all_time_cuts, compile_bundle
from registry.dimensions import Box
from registry.engine import paused_gc
from registry.errors import InvalidQuery, LocatedError
from registry.messages import unknown
from registry.model import Duration

# What every refusal of a query says; each error names the parameter as `$.<dimension>`.
QUERY_REFUSED = "the query names what the alliance does not have"


class Owner(msgspec.Struct):
    partner: str
    contract: str


class Face(msgspec.Struct):
    partner: str


class Endpoint(msgspec.Struct):
    name: str
    type: str
    address: str


class Handoff(msgspec.Struct, rename="camel", omit_defaults=True):
    endpoint: Endpoint
    mode: str
    acknowledge_within: str | None = None
    resolve_within: str | None = None
    requires: list[str] = []


class ConsultedTeam(msgspec.Struct, rename="camel", omit_defaults=True):
    partner: str
    respond_within: str | None = None


class Authority(msgspec.Struct, omit_defaults=True):
    name: str
    email: str | None = None


class Level(msgspec.Struct):
    after: str
    to: dict[str, str]


class Waived(msgspec.Struct, rename="camel"):
    """A live waiver covering some of a query's cells: an intended gap or overlap."""

    name: str
    rule: str
    expires: str
    approved_by: str


class Answer(msgspec.Struct, kw_only=True, omit_defaults=True):
    alliance: str
    at: str
    revision: int | None
    query: dict[str, str]
    status: str
    owner: Owner | None
    candidates: list[str]
    waivers: list[Waived]  # live on `at`, covering some of the query's cells; by name
    face: Face | None
    handoff: Handoff | None
    consulted: list[ConsultedTeam]
    escalation: list[Level]
    authority: Authority
    # The decision log's id of this answer (none when the server records no decisions).
    decision_id: str | None = msgspec.field(default=None, name="decisionId")


class _Details(msgspec.Struct):
    """The part of an answer fixed by one state on one time segment: cached per both."""

    partners: frozenset[str]
    owner: Owner | None
    face: Face | None
    handoff: Handoff | None
    consulted: list[ConsultedTeam]
    escalation: list[Level]
    waivers: list[Waived]


# status, owner, candidates, waivers, face, handoff, consulted, escalation
_Verdict = tuple[
    str,
    Owner | None,
    list[str],
    list[Waived],
    Face | None,
    Handoff | None,
    list[ConsultedTeam],
    list[Level],
]


class OwnerIndex:
    def __init__(self, bundle: Bundle, revision: int | None = None) -> None:
        self.bundle = bundle
        self.revision = revision
        with paused_gc:
            # No scope claims: no answer (nor the coverage matrix) reads them.
            self.compiled = compile_bundle(bundle, all_time_cuts(bundle), scope=False)
            self.arrangement = self.compiled.arrange()
        self._details: dict[tuple[int, int], _Details] = {}
        # Per segment and region: the answer but for `at` and `query`, which a
        # query's copy fills in.
        self._answers: list[dict[int, Answer]] = [{} for _ in self.compiled.cuts]
        self._days: dict[dt.date, tuple[int, str, dict[int, Answer]]] = {}
        self._leaf_index = [
            {leaf: i for i, leaf in enumerate(d.leaves)} for d in bundle.space.dimensions
        ]
        # Per dimension: its name, and each leaf's path of nodes for the split tree.
        self._leaf_paths = [
            (d.name, {leaf: d.axis.leaf_path[i] for i, leaf in enumerate(d.leaves)})
            for d in bundle.space.dimensions
        ]
        self._splits = self.arrangement.splits()
        name = bundle.alliance.spec.authority
        self.authority = Authority(name, bundle.authority_email(name))
        self._waived = [
            Waived(w.name, w.spec.rule, w.spec.expires.isoformat(), w.spec.approved_by)
            for w in bundle.waivers
        ]

    def owner(self, query: Mapping[str, str], at: dt.date) -> Answer:
        day = self._days.get(at)
        if day is None:  # complaints come in on few distinct days: remember them
            segment = self.compiled.segment(at)
            day = self._days[at] = (segment, at.isoformat(), self._answers[segment])
        segment, at_text, answers = day
        if len(query) == len(self._leaf_paths):
            try:
                paths = [by_leaf[query[dim]] for dim, by_leaf in self._leaf_paths]
            except KeyError:
                pass  # an inner node or a typo: the general path below
            else:  # a full cell: the hot path of a complaint system
                ref, splits = self.arrangement.root, self._splits
                while ref >= 0:
                    d, depth, branch = splits[ref]
                    ref = branch[paths[d][depth]]
                found = answers.get(~ref)
                if found is None:
                    return self._answer(query, at_text, segment, [~ref], ~ref)
                return replace(found, at=at_text, query=dict(query))
        point = self._point(query)
        if point is not None:
            label = self.arrangement.label(point)
            return self._answer(query, at_text, segment, [label], label)
        box = self._box(query)
        labels = sorted(self.arrangement.labels_in(box))
        # Details (contract, handoff) come from the query's first cell.
        first = self.arrangement.label([span[0][0] for span in box])
        return self._answer(query, at_text, segment, labels, first)

    def _point(self, query: Mapping[str, str]) -> tuple[int, ...] | None:
        if len(query) != len(self._leaf_index):
            self._check(query)
            return None
        point = []
        for dim, index in zip(self.bundle.space.dimensions, self._leaf_index, strict=True):
            leaf = index.get(query.get(dim.name, ""))
            if leaf is None:
                self._check(query)
                return None
            point.append(leaf)
        return tuple(point)

    def _check(self, query: Mapping[str, str]) -> None:
        space = self.bundle.space
        errors = []
        for dim_name, node in query.items():
            if dim_name not in space.by_name:
                errors.append(
                    LocatedError(f"$.{dim_name}", unknown("dimension", dim_name, space.names))
                )
                continue
            dim = space.dimensions[space.by_name[dim_name]]
            if node not in dim.nodes:
                message = unknown(dim_name, node, list(dim.axis.ids)[1:])
                errors.append(LocatedError(f"$.{dim_name}", message))
        if errors:
            raise InvalidQuery(QUERY_REFUSED, errors)

    def _box(self, query: Mapping[str, str]) -> Box:
        return self.bundle.space.box({dim: [node] for dim, node in query.items()})

    def _answer(
        self, query: Mapping[str, str], at_text: str, segment: int, labels: list[int], first: int
    ) -> Answer:
        if len(labels) == 1:  # one region: its answer is cached
            found = self._answers[segment].get(first)
            if found is None:
                verdict = self._verdict(labels, first, segment)
                found = self._answers[segment][first] = self._new_answer({}, "", verdict)
            return replace(found, at=at_text, query=dict(query))
        return self._new_answer(query, at_text, self._verdict(labels, first, segment))

    def _new_answer(self, query: Mapping[str, str], at_text: str, verdict: _Verdict) -> Answer:
        status, owner, candidates, waivers, face, handoff, consulted, escalation = verdict
        return Answer(
            alliance=self.bundle.name,
            at=at_text,
            revision=self.revision,
            query=dict(query),
            status=status,
            owner=owner,
            candidates=candidates,
            waivers=waivers,
            face=face,
            handoff=handoff,
            consulted=consulted,
            escalation=escalation,
            authority=self.authority,
        )

    def _verdict(self, labels: list[int], first: int, segment: int) -> _Verdict:
        details = [self._detail(label, segment) for label in labels]
        sets = {detail.partners for detail in details}
        head = self._detail(first, segment)
        waivers = head.waivers
        if len(details) > 1:
            named = {w.name: w for detail in details for w in detail.waivers}
            waivers = [named[name] for name in sorted(named)]
        if len(sets) == 1 and len(head.partners) == 1:
            return ("owned", head.owner, [], waivers, head.face, head.handoff, head.consulted,
                    head.escalation)  # fmt: skip
        if sets == {frozenset()}:
            status = "unowned"
        elif len(sets) == 1:
            status = "conflict"
        else:
            status = "ambiguous"
        candidates = sorted(set().union(*sets))
        return (status, None, candidates, waivers, head.face, None, [], [self._authority_level()])

    def _authority_level(self) -> Level:
        return Level("PT0S", _authority_target(self.authority))

    def _detail(self, label: int, segment: int) -> _Details:
        found = self._details.get((label, segment))
        if found is None:
            state = self.compiled.state_at(self.arrangement.labels[label], segment)
            found = self._details[label, segment] = self._compute(state, segment)
        return found

    def _compute(self, state: State, segment: int) -> _Details:
        bundle, claims = self.bundle, self.compiled.claims
        contracts = sorted((bundle.contracts[k] for k in state.accountable), key=lambda c: c.name)
        partners = frozenset(c.spec.partner for c in contracts)
        face = Face(min(state.face)) if len(state.face) == 1 else None
        # Expiry days cut the time axis: a waiver live on a segment's first day is live
        # all through it.
        start = self.compiled.cuts[segment]
        waivers = sorted(
            (self._waived[w] for w in state.waivers if start < bundle.waivers[w].spec.expires),
            key=lambda w: w.name,
        )
        if len(partners) != 1:
            return _Details(partners, None, face, None, [], [], waivers)
        contract = contracts[0]
        partner = bundle.partners[contract.spec.partner]
        handoff = None
        entries = sorted((claims[c].contract, claims[c].entry) for c in state.handoffs)
        if entries:
            k, i = entries[0]
            spec = bundle.contracts[k].spec.handoffs[i]
            endpoint = next(e for e in partner.spec.endpoints if e.name == spec.endpoint)
            handoff = Handoff(
                Endpoint(endpoint.name, endpoint.type, endpoint.address),
                spec.mode,
                _iso(spec.acknowledge_within),
                _iso(spec.resolve_within),
                list(spec.requires),
            )
        consulted: dict[str, ConsultedTeam] = {}
        for c in sorted(state.consults, key=lambda c: (claims[c].contract, claims[c].entry)):
            entry = bundle.contracts[claims[c].contract].spec.consulted[claims[c].entry]
            consulted.setdefault(
                entry.partner, ConsultedTeam(entry.partner, _iso(entry.respond_within))
            )
        levels = []
        contacts = {c.name: c for c in partner.spec.contacts}
        for level in bundle.escalation(contract):
            if level.to.startswith("authority:"):
                name = level.to.removeprefix("authority:")
                target = _authority_target(Authority(name, bundle.authority_email(name)))
            else:
                contact = contacts.get(level.to)
                target = {
                    "contact": level.to,
                    **({"email": contact.email} if contact and contact.email else {}),
                }
            levels.append(Level(Duration.of(level.after).iso(), target))
        return _Details(
            partners,
            Owner(partner.name, contract.name),
            face,
            handoff,
            list(consulted.values()),
            levels,
            waivers,
        )


def _authority_target(authority: Authority) -> dict[str, str]:
    return {"authority": authority.name, **({"email": authority.email} if authority.email else {})}


def _iso(value: dt.timedelta | None) -> str | None:
    return None if value is None else Duration.of(value).iso()


def to_builtins(answer: Answer) -> Any:
    return msgspec.to_builtins(answer)
