"""face-authority: a contract grants the customer face less than the alliance requires."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from registry.model import Contract, Duration
from registry.rules.rule import Context, ContractRule, Said

if TYPE_CHECKING:
    from registry.bundle import Bundle


def check(contract: Contract, context: Context) -> Iterator[Said]:
    spec = contract.spec
    # The face's own contracts owe the face nothing.
    if not spec.accountable or spec.partner in context.faces:
        return
    shortfalls = _shortfalls(context.bundle, contract)
    if shortfalls:
        yield Said(
            f"the contract grants the customer face less than the alliance "
            f"requires: {'; '.join(shortfalls)}",
            [spec.partner],
            [contract.ref],
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
    fires_when="a non-face accountable partner grants the face less than faceAuthority",
    causes=("grantsFace", "accountable"),
    check=check,
)
