"""Cross-document checks: documents grouped into alliances, names unique, every
reference (partner, dimension, node, endpoint, contact, chain, authority, rule)
resolved, with a "did you mean" for every miss."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from registry.bundle import Bundle, Origin, Policy
from registry.dimensions import Dimension, Space, build
from registry.messages import choices, suggest, unknown
from registry.model import (
    KINDS,
    Alliance,
    AnyDocument,
    Claim,
    Contract,
    EscalationLevel,
    Expectation,
    Partner,
    PolicySet,
    TicketMapping,
    Waiver,
)
from registry.rules import CELL_RULES, RULES
from registry.yamlnodes import Parsed

Path = tuple[str | int, ...]


class Place(Protocol):
    """Where an error points: a document of a file."""

    @property
    def file(self) -> str: ...

    @property
    def parsed(self) -> Parsed: ...


@dataclass(frozen=True)
class Located:
    document: AnyDocument
    file: str
    parsed: Parsed


@dataclass(frozen=True)
class Spot:
    file: str
    parsed: Parsed


Report = Callable[[Place, Path, str], None]


@dataclass(frozen=True)
class Unchecked:
    """A document that failed its own checks, known only by what its envelope says,
    or a file that could not be read (`unread`), which may have held any document.

    References to it are not reported as unknown (the document's own errors, or the
    file's, say what is wrong), and the alliance it belongs to gets no bundle. What
    of the document still makes one once the values its errors point at are left
    out (`salvaged`) goes through the reference checks that can run on it, as does
    its envelope's `metadata.alliance`, so one load reports its other mistakes too."""

    kind: str | None
    alliance: str | None
    name: str | None
    anything: bool = False
    where: Spot | None = field(default=None, compare=False)
    salvaged: AnyDocument | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls, data: Any, where: Spot | None = None, salvaged: AnyDocument | None = None
    ) -> Unchecked:
        envelope = data if isinstance(data, dict) else {}
        metadata = envelope.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}

        def text(value: Any) -> str | None:
            return value if isinstance(value, str) else None

        return cls(
            text(envelope.get("kind")),
            text(metadata.get("alliance")),
            text(metadata.get("name")),
            where=where,
            salvaged=salvaged,
        )

    @classmethod
    def unread(cls) -> Unchecked:
        """A file that could not be read (not UTF-8, a syntax error, too large)."""
        return cls(None, None, None, anything=True)

    def may_be(self, kind: str, name: str, alliance: str | None = None) -> bool:
        """Could this be the document a reference names? A kind or an alliance that
        could not be read might be anything; so might any document of an unread file."""
        return self.anything or (
            self.name == name
            and (self.kind == kind or self.kind not in KINDS)
            and (alliance is None or self.alliance in (alliance, None))
        )

    @property
    def salvage(self) -> Located | None:
        """The salvaged document where it stands, for the reference checks."""
        if self.salvaged is None or self.where is None:
            return None
        return Located(self.salvaged, self.where.file, self.where.parsed)

    @property
    def belongs_to(self) -> str | None:
        """The alliance this document is part of, None when that cannot be read."""
        return self.name if self.kind == "Alliance" else self.alliance

    @property
    def is_global(self) -> bool:
        """A PolicySet of every alliance: one that names it notices it is missing."""
        return self.kind == "PolicySet" and self.alliance is None


def assemble(
    items: Sequence[Located],
    report: Report,
    unchecked: Iterable[Unchecked] = (),
    *,
    trusted: bool = False,
    earlier: Mapping[str, Bundle] | None = None,
) -> list[Bundle]:
    """Group documents into bundles, checking every reference between them.

    `unchecked` are the documents that failed their own checks: see `Unchecked`.
    `trusted`: documents checked whole before (as the write path stored them); the
    references inside each alliance are not checked again, and nothing else changes;
    an alliance whose Alliance document is the very one of its `earlier` bundle (kept
    from a revision before) takes that bundle's dimension trees as they are."""
    unchecked = list(unchecked)
    alliances: dict[str, Located] = {}
    members: dict[str, list[Located]] = {}
    global_policies: dict[str, Located] = {}
    seen: dict[tuple[str, str | None, str], Located] = {}
    duplicated: set[str | None] = set()
    for item in items:
        doc = item.document
        key = (doc.kind, doc.metadata.alliance, doc.metadata.name)
        if key in seen:
            first = seen[key]
            scope = f" in alliance '{doc.metadata.alliance}'" if doc.metadata.alliance else ""
            line, column = first.parsed.locate(())
            report(
                item,
                ("metadata", "name"),
                f"duplicate {doc.kind} '{doc.name}'{scope} "
                f"(first in {first.file}:{line}:{column}); rename one of them",
            )
            duplicated.add(doc.name if isinstance(doc, Alliance) else doc.metadata.alliance)
            continue
        seen[key] = item
        if isinstance(doc, Alliance):
            alliances[doc.name] = item
        elif doc.metadata.alliance is None and isinstance(doc, PolicySet):
            global_policies[doc.name] = item
        else:
            members.setdefault(str(doc.metadata.alliance), []).append(item)

    def unknown_alliance(alliance: str) -> str | None:
        if alliance in alliances or any(u.may_be("Alliance", alliance) for u in unchecked):
            return None
        return _unknown_alliance(alliance, sorted(alliances))

    for alliance, group in members.items():
        message = unknown_alliance(alliance)
        if message is None:
            continue
        for item in group:
            report(item, ("metadata", "alliance"), message)
    for u in unchecked:
        # A document failing its own checks still says which alliance it is for.
        if u.where and u.alliance and u.kind in KINDS and u.kind != "Alliance":
            message = unknown_alliance(u.alliance)
            if message:
                report(u.where, ("metadata", "alliance"), message)
    for policy in global_policies.values():
        _check_policy(policy, report)
    for u in unchecked:
        salvaged = u.salvage
        if salvaged and isinstance(salvaged.document, PolicySet) and u.alliance is None:
            _check_policy(salvaged, report)
    bundles = []
    # A failed document spoils its alliance; one whose alliance is unreadable, all of them.
    spoiled = {u.belongs_to for u in unchecked if not u.is_global} | duplicated
    for name in sorted(alliances):
        bundle = _bundle(
            alliances[name],
            members.get(name, []),
            global_policies,
            report,
            everything=items,
            unchecked=unchecked,
            trusted=trusted,
            earlier=(earlier or {}).get(name),
        )
        if bundle is not None and name not in spoiled and None not in spoiled:
            bundles.append(bundle)
    return bundles


def _unknown_alliance(name: str, known: list[str]) -> str:
    hint = suggest(name, known)
    if hint:
        return f"unknown alliance '{name}'{hint}"
    loaded = f" (loaded: {choices(known)})" if known else ""
    return (
        f"unknown alliance '{name}': no Alliance document of that name was loaded{loaded}; "
        "load its Alliance document too, or fix the name"
    )


def _bundle(
    alliance_item: Located,
    group: list[Located],
    global_policies: Mapping[str, Located],
    report: Report,
    *,
    everything: Sequence[Located],
    unchecked: Sequence[Unchecked],
    trusted: bool = False,
    earlier: Bundle | None = None,
) -> Bundle | None:
    alliance = alliance_item.document
    assert isinstance(alliance, Alliance)
    if trusted and earlier is not None and earlier.alliance is alliance:
        space: Space | None = earlier.space
    else:
        space = _space(alliance_item, report)
    partners = {i.document.name: i for i in group if isinstance(i.document, Partner)}
    local_policies = {i.document.name: i for i in group if isinstance(i.document, PolicySet)}
    check = _Checker(
        alliance_item, space, partners, report, everything=everything, unchecked=unchecked
    )
    # Documents failing their own checks are checked on what of them was salvaged,
    # as sources of references only: the values left out are the schema errors'.
    salvaged = [
        item
        for item in (u.salvage for u in unchecked if u.alliance == alliance.name)
        if item is not None
    ]
    if not trusted:
        check.alliance()
    for item in [] if trusted else [*group, *salvaged]:
        if isinstance(item.document, Partner):
            check.partner(item)
        elif isinstance(item.document, Contract):
            check.contract(item)
        elif isinstance(item.document, Waiver):
            check.waiver(item)
        elif isinstance(item.document, Expectation):
            check.expectation(item)
        elif isinstance(item.document, PolicySet):
            _check_policy(item, report)
    policy_name = alliance.spec.policy
    policy_item = local_policies.get(policy_name) or global_policies.get(policy_name)
    if policy_item is None and policy_name != "default":
        # Without its PolicySet the alliance would be audited under the wrong rules.
        if not any(u.may_be("PolicySet", policy_name, alliance.name) for u in unchecked):
            known = sorted({*local_policies, *global_policies, "default"})
            hint = suggest(policy_name, known)
            report(
                alliance_item,
                ("spec", "policy"),
                f"unknown PolicySet '{policy_name}'{hint}"
                if hint
                else f"unknown PolicySet '{policy_name}' (loaded: {choices(known)}); "
                "load the PolicySet's file too, or fix the name",
            )
        return None
    if space is None or check.failed:
        return None
    policy_doc = policy_item.document if policy_item else None
    assert policy_doc is None or isinstance(policy_doc, PolicySet)
    used = [alliance_item, *group] + ([policy_item] if policy_item else [])
    return Bundle(
        alliance=alliance,
        space=space,
        partners={
            n: i.document for n, i in sorted(partners.items()) if isinstance(i.document, Partner)
        },
        contracts=sorted(
            (i.document for i in group if isinstance(i.document, Contract)), key=lambda c: c.name
        ),
        waivers=sorted(
            (i.document for i in group if isinstance(i.document, Waiver)), key=lambda w: w.name
        ),
        policy=Policy.from_set(policy_doc),
        origins={i.document.ref: _origin(i) for i in used},
        expectations=sorted(
            (i.document for i in group if isinstance(i.document, Expectation)),
            key=lambda e: e.name,
        ),
    )


def _space(item: Located, report: Report) -> Space | None:
    alliance = item.document
    assert isinstance(alliance, Alliance)
    dims: list[Dimension] = []
    ok = True
    for name, tree in alliance.spec.dimensions.items():
        dim, errors = build(name, tree)
        for path, message in errors:
            report(item, ("spec", "dimensions", name, *path), message)
        if dim is None:
            ok = False
        else:
            dims.append(dim)
    if "category" not in alliance.spec.dimensions:
        report(
            item,
            ("spec", "dimensions"),
            "missing the required dimension 'category' (the complaint taxonomy); add it",
        )
        ok = False
    return Space(tuple(dims)) if ok else None


class _Checker:
    """Reference checks for the documents of one alliance."""

    def __init__(
        self,
        alliance: Located,
        space: Space | None,
        partners: Mapping[str, Located],
        report: Report,
        *,
        everything: Sequence[Located],
        unchecked: Sequence[Unchecked],
    ) -> None:
        self.alliance_item = alliance
        doc = alliance.document
        assert isinstance(doc, Alliance)
        self.doc = doc
        self.space = space
        self.partners = partners
        self._report = report
        self.failed = False
        self.authorities = [a.name for a in doc.spec.authorities]
        self.everything = everything
        self.unchecked = unchecked

    def report(self, item: Located, path: Path, message: str) -> None:
        self.failed = True
        self._report(item, path, message)

    def alliance(self) -> None:
        item, spec = self.alliance_item, self.doc.spec
        self._unique(item, [a.name for a in spec.authorities], ("spec", "authorities"), "authority")
        if spec.authority not in self.authorities:
            self.report(
                item, ("spec", "authority"), unknown("authority", spec.authority, self.authorities)
            )
        for i, claim in enumerate(spec.customer_face):
            self._partner_ref(item, claim.partner, ("spec", "customerFace", i, "partner"))
            self._claim(item, claim, ("spec", "customerFace", i))
        for chain, levels in spec.escalation_chains.items():
            for j, level in enumerate(levels):
                self._authority_level(item, level, ("spec", "escalationChains", chain, j, "to"))
        if spec.tickets is not None:
            self._tickets(item, spec.tickets)

    def _tickets(self, item: Located, mapping: TicketMapping) -> None:
        """Every mapped dimension exists, category is among them, and every node a
        ticket value may become (`values`, `default`) is a node of its dimension."""
        if self.space is None:
            return
        path: Path = ("spec", "tickets", "dimensions")
        if "category" not in mapping.dimensions and "category" in self.space.by_name:
            self.report(
                item,
                path,
                "the ticket mapping does not map 'category' (the complaint taxonomy), so no "
                "ticket could be routed; add e.g. category: {field: ticketType}",
            )
        for name, source in mapping.dimensions.items():
            if name not in self.space.by_name:
                self.report(item, (*path, name), unknown("dimension", name, self.space.names))
                continue
            dim = self.space.dimensions[self.space.by_name[name]]
            targets: list[tuple[Path, str]] = [
                ((*path, name, "values", value), node) for value, node in source.values.items()
            ]
            if source.default is not None:
                targets.append(((*path, name, "default"), source.default))
            for at, node in targets:
                if node not in dim.nodes:
                    self.report(item, at, self._unknown_ticket_node(dim, node))

    def _unknown_ticket_node(self, dim: Dimension, node: str) -> str:
        assert self.space is not None
        for other in self.space.dimensions:
            if other is not dim and node in other.nodes:
                return (
                    f"'{node}' is a node of dimension '{other.name}', not of '{dim.name}'; "
                    f"a ticket's {dim.name} becomes a {dim.name} node"
                )
        return unknown(dim.name, node, _tree_order(dim))

    def partner(self, item: Located) -> None:
        doc = item.document
        assert isinstance(doc, Partner)
        self._unique(item, [c.name for c in doc.spec.contacts], ("spec", "contacts"), "contact")
        self._unique(item, [e.name for e in doc.spec.endpoints], ("spec", "endpoints"), "endpoint")

    def contract(self, item: Located) -> None:
        doc = item.document
        assert isinstance(doc, Contract)
        spec = doc.spec
        partner = self._partner_ref(item, spec.partner, ("spec", "partner"))
        if partner is None and self._elsewhere(spec.partner):
            return  # filed under the wrong alliance: checking the rest against it would mislead
        effective = spec.effective
        if effective and effective.from_ and effective.until and effective.until <= effective.from_:
            self.report(
                item,
                ("spec", "effective", "until"),
                f"until ({effective.until}) is not after from ({effective.from_}); "
                "until is exclusive: write a later date",
            )
        for section in ("scope", "accountable"):
            for i, claim in enumerate(getattr(spec, section)):
                self._claim(item, claim, ("spec", section, i))
        for i, consulted in enumerate(spec.consulted):
            self._partner_ref(item, consulted.partner, ("spec", "consulted", i, "partner"))
            self._where(item, consulted.where, ("spec", "consulted", i, "where"))
        endpoints = [e.name for e in partner.spec.endpoints] if partner else []
        for i, handoff in enumerate(spec.handoffs):
            self._where(item, handoff.where, ("spec", "handoffs", i, "where"))
            if partner and handoff.endpoint not in endpoints:
                self.report(
                    item,
                    ("spec", "handoffs", i, "endpoint"),
                    unknown(
                        "endpoint", handoff.endpoint, endpoints, of=f"of partner '{spec.partner}'"
                    )
                    if endpoints
                    else f"partner '{spec.partner}' declares no endpoints; "
                    "add one to its Partner document",
                )
        self._escalation(item, doc, partner)

    def _escalation(self, item: Located, doc: Contract, partner: Partner | None) -> None:
        chain = doc.spec.escalation
        contacts = [c.name for c in partner.spec.contacts] if partner else []
        if isinstance(chain, str):
            chains = list(self.doc.spec.escalation_chains)
            if chain not in chains:
                self.report(
                    item,
                    ("spec", "escalation"),
                    unknown("escalation chain", chain, chains)
                    if chains
                    else f"unknown escalation chain '{chain}': the alliance declares no "
                    "escalationChains; add the chain there or list the levels here",
                )
                return
            levels: list[EscalationLevel] = self.doc.spec.escalation_chains[chain]
            for j, level in enumerate(levels):
                if not level.to.startswith("authority:") and partner and level.to not in contacts:
                    self.report(
                        item,
                        ("spec", "escalation"),
                        f"chain '{chain}' escalates to contact '{level.to}' (level {j}), "
                        f"which partner '{doc.spec.partner}' does not have"
                        f"{suggest(level.to, contacts)}; add the contact or use another chain",
                    )
        elif chain is not None:
            for j, level in enumerate(chain):
                path: Path = ("spec", "escalation", j, "to")
                if level.to.startswith("authority:"):
                    self._authority_level(item, level, path)
                elif partner and level.to not in contacts:
                    self.report(
                        item,
                        path,
                        unknown(
                            "contact", level.to, contacts, of=f"of partner '{doc.spec.partner}'"
                        )
                        if contacts
                        else f"partner '{doc.spec.partner}' declares no contacts; add one",
                    )

    def waiver(self, item: Located) -> None:
        doc = item.document
        assert isinstance(doc, Waiver)
        if doc.spec.rule not in RULES:
            self.report(item, ("spec", "rule"), unknown("rule", doc.spec.rule, list(RULES)))
        elif doc.spec.rule not in CELL_RULES:
            self.report(
                item,
                ("spec", "rule"),
                f"rule '{doc.spec.rule}' concerns documents, not cells; waivers silence cell rules "
                f"only: {', '.join(CELL_RULES)}",
            )
        if doc.spec.approved_by not in self.authorities:
            self.report(
                item,
                ("spec", "approvedBy"),
                unknown("authority", doc.spec.approved_by, self.authorities),
            )
        self._where(item, doc.spec.where, ("spec", "where"))

    def expectation(self, item: Located) -> None:
        doc = item.document
        assert isinstance(doc, Expectation)
        promises = doc.spec.promises
        self._unique(item, [p.name for p in promises], ("spec", "promises"), "promise")
        for i, promise in enumerate(promises):
            path: Path = ("spec", "promises", i)
            self._where(
                item, {d: [n] for d, n in promise.where.items()}, (*path, "where"), single=True
            )
            owner = None
            if promise.owner is not None:
                owner = self._partner_ref(item, promise.owner, (*path, "owner"))
            if promise.face is not None:
                self._partner_ref(item, promise.face, (*path, "face"))
            for j, partner in enumerate(promise.consulted or []):
                self._partner_ref(item, partner, (*path, "consulted", j))
            endpoint = promise.handoff.endpoint if promise.handoff else None
            if endpoint is not None and owner is not None:
                endpoints = [e.name for e in owner.spec.endpoints]
                if endpoint not in endpoints:
                    self.report(
                        item,
                        (*path, "handoff", "endpoint"),
                        unknown("endpoint", endpoint, endpoints, of=f"of partner '{owner.name}'")
                        if endpoints
                        else f"partner '{owner.name}' declares no endpoints",
                    )
            if promise.escalates_to is not None and promise.escalates_to not in self.authorities:
                self.report(
                    item,
                    (*path, "escalatesTo"),
                    unknown("authority", promise.escalates_to, self.authorities),
                )

    def _authority_level(self, item: Located, level: EscalationLevel, path: Path) -> None:
        if level.to.startswith("authority:"):
            name = level.to.removeprefix("authority:")
            if name not in self.authorities:
                self.report(item, path, unknown("authority", name, self.authorities))

    def _partner_ref(self, item: Located, name: str, path: Path) -> Partner | None:
        found = self.partners.get(name)
        if found is not None:
            assert isinstance(found.document, Partner)
            return found.document
        if any(u.may_be("Partner", name, self.doc.name) for u in self.unchecked):
            self.failed = True  # the Partner's own errors are reported; this follows from them
            return None
        alliance = self.doc.name
        known = sorted(self.partners)
        elsewhere = self._elsewhere(name)
        if elsewhere:
            fixes = [] if item is self.alliance_item else ["fix metadata.alliance"]
            if known:
                fixes.append(f"choose a partner of '{alliance}': {choices(known)}")
            message = f"partner '{name}' belongs to alliance '{elsewhere[0]}', not to '{alliance}'"
            if fixes:
                message += "; " + ", or ".join(fixes)
        elif known:
            message = unknown("partner", name, known, of=f"in alliance '{alliance}'")
        else:
            message = f"unknown partner '{name}': alliance '{alliance}' has no Partner documents"
        self.report(item, path, message)
        return None

    def _elsewhere(self, partner: str) -> list[str]:
        """The other alliances that have a partner of this name."""
        return sorted(
            {
                str(i.document.metadata.alliance)
                for i in self.everything
                if isinstance(i.document, Partner)
                and i.document.name == partner
                and i.document.metadata.alliance != self.doc.name
            }
        )

    def _claim(self, item: Located, claim: Claim, path: Path) -> None:
        self._where(item, claim.where, (*path, "where"))
        for i, excluded in enumerate(claim.except_):
            self._where(item, excluded, (*path, "except", i))

    def _where(
        self,
        item: Located,
        where: Mapping[str, Sequence[str]] | None,
        path: Path,
        *,
        single: bool = False,
    ) -> None:
        """Every dimension and node of a selector known; `single`: one node per
        dimension, written as a scalar (an Expectation's where)."""
        if where is None or self.space is None:
            return
        space = self.space
        for dim_name, nodes in where.items():
            d = space.by_name.get(dim_name)
            if d is None:
                self.report(item, (*path, dim_name), unknown("dimension", dim_name, space.names))
                continue
            dim = space.dimensions[d]
            if all(map(dim.nodes.__contains__, nodes)):  # the usual case, at C speed
                continue
            for i, node in enumerate(nodes):
                if node not in dim.nodes:
                    at = (*path, dim_name) if single else (*path, dim_name, i)
                    self.report(item, at, self._unknown_node(dim, node))

    def _unknown_node(self, dim: Dimension, node: str) -> str:
        assert self.space is not None
        for other in self.space.dimensions:
            if other is not dim and node in other.nodes:
                return (
                    f"'{node}' is a node of dimension '{other.name}', not of '{dim.name}'; "
                    f"move it to {other.name}"
                )
        return unknown(dim.name, node, _tree_order(dim))

    def _unique(self, item: Located, names: list[str], path: Path, what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.report(
                    item, (*path, i, "name"), f"duplicate {what} '{name}'; rename or remove one"
                )
            seen.add(name)


def _tree_order(dim: Dimension) -> list[str]:
    """The nodes as the tree lists them: each parent before its children."""
    out: list[str] = []

    def visit(name: str) -> None:
        out.append(name)
        for child in dim.nodes[name].children:
            visit(child)

    for root in dim.roots:
        visit(root)
    return out


def _check_policy(item: Located, report: Report) -> None:
    # Unknown rule ids are refused by the schema (its propertyNames come from the
    # catalogue); what is left is which rule takes which parameter.
    doc = item.document
    assert isinstance(doc, PolicySet)
    for rule, setting in doc.spec.rules.items():
        known = RULES.get(rule)
        takes = known.parameters if known is not None else {}
        for key in setting.parameters():
            if key not in takes:
                report(
                    item,
                    ("spec", "rules", rule, key),
                    f"rule '{rule}' takes no parameter '{key}'; remove it",
                )


def _origin(item: Located) -> Origin:
    parsed = item.parsed
    keys = {
        path[1]: position
        for path, position in parsed.positions.items()
        if len(path) == 2 and path[0] == "spec" and isinstance(path[1], str)
    }
    return Origin(item.file, parsed.line, parsed.column, keys)
