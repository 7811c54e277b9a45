"""Engines for SQLite (the embedded default) and PostgreSQL, and the schema version.

SQLite runs in WAL mode so readers never wait for the writer, with a busy timeout
so concurrent writers queue instead of failing. PostgreSQL URLs use psycopg 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine, select

from registry.store.tables import SCHEMA_VERSION, RegistryState

BUSY_TIMEOUT_MS = 30_000

# version -> the step that brings a database from the version before it. Version 1
# is the first schema, created whole by `create_all`.
MIGRATIONS: dict[int, Callable[[Session], None]] = {}


class DatabaseError(RuntimeError):
    """A database the registry cannot use: unreachable, or of a newer schema."""


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def connect(url: str) -> Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def prepare(engine: Engine) -> None:
    """Create the tables of a new database, or migrate an older one to this version."""
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        state = session.exec(select(RegistryState)).first()
        if state is None:
            session.add(RegistryState(id=1, schema_version=SCHEMA_VERSION, generation=0))
            try:
                session.commit()
            except IntegrityError:  # another process created it first
                session.rollback()
            return
        if state.schema_version > SCHEMA_VERSION:
            raise DatabaseError(
                f"the database has schema version {state.schema_version}, newer than this "
                f"registry's {SCHEMA_VERSION}; upgrade alliance-registry"
            )
        for version in range(state.schema_version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](session)
            state.schema_version = version
        session.commit()
