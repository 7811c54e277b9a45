"""The database's schema, for the server commands: upgrade it (migrations are the
store's, `registry/store/migrations/`), or say which revision it is at."""

from registry.store.database import Upgrade, current, head, upgrade

__all__ = ["Upgrade", "current", "head", "upgrade"]
