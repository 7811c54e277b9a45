"""Storage: sqlmodel tables, the repository, and the hash-chained change log."""

from registry.store.database import Busy, DatabaseError
from registry.store.notify import Listener
from registry.store.repository import (
    CannotSign,
    Draft,
    Entry,
    Proof,
    Store,
    StoredDocument,
    Write,
)

__all__ = [
    "Busy",
    "CannotSign",
    "DatabaseError",
    "Draft",
    "Entry",
    "Listener",
    "Proof",
    "Store",
    "StoredDocument",
    "Write",
]
