"""The service layer: the one place where the registry is read or written.

`Registry` (registry.py) is what the doors hold; `live` keeps each process's view of
the current revisions and tokens, `writes` is the one write path. The store's record
types are re-exported here so a door never imports `registry.store`.
"""

from registry.service.decisions import Recorder, Replay
from registry.service.evidence import Verified
from registry.service.evidence import verify as verify_evidence
from registry.service.live import View, Views
from registry.service.registry import NoCheckpoint, Registry
from registry.service.writes import (
    AddsErrors,
    DocumentResult,
    Outcome,
    Request,
    alliance_etag,
)
from registry.store import Entry, Proof, StoredDocument
from registry.store.chain import TOKEN_LOG
from registry.store.decisions import Filters
from registry.store.tables import MAX_REVISION

__all__ = [
    "MAX_REVISION",
    "TOKEN_LOG",
    "AddsErrors",
    "DocumentResult",
    "Entry",
    "Filters",
    "NoCheckpoint",
    "Outcome",
    "Proof",
    "Recorder",
    "Registry",
    "Replay",
    "Request",
    "StoredDocument",
    "Verified",
    "View",
    "Views",
    "alliance_etag",
    "verify_evidence",
]
