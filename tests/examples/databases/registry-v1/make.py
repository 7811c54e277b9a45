"""How the files beside this one were made: a registry database written by the code
before migrations (commit af93443), dumped as plain SQL. Kept to show their origin;
the tests never run it, and it only makes the same files when run at that commit:

    git worktree add /tmp/registry-v1 af93443 && cd /tmp/registry-v1
    REGISTRY_TEST_POSTGRES_URL=postgresql+psycopg://... python PATH/TO/make.py

`schema.sqlite.sql` is SQLite's own record of the tables (sqlite_master);
`schema.postgresql.sql` is the DDL the same code sent to PostgreSQL; `rows.sql` holds
every row, in statements both engines run (booleans as TRUE and FALSE).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.getcwd())

from sqlalchemy import Engine, event  # noqa: E402

from registry.serve import examples_dir, seed  # noqa: E402
from registry.service.writes import Request, write  # noqa: E402
from registry.store import Store  # noqa: E402
from tests.conftest import MINIMAL, PARTNERS, write_files  # noqa: E402

TABLES = {  # table -> its columns, in the order the v1 tables declare them
    "registry_state": ["id", "schema_version", "generation"],
    "alliances": ["name", "revision", "head", "created"],
    "documents": ["id", "alliance", "kind", "name", "revision", "body", "etag", "deleted",
                  "current"],
    "changes": ["seq", "alliance", "revision", "at", "actor", "action", "forced", "documents",
                "previous", "hash"],
    "tokens": ["id", "hash", "role", "alliance", "partner", "name", "created", "revoked"],
}  # fmt: skip
CABLENET = """\
apiVersion: alliance-registry/v1
kind: Partner
metadata: {name: cablenet, alliance: metro-home}
spec:
  legalName: CableNet GmbH
  contacts:
    - {name: duty-manager, email: noc@cablenet.example}
"""


def fill(store: Store, folder: Path) -> None:
    """Two alliances through the write path: updates, an addition, a deletion, a forced
    write of two documents, and tokens (one revoked)."""
    seed(store, [write_files(folder / "metro-home", MINIMAL), examples_dir() / "condominium"])
    manager = "ines (manager)"
    renamed = PARTNERS.replace("FastNet Ltd", "FastNet plc")
    write(store, Request("metro-home", [("partners.yaml", renamed)]), manager, "apply")
    write(store, Request("metro-home", [("cablenet.yaml", CABLENET)]), manager, "put")
    write(store, Request("metro-home", deletes=["Partner/cablenet"]), manager, "delete")
    waivers = (examples_dir() / "condominium" / "waivers.yaml").read_text()
    pending = waivers.partition("\n---\n")[0]
    contracts = (examples_dir() / "condominium" / "contracts.yaml").read_text()
    moved = contracts.replace("respondWithin: PT4H", "respondWithin: PT2H")
    asked = Request(
        "condominium",
        [("contracts.yaml", moved)],
        deletes=["Waiver/ev-chargers-supplier-pending"],
        force=True,
    )
    write(store, asked, "olga (manager)", "apply")
    write(store, Request("condominium", [("pending.yaml", pending)]), "olga (manager)", "put")
    store.create_token("admin", None, None, "root")
    auditor, _ = store.create_token("auditor", "metro-home", None, "ines")
    store.create_token("partner", "metro-home", "fastnet", "fastnet desk")
    store.revoke_token(auditor)


def literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def dump_rows(path: Path, database: Path) -> None:
    connection = sqlite3.connect(database)
    lines = []
    for table, columns in TABLES.items():
        booleans = {"deleted", "current", "forced"}
        for row in connection.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1"):
            values = [
                literal(bool(v)) if c in booleans else literal(v)
                for c, v in zip(columns, row, strict=True)
            ]
            names, listed = ", ".join(columns), ", ".join(values)
            lines.append(f"INSERT INTO {table} ({names}) VALUES ({listed});")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def dump_sqlite_schema(path: Path, database: Path) -> None:
    connection = sqlite3.connect(database)
    rows = connection.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
    path.write_text("".join(f"{sql};\n\n" for (sql,) in rows), encoding="utf-8")


def dump_postgresql_schema(path: Path, url: str) -> None:
    import psycopg  # noqa: PLC0415 - only this part needs it

    schema = f"make_v1_{uuid.uuid4().hex[:8]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.lstrip().startswith("CREATE"):
            sent.append(statement.strip())

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with Store(f"{url}?options=-csearch_path%3D{schema}") as store:
            assert store.alliances() == {}
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    path.write_text("".join(f"{s};\n\n" for s in sent), encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "registry.db"
        with Store(f"sqlite:///{database}") as store:
            fill(store, Path(tmp))
            problems = store.verify()
            assert not any(problems.values()), problems
        dump_sqlite_schema(HERE / "schema.sqlite.sql", database)
        dump_rows(HERE / "rows.sql", database)
    dump_postgresql_schema(HERE / "schema.postgresql.sql", os.environ["REGISTRY_TEST_POSTGRES_URL"])


if __name__ == "__main__":
    main()
