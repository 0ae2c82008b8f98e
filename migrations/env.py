"""Alembic environment: the URL comes from Passport's settings (or the caller's connection)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from passport.config import Settings
from passport.db import compare_column_type
from passport.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    engine = engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=compare_column_type,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
