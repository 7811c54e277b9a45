"""Storage: sqlmodel tables, the repository, and the hash-chained change log."""

from registry.store.database import Busy, DatabaseError
from registry.store.repository import Draft, Entry, Store, StoredDocument, Write

__all__ = ["Busy", "DatabaseError", "Draft", "Entry", "Store", "StoredDocument", "Write"]
