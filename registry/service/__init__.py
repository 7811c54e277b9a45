"""The service layer: the one place where the registry is read or written.

`Registry` (registry.py) is what the doors hold; `live` keeps each process's view of
the current revisions and tokens, `writes` is the one write path. The store's record
types are re-exported here so a door never imports `registry.store`.
"""

from registry.service.live import View
from registry.service.registry import Registry
from registry.service.writes import (
    AddsErrors,
    DocumentResult,
    Outcome,
    Request,
    alliance_etag,
)
from registry.store import Entry, StoredDocument
from registry.store.tables import MAX_REVISION

__all__ = [
    "MAX_REVISION",
    "AddsErrors",
    "DocumentResult",
    "Entry",
    "Outcome",
    "Registry",
    "Request",
    "StoredDocument",
    "View",
    "alliance_etag",
]
