"""Compiling an alliance from its stored documents trusts those the write path stored
(their ETag is their body's digest): decoded straight into Structs, references not
checked again, unchanged documents kept from the revision before. It must build
exactly what the careful path builds (every document checked, every reference
resolved), on every example and on synthetic alliances; a document that is not as
the write path stored it sends the whole alliance down the careful path."""

from __future__ import annotations

import datetime as dt
import json
import logging
from itertools import islice, product
from pathlib import Path
from random import Random

import msgspec
import pytest
from sqlalchemy import text

from registry import resolve, synth
from registry.bundle import Bundle
from registry.claims import compile_bundle
from registry.load import (
    LoadResult,
    _plain_alliance,
    _plain_tree,
    _validator,
    bundle_documents,
    load,
    read_stored,
)
from registry.model import Alliance, dec_hook, to_builtins
from registry.resolve import OwnerIndex
from registry.service.live import Live, compile_stored
from registry.service.writes import Request, write
from registry.store import Store, StoredDocument
from registry.views import matrix
from registry.yamlnodes import deeper_than
from tests.conftest import seed

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DAYS = [dt.date(2026, 11, 23), dt.date(2027, 6, 1)]


def careful(alliance: str, documents: list[StoredDocument]) -> Bundle:
    """The bundle as the server built it before: every document and reference checked."""
    result = LoadResult()
    stored = read_stored(((f"{d.ref}.json", d.body) for d in documents), result)
    bundle = bundle_documents(stored, result).bundles.get(alliance)
    assert bundle is not None, result.errors[:3]
    return bundle


def same_bundle(a: Bundle, b: Bundle) -> None:
    assert a.alliance == b.alliance
    assert a.partners == b.partners and list(a.partners) == list(b.partners)
    assert a.contracts == b.contracts
    assert a.waivers == b.waivers
    assert a.policy == b.policy
    assert a.origins == b.origins
    for x, y in zip(a.space.dimensions, b.space.dimensions, strict=True):
        assert (x.name, x.nodes, x.leaves, x.roots) == (y.name, y.nodes, y.leaves, y.roots)
    assert a.space.by_name == b.space.by_name


def same_index(a: OwnerIndex, b: OwnerIndex, cells: int = 400) -> None:
    """The same arrangement and the same answers, on every cell (or a spread of them)."""
    assert a.compiled.cuts == b.compiled.cuts
    assert a.compiled.claims == b.compiled.claims
    assert a.compiled.atoms == b.compiled.atoms
    assert a.arrangement.labels == b.arrangement.labels
    assert a.arrangement.leaves == b.arrangement.leaves
    assert a.arrangement.splits() == b.arrangement.splits()
    leaves = [d.leaves for d in a.bundle.space.dimensions]
    names = [d.name for d in a.bundle.space.dimensions]
    every = product(*leaves)
    step = max(1, a.bundle.space.cells // cells)
    for cell in islice(every, 0, None, step):
        query = dict(zip(names, cell, strict=True))
        for day in DAYS:
            assert msgspec.to_builtins(a.owner(query, day)) == msgspec.to_builtins(
                b.owner(query, day)
            )


def seeded_store(database_url: str, tmp_path: Path) -> Store:
    store = Store(database_url)
    seed(store, [EXAMPLES])
    for preset, defects in (("small", 2), ("medium", 4)):
        synth.write(tmp_path / preset, preset, seed=3, defects=defects)
        seed(store, [tmp_path / preset])
    return store


def test_trusted_builds_what_the_careful_path_builds(database_url: str, tmp_path: Path) -> None:
    store = seeded_store(database_url, tmp_path)
    try:
        alliances = sorted(store.alliances())
        assert alliances == [
            "co-branded-card",
            "condominium",
            "franchise",
            "metro-home",
            "roaming",
            "synth-medium",
            "synth-small",
            "triple-play",
        ]
        for alliance in alliances:
            snapshot = store.snapshot(alliance)
            assert snapshot is not None
            revision, documents = snapshot
            assert all(d.intact for d in documents)
            slow, fast = careful(alliance, documents), compile_stored(alliance, documents)
            same_bundle(slow, fast)
            same_index(OwnerIndex(slow, revision), OwnerIndex(fast, revision))
    finally:
        store.close()


def test_a_write_keeps_the_unchanged_documents(database_url: str, tmp_path: Path) -> None:
    """After a write, the documents whose ETag did not change are the very objects of
    the view before, and the bundle is still the careful path's."""
    store = seeded_store(database_url, tmp_path)
    try:
        live = Live(store)
        live.refresh()
        before = live.view("synth-medium")
        contract = before.bundle.contracts[0]
        changed = to_builtins(contract)
        changed["spec"]["accountable"].pop()
        write(
            store,
            Request("synth-medium", [("c.json", json.dumps(changed))], force=True),
            "test",
            "apply",
        )
        live.refresh()
        after = live.view("synth-medium")
        assert after.revision == before.revision + 1
        snapshot = store.snapshot("synth-medium")
        assert snapshot is not None
        slow = careful("synth-medium", snapshot[1])
        same_bundle(slow, after.bundle)
        same_index(OwnerIndex(slow, after.revision), after.index)
        kept = {c.name: c for c in before.bundle.contracts}
        new = {c.name: c for c in after.bundle.contracts}
        assert new[contract.name] is not kept[contract.name]
        assert new[contract.name] != kept[contract.name]
        assert all(new[n] is kept[n] for n in kept if n != contract.name)
        assert after.bundle.alliance is before.bundle.alliance
        assert after.bundle.space is before.bundle.space
    finally:
        store.close()


def tamper(store: Store, alliance: str, ref: str, edit: dict[str, str]) -> None:
    """Change a stored body behind the write path's back, its ETag left as it was."""
    kind, name = ref.split("/")
    with store.engine.begin() as connection:
        body = connection.execute(
            text(
                "SELECT body FROM documents WHERE alliance = :a AND kind = :k AND name = :n "
                "AND current"
            ),
            {"a": alliance, "k": kind, "n": name},
        ).scalar_one()
        for old, new in edit.items():
            body = body.replace(old, new)
        connection.execute(
            text(
                "UPDATE documents SET body = :b WHERE alliance = :a AND kind = :k AND name = :n "
                "AND current"
            ),
            {"b": body, "a": alliance, "k": kind, "n": name},
        )


def test_a_document_edited_by_hand_is_checked(
    database_url: str, alliance_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that no longer hashes to its ETag is not trusted: the whole alliance is
    checked again, and a reference the edit broke keeps it from compiling."""
    store = Store(database_url)
    try:
        seed(store, [alliance_dir])
        tamper(
            store,
            "metro-home",
            "Contract/fastnet-internet",
            {'"partner": "fastnet"': '"partner": "fastnett"'},
        )
        snapshot = store.snapshot("metro-home")
        assert snapshot is not None
        tampered = [d for d in snapshot[1] if not d.intact]
        assert [d.ref for d in tampered] == ["Contract/fastnet-internet"]
        live = Live(store)
        live.refresh()
        with (
            caplog.at_level(logging.WARNING, "registry.live"),
            pytest.raises(RuntimeError) as raised,
        ):
            live.view("metro-home")
        assert (
            "message=\"unknown partner 'fastnett' in alliance 'metro-home' (did you mean "
            "'fastnet'?)\", file='Contract/fastnet-internet.json', line=9, column=5)"
        ) in str(raised.value)
        assert [r.getMessage() for r in caplog.records if r.name == "registry.live"] == [
            "the stored documents of 'metro-home' are checked again: not all intact"
        ]
    finally:
        store.close()


# Loading from files takes two shortcuts, each only where the careful path would say
# the same: an Alliance msgspec accepts skips jsonschema when its trees and ticket
# sources surely pass the schema, and the depth check walks level by level.


def test_the_alliance_shortcut_passes_only_what_the_schema_passes(tmp_path: Path) -> None:
    synth.write(tmp_path / "medium", "medium", seed=1)
    result = load([str(EXAMPLES), str(tmp_path)])
    datas = [to_builtins(d) for d in result.checked if isinstance(d, Alliance)]
    assert len(datas) >= 5
    for data in datas:
        document = msgspec.convert(data, Alliance, dec_hook=dec_hook)
        assert _plain_alliance(data, document)
        assert not list(_validator("Alliance").iter_errors(data))
    plain = datas[0]
    for bad_tree in (["Bad"], [1], {"a": 1}, {"A": None}, {"a": {"b": ["c", "-d"]}}, "x", 3):
        data = json.loads(json.dumps(plain))
        data["spec"]["dimensions"]["bad"] = bad_tree
        assert not _plain_tree(bad_tree)
        assert list(_validator("Alliance").iter_errors(data))
    two = json.loads(json.dumps(plain))
    two["spec"]["tickets"] = {"dimensions": {"x": {"field": "a", "characteristic": "b"}}}
    document = msgspec.convert(two, Alliance, dec_hook=dec_hook)
    assert not _plain_alliance(two, document)
    assert list(_validator("Alliance").iter_errors(two))


def _deeper_than_before(data: object, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)
    return False


def test_the_depth_check_says_what_it_said_before() -> None:
    random = Random(14)

    def tree(depth: int) -> object:
        roll = random.random()
        if depth > 9 or roll < 0.3:
            return random.choice([1, "a", None, 2.5, True])
        if roll < 0.65:
            return [tree(depth + 1) for _ in range(random.randint(0, 3))]
        return {str(i): tree(depth + 1) for i in range(random.randint(0, 3))}

    for _ in range(3000):
        data = tree(0)
        for limit in range(11):
            assert deeper_than(data, limit) == _deeper_than_before(data, limit)


def test_the_index_answers_the_same_without_scope_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner index compiles no scope claims (only rules on scope read them): every
    answer, a query of each node alone, and the coverage matrix are those of an index
    with them."""
    for preset, defects in (("small", 2), ("medium", 4)):
        synth.write(tmp_path / preset, preset, seed=3, defects=defects)
    result = load([str(EXAMPLES), str(tmp_path)])
    assert len(result.bundles) == 8
    for bundle in result.bundles.values():
        lean = OwnerIndex(bundle)
        with monkeypatch.context() as patched:
            patched.setattr(
                resolve, "compile_bundle", lambda b, cuts, scope=True: compile_bundle(b, cuts)
            )
            full = OwnerIndex(bundle)
        assert not any(c.kind == "scope" for c in lean.compiled.claims)
        scoped = any(c.spec.scope for c in bundle.contracts)
        assert any(c.kind == "scope" for c in full.compiled.claims) == scoped
        leaves = [d.leaves for d in bundle.space.dimensions]
        names = [d.name for d in bundle.space.dimensions]
        step = max(1, bundle.space.cells // 300)
        queries = [
            dict(zip(names, c, strict=True)) for c in islice(product(*leaves), 0, None, step)
        ]
        queries += [{d.name: n} for d in bundle.space.dimensions for n in d.nodes]
        queries.append({})
        for query, day in product(queries, DAYS):
            assert msgspec.to_builtins(lean.owner(query, day)) == msgspec.to_builtins(
                full.owner(query, day)
            )
        for day in DAYS:
            assert msgspec.to_builtins(matrix.build(bundle, lean, day)) == msgspec.to_builtins(
                matrix.build(bundle, full, day)
            )
