"""Engines for SQLite (the embedded default) and PostgreSQL, and the schema's migrations.

SQLite runs in WAL mode so readers never wait for the writer, with a busy timeout
so concurrent writers queue instead of failing; PostgreSQL write transactions set the
same bound as their lock timeout. A write still waiting when it runs out is `Busy`
(503 with Retry-After at the API), never a crash. PostgreSQL URLs use psycopg 3.

The schema is alembic's: the revisions in `migrations/versions/` create it and change
it, run by `prepare` on the store's own connection (no alembic.ini at run time).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine

from registry.errors import Unavailable
from registry.store.tables import SCHEMA_VERSION

# How long a write waits for another one's lock. A write holds the lock only while it
# commits what it checked beforehand (milliseconds; a few seconds for the largest
# alliance), so a longer wait means something holds it that should not: say so.
BUSY_TIMEOUT_MS = 5_000
RETRY_AFTER_SECONDS = 2
# How long a process starting waits for another one's upgrade (a migration may take a
# while on a large database): SQLite's busy timeout, for that one transaction.
UPGRADE_WAIT_MS = 120_000
# PostgreSQL's SQLSTATE for a lock not obtained within lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision that is the schema of the releases before migrations: a database they
# made is stamped with it, then upgraded.
BEFORE_MIGRATIONS = "0001"
# PostgreSQL advisory lock taken around an upgrade: a number of our own (b"registry").
UPGRADE_LOCK = 0x7265676973747279
# Alembic keeps the migration running in module globals: one at a time per process.
_running = threading.Lock()


class DatabaseError(Unavailable):
    """A database the registry cannot use: unreachable, or of a newer schema."""


class Busy(Unavailable):
    """A write waited longer than BUSY_TIMEOUT_MS for another one's lock; nothing of
    it was written."""

    def __init__(self) -> None:
        super().__init__(
            f"the database is busy: another write held its lock for over "
            f"{BUSY_TIMEOUT_MS / 1000:g} s; nothing was written: try again shortly",
            retry_after=RETRY_AFTER_SECONDS,
        )


def is_lock_wait(error: OperationalError) -> bool:
    """Whether the driver gave up waiting for a lock (SQLite's busy timeout,
    PostgreSQL's lock_timeout)."""
    if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(error.orig)


def bound_lock_waits(connection: Connection) -> None:
    """Make a write transaction give up waiting for a lock after BUSY_TIMEOUT_MS
    (SQLite has it from its connection's busy timeout)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {BUSY_TIMEOUT_MS}")


@dataclass(frozen=True)
class Upgrade:
    """What `prepare` did: the revision found (None: an empty database) and the one
    left; `adopted` when the database was made before migrations."""

    before: str | None
    after: str
    adopted: bool = False


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def missing_file(url: str) -> Path | None:
    """The file a SQLite URL names when there is none yet (opening it would make it);
    None for a file that is there, an in-memory database or another engine's URL."""
    if not is_sqlite(url):
        return None
    name = make_url(normalise_url(url)).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name)
    return None if path.exists() else path


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


def head() -> str:
    """The newest revision this registry knows."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def prepare(engine: Engine) -> Upgrade:
    """Bring the database to this registry's schema: create it when empty, adopt one
    made before migrations, upgrade an older one; refuse one newer than this code."""
    with engine.connect() as connection:
        found, _ = _found(connection)
    if found == head():
        return Upgrade(found, found)
    with _running, engine.connect() as connection:
        try:
            _lock(connection)
            found, adopted = _found(connection)  # again: another process may have upgraded it
            if adopted:
                _adopt(connection)
                found = BEFORE_MIGRATIONS
            if found != head():
                command.upgrade(_config(connection), "head")
            connection.commit()
        finally:
            _unlock(connection)
    return Upgrade(found, head(), adopted)


def upgrade(url: str) -> Upgrade:
    engine = connect(url)
    try:
        return prepare(engine)
    finally:
        engine.dispose()


def current(url: str) -> tuple[str | None, bool]:
    """The database's revision, unchanged (None: none yet), and whether releases
    before migrations made it."""
    engine = connect(url)
    try:
        with engine.connect() as connection:
            return _found(connection)
    finally:
        engine.dispose()


def revision_of(connection: Connection) -> str | None:
    """The database's schema revision as alembic stamped it (None: none)."""
    return MigrationContext.configure(connection).get_current_revision()


def _found(connection: Connection) -> tuple[str | None, bool]:
    """The database's revision and whether releases before migrations made it (their
    tables, no revision); refuses a database newer than this registry."""
    found = MigrationContext.configure(connection).get_current_revision()
    if found is not None and found not in _known():
        raise DatabaseError(
            f"the database has schema revision {found}, newer than this registry's "
            f"{head()}; upgrade alliance-registry"
        )
    if not inspect(connection).has_table("registry_state"):
        return found, False
    version = connection.execute(
        text("SELECT schema_version FROM registry_state WHERE id = 1")
    ).scalar()
    if version is not None and version > SCHEMA_VERSION:
        raise DatabaseError(
            f"the database has schema version {version}, newer than this "
            f"registry's {SCHEMA_VERSION}; upgrade alliance-registry"
        )
    return found, found is None


def _lock(connection: Connection) -> None:
    """Begin the upgrade's transaction holding a lock that other processes starting
    on the same database wait for; the commit releases it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
    else:  # SQLite: the write lock, taken now; another process upgrading is waited for
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {UPGRADE_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _unlock(connection: Connection) -> None:
    """Give the connection back to the pool with the writes' busy timeout."""
    if connection.dialect.name == "sqlite":
        connection.rollback()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _adopt(connection: Connection) -> None:
    """Stamp a database made before migrations with the revision it already is. Those
    releases created the state row just after the tables: a crash between left none."""
    if connection.execute(text("SELECT count(*) FROM registry_state")).scalar() == 0:
        connection.execute(
            text("INSERT INTO registry_state (id, schema_version, generation) VALUES (1, 1, 0)")
        )
    command.stamp(_config(connection), BEFORE_MIGRATIONS)


def _config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, made here: no alembic.ini is read at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())
