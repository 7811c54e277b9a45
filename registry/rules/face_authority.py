"""face-authority: a contract grants the customer face less than the alliance requires.

A contract owes the face `faceAuthority` where it is accountable for a cell whose
face is another partner, or nobody (a face gap): read cell by cell, as
handoff-missing reads handoffs, so a partner facing one region still owes the
partner facing its complaints in another, and a contract whose claims cover no
cell once their excepts are taken out owes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from registry.engine import Atom, arrange
from registry.model import Contract, Duration
from registry.rules.rule import Context, ContractRule, Said

if TYPE_CHECKING:
    from registry.bundle import Bundle


def check(contract: Contract, context: Context) -> Iterator[Said]:
    spec = contract.spec
    shortfalls = _shortfalls(context.bundle, contract)
    # Most contracts grant enough: only those that do not are read cell by cell.
    if shortfalls and _behind_another_face(context.bundle, contract):
        yield Said(
            f"the contract grants the customer face less than the alliance "
            f"requires: {'; '.join(shortfalls)}",
            [spec.partner],
            [contract.ref],
        )


def _behind_another_face(bundle: Bundle, contract: Contract) -> bool:
    """Whether the contract's accountable claims cover a cell whose face is not its
    partner: a region of the arrangement of those claims and the partner's own face
    claims that only the former cover."""
    # On first use: the bundle reads its defaults off the catalogue, which lists this
    # rule, and the claims need the bundle.
    from registry.claims import Atoms  # noqa: PLC0415

    atoms = Atoms(bundle.space)
    found: list[Atom] = []
    claims = contract.spec.accountable
    for c, claim in enumerate(claims):
        found += atoms.of(claim.where, claim.except_, c)
    faces = [f for f in bundle.alliance.spec.customer_face if f.partner == contract.spec.partner]
    for f, claim in enumerate(faces, start=len(claims)):
        found += atoms.of(claim.where, claim.except_, f)
    axes = [d.axis for d in bundle.space.dimensions]
    accountable = frozenset(range(len(claims)))
    return any(
        label & accountable and not label - accountable for label in arrange(axes, found).labels
    )


def _shortfalls(bundle: Bundle, contract: Contract) -> list[str]:
    required = bundle.alliance.spec.face_authority
    if required is None:
        return []
    granted = contract.spec.grants_face
    out = []
    need = required.compel_response_within
    have = granted.compel_response_within if granted else None
    if need is not None and (have is None or have > need):
        out.append(
            f"compelResponseWithin {Duration.of(have).iso() if have else 'missing'}, "
            f"needs {Duration.of(need).iso()} or less"
        )
    need_credit = required.credit_up_to
    have_credit = granted.credit_up_to if granted else None
    if need_credit is not None and (
        have_credit is None
        or have_credit.currency != need_credit.currency
        or have_credit.amount < need_credit.amount
    ):
        shown = f"{have_credit.amount:g} {have_credit.currency}" if have_credit else "missing"
        out.append(
            f"creditUpTo {shown}, needs {need_credit.amount:g} {need_credit.currency} or more"
        )
    if required.dispatch and not (granted and granted.dispatch):
        out.append("dispatch not granted")
    return out


RULE = ContractRule(
    id="face-authority",
    severity="error",
    fires_when=(
        "a contract accountable for a cell whose face is another partner (or none) grants "
        "the face less than faceAuthority"
    ),
    causes=("grantsFace", "accountable"),
    check=check,
)
