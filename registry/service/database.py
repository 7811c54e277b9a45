"""The database's schema, for the server commands: upgrade it (migrations are the
store's, `registry/store/migrations/`), say which revision it is at, or whether a
SQLite file is there at all."""

from registry.store.database import Upgrade, current, head, missing_file, upgrade

__all__ = ["Upgrade", "current", "head", "missing_file", "upgrade"]
