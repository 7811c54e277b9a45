"""Storage: sqlmodel tables, the repository, and the hash-chained change log."""

from registry.store.database import DatabaseError
from registry.store.repository import ChainBroken, Draft, Entry, Proof, Store, StoredDocument, Write

__all__ = [
    "ChainBroken",
    "DatabaseError",
    "Draft",
    "Entry",
    "Proof",
    "Store",
    "StoredDocument",
    "Write",
]
