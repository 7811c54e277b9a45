"""The schema's migrations on SQLite and PostgreSQL: a database made before migrations
is adopted and upgraded in place with every document, ETag and log entry intact; a new
database is made by the revisions; a newer one is refused; concurrent starts agree."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_type_hints

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from registry.access import digest
from registry.model import API_VERSION, Document
from registry.store import DatabaseError, Store, Write
from registry.store.database import MIGRATIONS, Upgrade, connect, head, upgrade
from tests.live import LiveServer, _environment, registry_command

V1 = Path(__file__).parent / "examples" / "databases" / "registry-v1"
# The tables of the releases before migrations and their columns, as rows.sql lists them.
V1_COLUMNS = {
    "registry_state": "id, schema_version, generation",
    "alliances": "name, revision, head, created",
    "documents": "id, alliance, kind, name, revision, body, etag, deleted, current",
    "changes": "seq, alliance, revision, at, actor, action, forced, documents, previous, hash",
    "tokens": "id, hash, role, alliance, partner, name, created, revoked",
}
SERIALS = {"documents": "id", "changes": "seq", "tokens": "id"}
VERSIONS = {"documents": "api_version"}
FASTNET_PLC = '"65c2cb6632bdc7df867eb6535bfee449"'  # the ETag of Partner/fastnet at revision 2


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A side door into the test's database, beside any store."""
    opened = connect(database_url)
    yield opened
    opened.dispose()


def statements(path: Path) -> Iterator[str]:
    """The SQL statements of a file (string literals span lines)."""
    statement = ""
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement.strip()
            statement = ""
    assert not statement.strip(), f"{path.name} ends inside a statement"


def load_v1(engine: Engine, rows: bool = True) -> None:
    """The database the releases before migrations made (tests/examples/databases),
    restored as a dump is: their DDL, the rows, then the id sequences."""
    dialect = engine.dialect.name
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for statement in statements(V1 / f"schema.{dialect}.sql"):
            cursor.execute(statement)
        if not rows:
            return
        for statement in statements(V1 / "rows.sql"):
            cursor.execute(statement)
        if dialect == "postgresql":
            for table, column in SERIALS.items():
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"(SELECT max({column}) FROM {table}))"
                    )
                )


def rows(engine: Engine, columns: dict[str, str] = V1_COLUMNS) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table: [
                tuple(r) for r in connection.execute(text(f"SELECT {c} FROM {table} ORDER BY 1"))
            ]
            for table, c in columns.items()
        }


def revisions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def layout(engine: Engine) -> dict[str, Any]:
    """The registry's tables as the database describes them: columns, keys, indexes."""
    found = inspect(engine)
    described: dict[str, Any] = {}
    for table in sorted(set(found.get_table_names()) - {"alembic_version"}):
        described[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c["default"], c.get("autoincrement"))
                for c in found.get_columns(table)
            ],
            "primary key": found.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in found.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in found.get_indexes(table)
            ),
        }
    if engine.dialect.name == "sqlite":  # SQLite keeps each table's DDL as it was sent
        with engine.connect() as connection:
            described["sql"] = sorted(
                connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE tbl_name != 'alembic_version'")
                ).all()
            )
    return described


def migrate(engine: Engine, action: str, target: str) -> None:
    """Alembic's `upgrade` or `downgrade` to `target`, as a checkout would run it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, target)


# -- a database made before migrations -----------------------------------------------


def test_a_database_made_before_migrations_is_adopted(engine: Engine, database_url: str) -> None:
    load_v1(engine)
    before = rows(engine)
    assert upgrade(database_url) == Upgrade("0001", "0005", adopted=True)
    assert revisions(engine) == ["0005"]
    after = rows(engine)
    # Bodies, ETags, the log, the tokens: as they were; schema version 2 (0003's).
    [(state, version, generation)] = after.pop("registry_state")
    assert (state, version, [generation]) == (1, 2, [g for _, _, g in before.pop("registry_state")])
    assert after == before
    assert set(rows(engine, VERSIONS)["documents"]) == {("alliance-registry/v1",)}
    with Store(database_url) as store:
        assert store.verify() == {"condominium": [], "metro-home": []}
        assert store.alliances() == {"condominium": 3, "metro-home": 4}
        # Every token is adopted into the token log, so the ones in force still load.
        assert store.verify_tokens() == []
        in_force = [row.hash for row in store.tokens() if row.revoked is None]
        assert sorted(store.principals()) == sorted(in_force) and in_force
        served = {
            (alliance, d.kind, d.name, d.revision): d.etag
            for alliance in ("condominium", "metro-home")
            for d in store.documents(alliance)
        }
        deleted = store.document("metro-home", "Partner", "cablenet", revision=3)
        assert deleted is not None and deleted.etag == '"33eb1e02b442273beca34525b2025b62"'
        assert store.document("metro-home", "Partner", "cablenet") is None
    current = {r[1:5]: r[6] for r in before["documents"] if r[8] and not r[7]}
    assert served == current


def test_an_upgraded_database_records_the_model_version_of_new_writes(
    engine: Engine, database_url: str
) -> None:
    load_v1(engine)
    with Store(database_url) as store:
        fastnet = store.document("metro-home", "Partner", "fastnet")
        assert fastnet is not None
        renamed = Write("Partner", "fastnet", fastnet.body.replace("FastNet plc", "FastNet AG"))
        with store.writing("metro-home") as draft:
            draft.commit([renamed], "tester (manager)", "put")
        assert store.verify() == {"condominium": [], "metro-home": []}
    newest = rows(engine, {"documents": "id, revision, api_version"})["documents"][-1]
    assert newest == (27, 5, API_VERSION)


def test_the_model_version_the_store_records_is_the_one_documents_carry() -> None:
    assert get_args(get_type_hints(Document)["api_version"]) == (API_VERSION,)


def test_a_second_upgrade_changes_nothing(engine: Engine, database_url: str) -> None:
    load_v1(engine)
    upgrade(database_url)
    before = rows(engine)
    assert upgrade(database_url) == Upgrade("0005", "0005")
    assert rows(engine) == before
    assert revisions(engine) == ["0005"]


def test_a_database_left_without_its_state_row_gets_one(engine: Engine, database_url: str) -> None:
    """The releases before migrations created the state row just after the tables."""
    load_v1(engine, rows=False)
    assert upgrade(database_url) == Upgrade("0001", "0005", adopted=True)
    assert rows(engine)["registry_state"] == [(1, 2, 0)]


# -- new and newer databases ----------------------------------------------------------


def test_a_new_database_is_made_by_the_revisions(engine: Engine, database_url: str) -> None:
    with Store(database_url) as store:
        assert store.generation() == 0
    assert revisions(engine) == [head()]
    assert rows(engine)["registry_state"] == [(1, 2, 0)]
    assert upgrade(database_url) == Upgrade(head(), head())


def test_the_first_revision_is_the_schema_before_migrations(engine: Engine) -> None:
    migrate(engine, "upgrade", "0001")
    made = layout(engine)
    migrate(engine, "downgrade", "base")
    assert layout(engine) == ({"sql": []} if engine.dialect.name == "sqlite" else {})
    load_v1(engine)
    assert layout(engine) == made


def test_a_downgrade_to_the_first_revision_drops_the_model_version(
    engine: Engine, database_url: str
) -> None:
    load_v1(engine)
    made = layout(engine)
    upgrade(database_url)
    assert layout(engine) != made
    migrate(engine, "downgrade", "0001")
    assert layout(engine) == made
    assert revisions(engine) == ["0001"]


def test_a_downgrade_to_0002_drops_the_checkpoints_and_the_token_log(
    engine: Engine, database_url: str
) -> None:
    migrate(engine, "upgrade", "0002")
    made = layout(engine)
    upgrade(database_url)
    assert {"checkpoints", "token_changes"} <= set(layout(engine))
    migrate(engine, "downgrade", "0002")
    assert layout(engine) == made
    assert rows(engine)["registry_state"] == [(1, 1, 0)]


def test_a_downgrade_to_0003_drops_the_event_tables(engine: Engine, database_url: str) -> None:
    migrate(engine, "upgrade", "0003")
    made = layout(engine)
    upgrade(database_url)
    events = {"subscriptions", "events", "deliveries", "delivery_attempts", "leases"}
    assert events | {"calendar_marks"} <= set(layout(engine))
    migrate(engine, "downgrade", "0003")
    assert layout(engine) == made


def test_a_downgrade_to_0004_drops_the_decision_log(engine: Engine, database_url: str) -> None:
    migrate(engine, "upgrade", "0004")
    made = layout(engine)
    upgrade(database_url)
    assert {"decisions", "decision_heads"} <= set(layout(engine))
    migrate(engine, "downgrade", "0004")
    assert layout(engine) == made


def test_the_tables_are_what_the_revisions_make(engine: Engine, database_url: str) -> None:
    """A change to registry/store/tables.py comes with its revision."""
    upgrade(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_a_newer_revision_is_refused(engine: Engine, database_url: str) -> None:
    upgrade(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(DatabaseError) as refused:
        Store(database_url)
    assert str(refused.value) == (
        "the database has schema revision 0999, newer than this registry's 0005; "
        "upgrade alliance-registry"
    )


@pytest.mark.slow
def test_processes_starting_together_agree(engine: Engine, database_url: str) -> None:
    """Workers of one server start at once on a new database: one makes the schema,
    the others wait for it (PostgreSQL: an advisory lock; SQLite: the write lock)."""
    start = time.time() + 5  # every process has imported the registry by then
    script = (
        "import sys, time; from registry.store.database import upgrade; "
        "time.sleep(max(0, float(sys.argv[2]) - time.time())); print(upgrade(sys.argv[1]))"
    )
    started = [
        subprocess.Popen(
            [sys.executable, "-c", script, database_url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120) for process in started]
    assert [p.returncode for p in started] == [0, 0, 0], [err for _, err in outputs]
    made = [out for out, _ in outputs if "before=None" in out]
    assert len(made) == 1, outputs
    assert revisions(engine) == [head()]
    assert rows(engine)["registry_state"] == [(1, 2, 0)]


# -- the door: registry db, registry serve --------------------------------------------


@pytest.mark.slow  # runs the command line in its own process
def test_registry_db_upgrade_and_current(engine: Engine, database_url: str) -> None:
    load_v1(engine)
    runs = [
        registry_command("db", "current", database_url=database_url),
        registry_command("db", "upgrade", database_url=database_url),
        registry_command("db", "upgrade", database_url=database_url),
        registry_command("db", "current", database_url=database_url),
    ]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs] == [
        (0, "none: made before migrations; registry db upgrade brings it to 0005\n", ""),
        (
            0,
            "upgraded the database from revision 0001 (adopted: made before migrations) to "
            "revision 0005\n",
            "",
        ),
        (0, "the database is at revision 0005 already; nothing to do\n", ""),
        (0, "revision 0005, the newest\n", ""),
    ]


@pytest.mark.slow  # runs the command line in its own process
def test_registry_db_upgrade_refuses_a_newer_database(engine: Engine, database_url: str) -> None:
    upgrade(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    refused = registry_command("db", "upgrade", database_url=database_url)
    assert (refused.returncode, refused.stdout, refused.stderr) == (
        2,
        "",
        "registry: the database has schema revision 0999, newer than this registry's 0005; "
        "upgrade alliance-registry\n",
    )
    assert revisions(engine) == ["0999"]


@pytest.mark.slow
def test_serving_a_database_made_before_migrations_upgrades_it(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    load_v1(engine)
    with LiveServer(database_url, tmp_path / "serve.log") as server:
        assert revisions(engine) == ["0005"]
        with Store(database_url) as store:
            _, secret = store.create_token("admin", None, None, "test")
            assert digest(secret) in store.principals()
        got = httpx.get(
            server.url("/v1/alliances/metro-home/documents/Partner/fastnet"),
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert got.status_code == 200, got.text
    assert (got.headers["etag"], got.headers["x-revision"]) == (FASTNET_PLC, "2")
    assert (
        "registry: upgraded the database from revision 0001 (adopted: made before migrations) "
        "to revision 0005\n"
    ) in server.output()
