"""A Bundle: one alliance's documents, loaded, checked and cross-referenced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.dimensions import Space
from registry.model import (
    Alliance,
    AnyDocument,
    Contract,
    Duration,
    EscalationLevel,
    Expectation,
    Partner,
    PolicySet,
    Waiver,
)
from registry.rules import DEFAULT_HORIZON, RULES


@dataclass(frozen=True)
class Origin:
    """Where a document came from, so findings and SARIF can point at it."""

    file: str
    line: int
    column: int
    # Where each key of its `spec` stands ("accountable": (line, column)), when the
    # parser recorded it (YAML always; machine-read JSON is not searched for it).
    keys: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def at(self, *keys: str) -> tuple[int, int]:
        """The first of these spec keys the document has, else its own start."""
        for key in keys:
            found = self.keys.get(key)
            if found is not None:
                return found
        return self.line, self.column


@dataclass(frozen=True)
class Policy:
    """Effective rule settings: the catalogue's defaults under a PolicySet."""

    name: str
    horizon: Duration
    severities: dict[str, str]
    parameters: dict[str, dict[str, Duration]]

    @property
    def horizon_text(self) -> str:
        return self.horizon.iso()

    @classmethod
    def from_set(cls, policy: PolicySet | None) -> Policy:
        severities: dict[str, str] = {rule.id: rule.severity for rule in RULES.values()}
        parameters = {rule.id: dict(rule.parameters) for rule in RULES.values() if rule.parameters}
        horizon = DEFAULT_HORIZON
        name = "default"
        if policy is not None:
            name = policy.metadata.name
            horizon = policy.spec.horizon
            for rule, setting in policy.spec.rules.items():
                if setting.severity is not None:
                    severities[rule] = setting.severity
                for key, value in setting.parameters().items():
                    parameters.setdefault(rule, {})[key] = value
        return cls(name, horizon, severities, parameters)


@dataclass
class Bundle:
    alliance: Alliance
    space: Space
    partners: dict[str, Partner]
    contracts: list[Contract]
    waivers: list[Waiver]
    policy: Policy
    origins: dict[str, Origin] = field(default_factory=dict)
    # The promises its owner answers must keep (rule expectation-failed), by name.
    expectations: list[Expectation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.alliance.metadata.name

    def documents(self) -> list[AnyDocument]:
        docs: list[AnyDocument] = [self.alliance]
        docs += sorted(self.partners.values(), key=lambda d: d.name)
        docs += self.contracts
        docs += self.waivers
        docs += self.expectations
        return docs

    def escalation(self, contract: Contract) -> list[EscalationLevel]:
        chain = contract.spec.escalation
        if chain is None:
            return []
        if isinstance(chain, str):
            return self.alliance.spec.escalation_chains.get(chain, [])
        return chain

    def authority_email(self, name: str) -> str | None:
        for authority in self.alliance.spec.authorities:
            if authority.name == name:
                return authority.email
        return None


def is_active(contract: Contract, day: dt.date) -> bool:
    effective = contract.spec.effective
    if effective is None:
        return True
    if effective.from_ is not None and day < effective.from_:
        return False
    return effective.until is None or day < effective.until


def summary(bundle: Bundle) -> dict[str, Any]:
    return {
        "alliance": bundle.name,
        "partners": len(bundle.partners),
        "contracts": len(bundle.contracts),
        "waivers": len(bundle.waivers),
        "cells": bundle.space.cells,
    }
