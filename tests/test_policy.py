"""The shipped PolicySet is the catalogue: every rule, its default severity and parameters."""

from __future__ import annotations

from conftest import REPO

from registry.bundle import Policy
from registry.load import load
from registry.model import PolicySet
from registry.rules import RULES


def test_default_policy_file_equals_the_catalogue() -> None:
    result = load([str(REPO / "policies" / "default.yaml")])
    assert result.errors == []
    (document,) = result.checked
    assert isinstance(document, PolicySet)
    assert document.metadata.alliance is None
    assert list(document.spec.rules) == list(RULES)
    assert Policy.from_set(document) == Policy.from_set(None)
