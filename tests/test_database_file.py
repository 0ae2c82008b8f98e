"""The embedded SQLite database file, and its -wal and -shm files, are readable by the
service's user only (mode 0600), whatever the umask; an existing wider file is narrowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from passport import db


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual default: new files would be world-readable
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_file_is_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "passport.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert wal.exists() and shm.exists()  # WAL mode: both are there while open
            assert mode(path) == 0o600
            assert mode(wal) == 0o600 and mode(shm) == 0o600
    finally:
        engine.dispose()


def test_an_existing_readable_database_file_is_narrowed(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "passport.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    assert mode(path) == 0o644
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert mode(path) == 0o600
        for suffix in ("-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            assert not extra.exists() or mode(extra) == 0o600
    finally:
        engine.dispose()


def test_the_suites_own_database_file_is_private(app: Flask) -> None:
    engine = app.extensions["passport_engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("the PostgreSQL pass has no database file")
    assert mode(Path(engine.url.database)) == 0o600
