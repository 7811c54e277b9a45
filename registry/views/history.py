"""The change log as the auditor's page shows it: a page of entries, newest first,
with links to older and newer pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChangeView:
    ref: str
    change: str  # created, changed, deleted


@dataclass(frozen=True)
class EntryView:
    revision: int
    at: str
    actor: str
    action: str
    forced: bool
    documents: list[ChangeView]


@dataclass(frozen=True)
class HistoryView:
    entries: list[EntryView]  # newest first
    after: int  # the entries shown have revision > after
    revision: int
    older: int | None  # the `after` of the older page, or None
    newer: int | None


HISTORY_PAGE = 20


def history_window(revision: int, after: int | None) -> int:
    """The `after` of the page to show: the latest entries unless asked."""
    if after is None:
        return max(0, revision - HISTORY_PAGE)
    return max(0, min(after, revision))


class _Change(Protocol):
    """What this page reads of `registry.store.chain.DocumentChange`."""

    @property
    def ref(self) -> str: ...
    @property
    def before(self) -> str | None: ...
    @property
    def after(self) -> str | None: ...


class _Entry(Protocol):
    """What this page reads of `registry.store.Entry` (the store is not imported:
    the offline report has none)."""

    @property
    def revision(self) -> int: ...
    @property
    def at(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def forced(self) -> bool: ...
    @property
    def documents(self) -> Sequence[_Change]: ...


def history_view(entries: Sequence[_Entry], after: int, revision: int) -> HistoryView:
    shown = [
        EntryView(
            e.revision,
            e.at,
            e.actor,
            e.action,
            e.forced,
            [ChangeView(d.ref, _change(d)) for d in e.documents],
        )
        for e in entries
    ]
    shown.reverse()
    older = max(0, after - HISTORY_PAGE) if after > 0 else None
    newer = after + HISTORY_PAGE if after + HISTORY_PAGE < revision else None
    return HistoryView(shown, after, revision, older, newer)


def _change(change: _Change) -> str:
    if change.before is None:
        return "created"
    if change.after is None:
        return "deleted"
    return "changed"
