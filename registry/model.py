"""The documents of the contract language as msgspec Structs.

One `Base` forbids unknown fields everywhere; the six kinds form a tagged union on
`kind`. Durations get their own type because the language allows weeks (`P2W`),
which msgspec's built-in timedelta parser refuses, and refuses years and months,
which have no fixed length.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

# The model's version: the apiVersion every document carries (Document.api_version), and
# what the store records with each document version it writes (documents.api_version).
API_VERSION = "alliance-registry/v1"
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
DURATION_PATTERN = r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"W": 604800, "D": 86400, "H": 3600, "M": 60}


class Duration(dt.timedelta):
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds."""

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION_RE.match(text)
        if match is None:
            raise ValueError(f"malformed duration {text!r}")
        weeks, days, _, hours, minutes, seconds, _ = match.groups()
        total = 0
        for part, unit in ((weeks, "W"), (days, "D"), (hours, "H"), (minutes, "M")):
            if part:
                total += int(part[:-1]) * _UNIT_SECONDS[unit]
        # Integers throughout: a float would round long durations and fractions alike.
        whole, _, fraction = (seconds or "0S")[:-1].partition(".")
        total += int(whole)
        micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
        try:
            return cls(seconds=total, microseconds=micros)
        except OverflowError:
            raise ValueError(
                f"{text!r} is too long: a duration goes up to 999,999,999 days"
            ) from None

    @classmethod
    def of(cls, delta: dt.timedelta) -> Duration:
        return cls(days=delta.days, seconds=delta.seconds, microseconds=delta.microseconds)

    def iso(self) -> str:
        """The canonical text: the largest units first, weeks written as days."""
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        second = f"{seconds}.{self.microseconds:06d}".rstrip("0") if self.microseconds else ""
        parts = ((hours, "H"), (minutes, "M"), (seconds, "S"))
        time = "".join(f"{n}{u}" for n, u in parts if n and not (u == "S" and second))
        time += f"{second}S" if second else ""
        text = "P" + (f"{self.days}D" if self.days else "") + (f"T{time}" if time else "")
        return text if text != "P" else "PT0S"

    def __str__(self) -> str:
        return self.iso()


Slug = Annotated[str, Meta(pattern=SLUG_PATTERN)]
Text = Annotated[str, Meta(min_length=1)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+$")]
# A dimension or node a selector names: a Slug, but checked by `selector_names_fit`
# (one regular expression over every name of a document) and by the JSON Schema, not
# by msgspec on each string: those checks were most of the decode of a stored alliance
# (benchmarks/README.md, "Operations": the cold compile).
# (The schema says "type" again only to keep its keys in the order they had.)
NodeName = Annotated[str, Meta(extra_json_schema={"type": "string", "pattern": SLUG_PATTERN})]
# A selector: dimension -> the nodes it takes; an omitted dimension is the whole dimension.
Where = dict[NodeName, Annotated[list[NodeName], Meta(min_length=1)]]
# Trees are recursive; their shape is checked by the schema ($defs/Tree) and the
# dimensions module, so the Struct keeps the decoded value as it came.
TreeValue = Annotated[Any, Meta(extra_json_schema={"$ref": "#/$defs/Tree"})]


class Base(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True, rename="camel"
):
    pass


class Metadata(Base):
    name: Slug
    alliance: Slug | None = None
    title: str | None = None
    description: str | None = None
    labels: dict[str, str] = {}


class Money(Base):
    amount: Annotated[float, Meta(ge=0)]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]


class FaceAuthority(Base):
    compel_response_within: Duration | None = None
    credit_up_to: Money | None = None
    dispatch: bool = False


class EscalationLevel(Base):
    after: Duration
    # A contact of the contract's partner, or `authority:<name>`.
    to: Annotated[str, Meta(pattern=r"^(authority:)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]


class Claim(Base):
    where: Where
    except_: list[Where] = field(default_factory=list, name="except")


class FaceClaim(Claim, kw_only=True):
    partner: Slug


class Authority(Base):
    name: Slug
    title: str | None = None
    email: Email | None = None
    phone: str | None = None


# A dotted path into a TMF621 ticket: `ticketType`, `channel.name`.
TICKET_FIELD_PATTERN = r"^[A-Za-z@_][A-Za-z0-9@_-]*(\.[A-Za-z@_][A-Za-z0-9@_-]*)*$"
TicketField = Annotated[str, Meta(pattern=TICKET_FIELD_PATTERN)]


class TicketDimension(Base):
    """Where a TMF621 ticket names this dimension's node: exactly one of `field`,
    `characteristic` or `relatedEntity`; `values` renames ticket values to nodes."""

    field_: TicketField | None = field(default=None, name="field")
    # A troubleTicketCharacteristic (v5) / characteristic (v4) of this name.
    characteristic: Text | None = None
    # The name of the relatedEntity with this role.
    related_entity: Text | None = None
    values: dict[Text, Slug] = {}
    # The node used when the ticket does not say; without it, the ticket is refused.
    default: Slug | None = None


# The sources a ticket dimension may read, as the language spells them.
TICKET_SOURCES = ("field", "characteristic", "relatedEntity")


class TicketMapping(Base):
    dimensions: Annotated[dict[Slug, TicketDimension], Meta(min_length=1)]


class AllianceSpec(Base):
    authority: Slug
    authorities: Annotated[list[Authority], Meta(min_length=1)]
    dimensions: dict[Slug, TreeValue]
    customer_face: list[FaceClaim]
    policy: Slug = "default"
    face_authority: FaceAuthority | None = None
    escalation_chains: dict[Slug, Annotated[list[EscalationLevel], Meta(min_length=1)]] = {}
    # How TMF621 trouble tickets name the nodes of an owner query.
    tickets: TicketMapping | None = None


class Contact(Base):
    name: Slug
    title: str | None = None
    email: Email | None = None
    phone: str | None = None


EndpointType = Literal["tmf621", "webhook", "email", "queue"]


class Endpoint(Base):
    name: Slug
    type: EndpointType
    address: Text


class PartnerSpec(Base):
    legal_name: Text
    contacts: list[Contact] = []
    endpoints: list[Endpoint] = []


class Effective(Base):
    from_: dt.date | None = field(default=None, name="from")
    until: dt.date | None = None


class Consulted(Base):
    partner: Slug
    where: Where | None = None
    respond_within: Duration | None = None


HandoffMode = Literal["retain", "consult", "transfer"]


class Handoff(Base):
    endpoint: Slug
    mode: HandoffMode
    where: Where | None = None
    acknowledge_within: Duration | None = None
    resolve_within: Duration | None = None
    requires: list[Text] = []


DeliveryModel = Literal[
    "face-to-face",
    "e-commerce",
    "subscription",
    "on-demand",
    "freemium",
    "self-service",
    "mobile-app",
    "franchise",
    "outsourcing",
    "peer-to-peer",
    "direct-to-consumer",
    "virtual",
    "hybrid",
]


class ContractSpec(Base):
    partner: Slug
    effective: Effective | None = None
    delivery_model: DeliveryModel | None = None
    scope: list[Claim] = []
    accountable: list[Claim] = []
    consulted: list[Consulted] = []
    handoffs: list[Handoff] = []
    # A chain name from the Alliance, or the levels written out.
    escalation: Slug | Annotated[list[EscalationLevel], Meta(min_length=1)] | None = None
    grants_face: FaceAuthority | None = None


class WaiverSpec(Base):
    rule: Slug
    where: Where
    reason: Text
    approved_by: Slug
    expires: dt.date


Severity = Literal["error", "warning", "info", "off"]


class RuleSetting(Base):
    severity: Severity | None = None
    # Parameters of `sla-bound`; the loader refuses them on other rules.
    acknowledge_within: Duration | None = None
    resolve_within: Duration | None = None

    def parameters(self) -> dict[str, Duration]:
        """The parameters it sets, by their names in documents (`acknowledgeWithin`)."""
        return {
            f.encode_name: value
            for f in msgspec.structs.fields(self)
            if f.name != "severity" and (value := getattr(self, f.name)) is not None
        }


class PolicySetSpec(Base):
    horizon: Duration = field(default_factory=lambda: Duration(days=90))
    rules: dict[Slug, RuleSetting] = {}


AnswerStatus = Literal["owned", "unowned", "conflict", "ambiguous"]


class HandoffExpected(Base):
    mode: HandoffMode | None = None
    endpoint: Slug | None = None


class Promise(Base, kw_only=True):
    """One named promise: what the owner answer for `where` on `at` must say. Every
    field left out is not checked."""

    name: Slug
    description: str | None = None
    # A node per dimension (a leaf each: one cell; an inner node or a dimension left
    # out: every cell under it, which must all answer the same).
    where: Annotated[dict[Slug, Slug], Meta(min_length=1)]
    at: dt.date | None = None
    status: AnswerStatus | None = None
    owner: Slug | None = None
    face: Slug | None = None
    handoff: HandoffExpected | None = None
    # Exactly these partners are consulted ([]: none is).
    consulted: list[Slug] | None = None
    # The escalation reaches this authority of the Alliance.
    escalates_to: Slug | None = None


class ExpectationSpec(Base):
    promises: Annotated[list[Promise], Meta(min_length=1)]


class Document(Base, tag_field="kind"):
    api_version: Literal["alliance-registry/v1"]
    metadata: Metadata

    @property
    def kind(self) -> str:
        return type(self).__name__

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def ref(self) -> str:
        """How findings and errors name the document: `Contract/fastnet-internet`."""
        return f"{self.kind}/{self.metadata.name}"


class Alliance(Document, tag="Alliance"):
    spec: AllianceSpec


class Partner(Document, tag="Partner"):
    spec: PartnerSpec


class Contract(Document, tag="Contract"):
    spec: ContractSpec


class Waiver(Document, tag="Waiver"):
    spec: WaiverSpec


class PolicySet(Document, tag="PolicySet"):
    spec: PolicySetSpec


class Expectation(Document, tag="Expectation"):
    spec: ExpectationSpec


AnyDocument = Alliance | Partner | Contract | Waiver | PolicySet | Expectation
KINDS: dict[str, type[AnyDocument]] = {
    cls.__name__: cls for cls in (Alliance, Partner, Contract, Waiver, PolicySet, Expectation)
}
# Names joined by newlines, each a Slug (SLUG_PATTERN unanchored; no Slug holds a newline).
_SLUG = SLUG_PATTERN.removeprefix("^").removesuffix("$")
_SLUG_LINES = re.compile(rf"(?:{_SLUG}(?:\n{_SLUG})*)?")


def selector_names_fit(document: AnyDocument) -> bool:
    """Whether every dimension and node the document's selectors name is a Slug: what
    msgspec does not check of a `Where` (see NodeName). A document that fails goes to
    the JSON Schema, which says which name and why."""
    names: list[str] = []
    for where in _selectors(document):
        names += where
        for nodes in where.values():
            names += nodes
    return _SLUG_LINES.fullmatch("\n".join(names)) is not None


def _selectors(document: AnyDocument) -> Iterator[Where]:
    # Every place the model holds a Where (tests/test_selector_names.py walks the
    # types to prove none is missed).
    spec = document.spec
    claims: list[Claim] = []
    if isinstance(spec, AllianceSpec):
        claims = list(spec.customer_face)
    elif isinstance(spec, ContractSpec):
        claims = spec.scope + spec.accountable
        parts: list[Consulted | Handoff] = [*spec.consulted, *spec.handoffs]
        yield from (p.where for p in parts if p.where is not None)
    elif isinstance(spec, WaiverSpec):
        yield spec.where
    for claim in claims:
        yield claim.where
        yield from claim.except_


# Which kinds carry `metadata.alliance`: required, optional or forbidden.
ALLIANCE_FIELD: dict[str, Literal["required", "optional", "never"]] = {
    "Alliance": "never",
    "Partner": "required",
    "Contract": "required",
    "Waiver": "required",
    "PolicySet": "optional",
    "Expectation": "required",
}


DAY_FORM = "of the form YYYY-MM-DD, such as 2026-11-22"


def parse_day(text: str) -> dt.date | None:
    """A day as documents write theirs and the API's `asOf` takes it (RFC 3339:
    YYYY-MM-DD only, not the basic 20261201 or week 2026-W01-1 forms that
    `date.fromisoformat` also reads); None for anything else."""
    try:
        return msgspec.convert(text, dt.date)
    except msgspec.ValidationError:
        return None


# Durations parsed before, by their text: documents repeat a few (PT4H, P2D) thousands
# of times, and a Duration is immutable, so one object serves them all. Bounded: texts
# past it are parsed each time.
_DURATIONS: dict[str, Duration] = {}
MAX_KNOWN_DURATIONS = 4096


def dec_hook(type_: type, value: Any) -> Any:
    if type_ is Duration and isinstance(value, str):
        found = _DURATIONS.get(value)
        if found is None:
            found = Duration.parse(value)
            if len(_DURATIONS) < MAX_KNOWN_DURATIONS:
                _DURATIONS[value] = found
        return found
    raise NotImplementedError(f"cannot decode {type_!r}")


def enc_hook(value: Any) -> Any:
    if isinstance(value, Duration):
        return value.iso()
    raise NotImplementedError(f"cannot encode {type(value)!r}")


def schema_hook(type_: type) -> dict[str, Any]:
    if type_ is Duration:
        return {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "ISO 8601 duration of weeks, days, hours, minutes, seconds: PT4H, P2D",
        }
    raise NotImplementedError(f"no schema for {type_!r}")


def to_builtins(document: AnyDocument) -> Any:
    """The document as JSON-ready data, in the field names of the language."""
    return msgspec.to_builtins(document, enc_hook=enc_hook)
