"""The one place that sets up SQLAlchemy.

`session` is a scoped session used by the domain modules. Domain code flushes, never commits:
the request (passport.api/web, via `commit_or_rollback`) or the CLI command owns the unit of
work, so an access-log event always shares the transaction of the read or write it records.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Constraint names by convention, so migrations are stable on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    """Client-side ids: a row's id is known before insert, so its ciphertext can be bound to it."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def IdColumn() -> Any:
    return String(36)


session = scoped_session(sessionmaker(expire_on_commit=False))

# While this thread reads from a SQLite snapshot (passport.snapshots), the writes it would
# make, in order; None otherwise. Its transaction then begins DEFERRED and may not write.
_held_writes: ContextVar[list[Callable[[], object]] | None] = ContextVar(
    "passport_held_writes", default=None
)


class WriteInSnapshot(RuntimeError):
    """A statement that writes ran inside a read snapshot: a programming error (the write
    must go through `write_soon`), never served."""


def write_soon(write: Callable[[], object]) -> None:
    """Make a write now, in the current transaction; or, while this thread reads from a
    snapshot, hold it for the short write transaction that ends the read, where the held
    writes run in the order they were asked for."""
    held = _held_writes.get()
    if held is None:
        write()
    else:
        held.append(write)


@contextmanager
def holding_writes() -> Iterator[list[Callable[[], object]]]:
    """Within the block, this thread's transactions begin DEFERRED (SQLite: no write lock),
    statements that write are refused, and `write_soon` holds writes in the list yielded."""
    held: list[Callable[[], object]] = []
    token = _held_writes.set(held)
    try:
        yield held
    finally:
        _held_writes.reset(token)


@contextmanager
def own_session() -> Iterator[Session]:
    """Within the block, `session` in this thread is a new session of its own (its own
    connection and transaction), for work that must commit apart from the request's unit
    of work (chaining the log for a reader); closed at the end, and the request's session
    is back as it was."""
    registry = session.registry
    outer = registry() if registry.has() else None
    inner = session.session_factory()
    registry.set(inner)
    try:
        yield inner
    finally:
        inner.close()
        if outer is None:
            registry.clear()
        else:
            registry.set(outer)


# How long a new PostgreSQL connection may take before the database counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str) -> Engine:
    """The engine, checking each pooled connection before use (`pool_pre_ping`): after the
    database was away, a dead connection is replaced, so the service recovers by itself."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=True)
        _make_sqlite_transactions_immediate(engine)
        _keep_sqlite_files_private(engine)
        return engine
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


def is_unreachable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database could not be reached or
    answered that it cannot work now — a stopped server, a dropped connection, a database
    refusing connections, SQLite's file gone or locked — rather than refusing a statement."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, DBAPIError) and isinstance(error.orig, sqlite3.Error):
            return _sqlite_unavailable(error.orig)
        if isinstance(error, OperationalError | InterfaceError | DisconnectionError):
            return True
        if _driver_unreachable(error):
            return True
        error = error.__cause__ or error.__context__
    return False


# SQLite reports a mistyped statement as an OperationalError too: only these mean the file
# cannot be used now (gone, unreadable, locked, read-only, full, or not the initialised one).
_SQLITE_UNAVAILABLE = (
    "unable to open database file",
    "database is locked",
    "disk i/o error",
    "readonly database",
    "database or disk is full",
    "no such table",
)


def _sqlite_unavailable(error: BaseException) -> bool:
    message = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and any(
        known in message for known in _SQLITE_UNAVAILABLE
    )


def _driver_unreachable(error: BaseException) -> bool:
    """The drivers' own exceptions, when raised outside SQLAlchemy (psycopg's COPY)."""
    if isinstance(error, sqlite3.Error):
        return _sqlite_unavailable(error)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def unreachable_reason(engine: Engine) -> str | None:
    """Why a new connection to the database fails, in plain words (None if it works).
    A SQLite file that does not exist yet is not opened (that would create it)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        from pathlib import Path

        if not Path(database).exists():
            return None
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as error:
        where = engine.url.render_as_string(hide_password=True)
        return f"the database at {where} cannot be reached ({type(error).__name__})"
    return None


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and BEGIN IMMEDIATE so writers queue instead of failing;
    except that a read from a snapshot (`holding_writes`) begins DEFERRED, taking no lock,
    and is refused any statement that writes.

    pysqlite's own transaction handling defers BEGIN; taking it over is the recipe in the
    SQLAlchemy SQLite dialect documentation ("Serializable isolation / Savepoints").
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = _held_writes.get() is not None
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_in_snapshot(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _held_writes.get() is not None and not statement.lstrip()[:8].upper().startswith(_READS):
            raise WriteInSnapshot(f"a write inside a read snapshot: {statement[:60]}")


# What a read snapshot may run: anything else writes (or could).
_READS = ("SELECT", "BEGIN", "ROLLBACK", "PRAGMA")

PRIVATE_FILE_MODE = 0o600


def _keep_sqlite_files_private(engine: Engine) -> None:
    """The SQLite file holds sealed records, password hashes and the log: only the service's
    user may read it. A new file is created mode 0600 before SQLite opens it (SQLite gives
    its -wal and -shm files the database file's mode); an existing one, and its -wal and
    -shm, are narrowed to 0600 on every new connection."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)

    @event.listens_for(engine, "do_connect")
    def _create_private(*_args: Any) -> None:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        except FileExistsError:
            pass
        except OSError:
            pass  # the folder is missing or read-only: SQLite's own open says so

    @event.listens_for(engine, "connect")
    def _narrow(*_args: Any) -> None:
        for name in (path, path + "-wal", path + "-shm"):
            try:
                if os.stat(name).st_mode & 0o777 != PRIVATE_FILE_MODE:
                    os.chmod(name, PRIVATE_FILE_MODE)
            except FileNotFoundError:
                continue
            except OSError as error:
                logging.getLogger("passport").warning(
                    "cannot make %s private (mode 0600): %s", name, error.strerror
                )


def bind(engine: Engine) -> None:
    session.remove()
    session.configure(bind=engine)


def add_unique(row: Base, conflict: Exception) -> None:
    """Insert a row whose uniqueness is a rule (one revocation per grant, one review per
    break-glass, one revision number per entry...). A duplicate — even one racing in from
    another request — raises `conflict` instead of a 500, and the savepoint keeps the rest of
    the transaction (its access-log events included) usable."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise conflict from None


def compare_column_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Alembic's type comparison, except that on SQLite a VARCHAR's length is not compared:
    SQLite ignores it, and changing it there would need a batch copy of the table, which drops
    the append-only triggers. PostgreSQL compares lengths as usual (None: Alembic decides)."""
    if (
        context.dialect.name == "sqlite"
        and isinstance(inspected_type, String)
        and isinstance(metadata_type, String)
    ):
        # VARCHAR(10) and VARCHAR(20) are the same type there; TEXT is another.
        return bool(inspected_type._type_affinity is not metadata_type._type_affinity)
    return None
