"""Storage: sqlmodel tables, the repository, and the hash-chained change log."""

from registry.store.database import DatabaseError
from registry.store.repository import Draft, Entry, Store, StoredDocument, Write

__all__ = ["DatabaseError", "Draft", "Entry", "Store", "StoredDocument", "Write"]
