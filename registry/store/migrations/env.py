"""How alembic runs the registry's migrations.

At run time `registry.store.database.prepare` hands over its connection, already
inside the transaction that holds the upgrade lock; alembic then neither begins nor
commits anything. From a checkout, `alembic revision --autogenerate` (configured in
pyproject.toml) compares the tables with the database REGISTRY_DATABASE_URL names.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import registry.store.tables  # noqa: F401 - fills SQLModel.metadata for autogenerate
from registry.settings import DEFAULT_DATABASE_URL
from registry.store.database import connect


def render_item(type_: str, item: Any, _context: AutogenContext) -> str | Literal[False]:
    """Plain `sa.String()` for sqlmodel's strings, so revisions import only sqlalchemy."""
    if type_ == "type" and isinstance(item, AutoString):
        return "sa.String()"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_item=render_item,
        render_as_batch=True,  # SQLite changes most columns by copying the table
    )
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = connect(os.environ.get("REGISTRY_DATABASE_URL", DEFAULT_DATABASE_URL))
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()
