"""Models and migrations agree (Warehouse's bin/db-check idea), and the database itself keeps
the record append-only."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from passport import db
from passport.cli import MIGRATIONS
from passport.models import Base
from passport.records.models import Entry, Revision

from .conftest import BACKEND


def _context(connection: Connection) -> MigrationContext:
    # The same comparison options as migrations/env.py.
    return MigrationContext.configure(
        connection, opts={"compare_type": db.compare_column_type, "render_as_batch": True}
    )


def _head() -> str:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def test_the_test_database_is_at_head(connection):
    assert _context(connection).get_current_revision() == _head()


def test_models_and_migrations_agree(connection):
    differences = compare_metadata(_context(connection), Base.metadata)
    assert differences == [], "models and migrations disagree; write a migration:\n" + "\n".join(
        map(str, differences)
    )


def test_the_comparison_would_see_a_difference(connection):
    """Control: a model change without a migration is reported."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    Table("not_migrated", changed, Column("id", Integer, primary_key=True))
    changed.tables["staff"].append_column(Column("nickname", String(20)))
    differences = compare_metadata(_context(connection), changed)
    assert [d[1].name for d in differences if d[0] == "add_table"] == ["not_migrated"]
    assert [d[3].name for d in differences if d[0] == "add_column"] == ["nickname"]


def test_every_model_table_exists(connection):
    tables = set(inspect(connection).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_migrations_go_down_and_up_again(fresh_app):
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = fresh_app.extensions["passport_engine"]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        assert _context(connection).get_current_revision() == _head()
        assert compare_metadata(_context(connection), Base.metadata) == []


# -- append-only ------------------------------------------------------------------------------


@pytest.fixture
def written(make):
    person = make.person()
    entry = make.entry(person, person, "story", {"text": "kept forever"})
    return person, entry


def _refused(connection: Connection, statement: str, **params: str) -> str:
    with pytest.raises(DBAPIError) as raised, connection.begin_nested():
        connection.execute(text(statement), params)
    return str(raised.value.orig)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE revisions SET status = 'retired' WHERE id = :revision_id",
        "UPDATE revisions SET content = content WHERE id = :revision_id",
        "DELETE FROM revisions WHERE id = :revision_id",
        "UPDATE entries SET section = 'risk' WHERE id = :entry_id",
        "DELETE FROM entries WHERE id = :entry_id",
    ],
)
def test_the_database_refuses_to_change_history(connection, written, statement):
    _, entry = written
    message = _refused(connection, statement, revision_id=entry.revision_id, entry_id=entry.id)
    assert "append-only" in message
    # Still there, unchanged.
    row = connection.execute(
        select(Revision.status, Revision.section).where(Revision.id == entry.revision_id)
    ).one()
    assert tuple(row) == ("current", "story")
    assert connection.execute(select(Entry.section).where(Entry.id == entry.id)).scalar_one() == (
        "story"
    )


def test_the_orm_cannot_change_a_revision_either(written):
    _, entry = written
    revision = db.session.get(Revision, entry.revision_id)
    assert revision is not None
    revision.status = "retired"
    with pytest.raises(DBAPIError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Revision, entry.revision_id).status == "current"


@pytest.mark.skipif(BACKEND != "postgresql", reason="TRUNCATE is PostgreSQL's")
@pytest.mark.parametrize("table", ["revisions", "entries"])
def test_postgresql_refuses_truncate(connection, written, table):
    message = _refused(connection, f"TRUNCATE {table} CASCADE")
    assert "append-only" in message


def test_a_migrated_database_has_the_append_only_triggers(connection):
    if BACKEND == "postgresql":
        names = set(
            connection.execute(
                text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            ).scalars()
        )
        expected = {
            "revisions_append_only",
            "entries_append_only",
            "revisions_no_truncate",
            "consent_confirmations_append_only",
        }
    else:
        names = set(
            connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        )
        expected = {
            "revisions_no_update",
            "revisions_no_delete",
            "entries_no_update",
            "consent_confirmations_no_update",
        }
    assert expected <= names


def test_migrations_are_named_by_date():
    versions = Path(MIGRATIONS) / "versions"
    for path in versions.glob("*.py"):
        assert path.name[:8].isdigit(), path.name
