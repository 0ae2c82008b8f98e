"""Counting what a request asks of the database: its SQL statements, and its durable commits
(commits of a transaction that wrote). A read from a SQLite snapshot ends its read-only
transaction with a COMMIT that writes nothing and is not counted as one (passport.snapshots).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_READS = ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    commits: int = 0  # durable: of transactions that wrote
    read_commits: int = 0  # ends of read-only transactions
    _wrote: bool = False

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def detach(self, engine: Engine) -> None:
        event.remove(engine, "before_cursor_execute", self._statement)
        event.remove(engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)
        if not statement.lstrip().upper().startswith(_READS):
            self._wrote = True

    def _commit(self, _conn: Any) -> None:
        if self._wrote:
            self.commits += 1
        else:
            self.read_commits += 1
        self._wrote = False


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """Every statement run on `engine` inside the block, from any thread, its whitespace
    folded (`BEGIN IMMEDIATE`, `SELECT n FROM access_epoch WHERE id = 1`)."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)
