"""`passport backup create|restore`: a consistent copy of the database and the checkpoint file,
and its return into an empty database and home. Never key material: the keyring (or the
PKCS#11 token), the audit signing key and the PIN are kept apart from the backups (README
"Operating").

A backup is a folder:

- `manifest.json`: the backup format version, when it was made, the backend, the log's
  `log_id`, the database's `database_id`, the log's head (seq and hash) in the copy, the
  schema revision, and each file with its size and SHA-256;
- `database.sqlite3` (SQLite's online backup API: consistent while the service runs) or
  `database.pgdump` (`pg_dump --format=custom`, in the snapshot the head was read in);
- `checkpoints.jsonl`: the checkpoint file's whole lines, copied *before* the database, so
  every line names a checkpoint the copy holds.

A restore gives the restored database a new `database_id` (the old one is kept as
`restored_from`), and writes the backup's checkpoint lines, carrying the new id, to the
configured checkpoint file. The log (`log_id`) and its chain go on unchanged, so the restored
copy is the original's successor after a disaster; and a copy restored beside a still-running
original can never append to, or fork, the original's checkpoint file: that file names
another database, so the copy refuses it (docs/checkpoint-file.md). A restore never
overwrites: it refuses a database that holds any table and a checkpoint file that exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url

from .audit import checkpoint_file
from .config import Settings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
CHECKPOINTS_FILE = "checkpoints.jsonl"
GENESIS_HASH = "0" * 64
# SQLite pages copied per step of the online backup: other writers get the database between.
SQLITE_PAGES_PER_STEP = 1024

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore refused or failed: the message says why, in plain words, and
    what was (not) changed."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    created_at: str
    backend: str
    log_id: str | None
    database_id: str | None
    head_seq: int
    head_hash: str
    schema_revision: str | None
    checkpoints: int
    files: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "created_at": self.created_at,
            "backend": self.backend,
            "log_id": self.log_id,
            "database_id": self.database_id,
            "head": {"seq": self.head_seq, "entry_hash": self.head_hash},
            "schema_revision": self.schema_revision,
            "checkpoints": self.checkpoints,
            "files": self.files,
            "not_included": [
                "the keyring or PKCS#11 token (keep it apart from the backups)",
                "the audit signing key (keep it apart from the backups)",
                "the token PIN",
            ],
        }


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    database_id: str
    checkpoint_path: Path
    checkpoints: int


def backend_of(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


# -- create ----------------------------------------------------------------------------------


def create(settings: Settings, target: Path, progress: Progress = lambda _: None) -> Manifest:
    """Write a backup of the configured database and checkpoint file into `target`, a new
    or empty folder (mode 0700: the copy holds sealed records and the access log)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty folder: nothing written")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    backend = backend_of(settings.database_url)
    # The checkpoint file first: a line is appended only after its checkpoint commits, so the
    # database copied after it holds every line copied.
    progress("copying the checkpoint file")
    lines = _copy_checkpoint_lines(settings.checkpoints_path, target / CHECKPOINTS_FILE)
    if backend == "sqlite":
        facts = _backup_sqlite(_sqlite_path(settings.database_url), target / SQLITE_FILE, progress)
        database_file = SQLITE_FILE
    else:
        facts = _backup_postgresql(settings.database_url, target / PG_FILE, progress)
        database_file = PG_FILE
    progress("writing the manifest")
    files = {"database": _describe(target / database_file)}
    if lines is not None:
        files["checkpoint_file"] = _describe(target / CHECKPOINTS_FILE)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        backend=backend,
        checkpoints=lines or 0,
        files=files,
        **facts,
    )
    _write_new(target / MANIFEST, (json.dumps(manifest.as_json(), indent=2) + "\n").encode())
    return manifest


def _copy_checkpoint_lines(source: Path, copy: Path) -> int | None:
    """Copy the whole lines of the checkpoint file (a damaged last line is left out), under
    a shared lock so no append is half-read. None if there is no file yet."""
    try:
        fd = os.open(source, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        end = checkpoint_file.tail(fd)
        data = os.pread(fd, end.whole_size, 0) if end.whole_size else b""
    finally:
        os.close(fd)
    _write_new(copy, data)
    return sum(1 for line in data.split(b"\n") if line.strip())


def _facts(rows: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, Any]:
    """What the manifest says about the copied database, read from the copy's own data."""
    settings = {str(k): str(v) for k, v in rows("SELECT key, value FROM audit_settings")}
    head = rows("SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    revision = rows("SELECT version_num FROM alembic_version")
    return {
        "log_id": settings.get("log_id"),
        "database_id": settings.get("database_id"),
        "head_seq": int(head[0][0]) if head else 0,
        "head_hash": str(head[0][1]) if head else GENESIS_HASH,
        "schema_revision": str(revision[0][0]) if revision else None,
    }


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _backup_sqlite(source: Path, copy: Path, progress: Progress) -> dict[str, Any]:
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist: nothing to back up")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    try:
        os.chmod(copy, 0o600)

        def step(status: int, remaining: int, total: int) -> None:
            progress(f"copying the database: {total - remaining} of {total} pages")

        src.backup(dst, pages=SQLITE_PAGES_PER_STEP, progress=step)
        dst.commit()
        facts = _facts(lambda sql: dst.execute(sql).fetchall())
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the SQLite database {source} could not be copied: {error}") from None
    finally:
        dst.close()
        src.close()
    return facts


def libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as libpq takes it (`postgresql://`, no driver), and the
    environment for pg_dump/pg_restore: the password goes in PGPASSWORD, never on a command
    line that `ps` shows."""
    url: URL = make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,  # libpq's own options (sslmode, ...) as psycopg takes them
    )
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client)"
        )
    return found


def _run(argv: list[str], env: dict[str, str], progress: Progress, what: str) -> None:
    """Run a PostgreSQL client program, relaying its verbose lines as progress."""
    errors: list[str] = []
    with subprocess.Popen(  # noqa: S603 (fixed programs, arguments not from a shell)
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            line = line.rstrip()
            if "processing data for table" in line or "dumping contents of table" in line:
                progress(line.split(": ", 1)[-1])
            elif line:
                errors.append(line)
    if process.returncode != 0:
        detail = "; ".join(line for line in errors if "error" in line.lower()) or "; ".join(
            errors[-3:]
        )
        raise BackupError(f"{what} failed: {detail}")


def _backup_postgresql(database_url: str, copy: Path, progress: Progress) -> dict[str, Any]:
    """pg_dump in a snapshot exported by a repeatable-read transaction that reads the
    manifest's facts: the head and the dump are of one instant."""
    pg_dump = _tool("pg_dump")
    url, env = libpq(database_url)
    engine = create_engine(database_url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection, connection.begin():
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            facts = _facts(lambda sql: [tuple(r) for r in connection.execute(text(sql))])
            progress("dumping the database (pg_dump)")
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--verbose",
                    f"--snapshot={snapshot}",
                    f"--file={copy}",
                    f"--dbname={url}",
                ],
                env,
                progress,
                "pg_dump",
            )
    except BackupError:
        raise
    except Exception as error:
        raise BackupError(f"the PostgreSQL database could not be read: {error}") from None
    finally:
        engine.dispose()
    os.chmod(copy, 0o600)
    return facts


# -- restore ---------------------------------------------------------------------------------


def read_manifest(source: Path) -> Manifest:
    """The backup's manifest, checked: its format, and every file's size and SHA-256."""
    path = source / MANIFEST
    if not source.is_dir():
        raise BackupError(f"{source} is not a folder")
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: it is not a Passport backup")
    try:
        raw = json.loads(path.read_text("utf-8"))
        version = raw["format_version"]
        if not isinstance(version, int):
            raise TypeError("format_version")
        if version > FORMAT_VERSION:
            raise BackupError(
                f"the backup's format {version} is newer than this Passport reads "
                f"({FORMAT_VERSION}): restore it with the version that made it"
            )
        manifest = Manifest(
            format_version=version,
            created_at=str(raw["created_at"]),
            backend=str(raw["backend"]),
            log_id=raw["log_id"],
            database_id=raw["database_id"],
            head_seq=int(raw["head"]["seq"]),
            head_hash=str(raw["head"]["entry_hash"]),
            schema_revision=raw["schema_revision"],
            checkpoints=int(raw["checkpoints"]),
            files={str(k): dict(v) for k, v in dict(raw["files"]).items()},
        )
        if manifest.backend not in {"sqlite", "postgresql"} or "database" not in manifest.files:
            raise ValueError("backend")
    except BackupError:
        raise
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, AttributeError):
        raise BackupError(f"the manifest {path} is damaged: it cannot be read") from None
    for role, described in manifest.files.items():
        _check_file(source, role, described)
    return manifest


def _check_file(source: Path, role: str, described: dict[str, Any]) -> None:
    name = str(described.get("name", ""))
    path = source / name
    if not name or "/" in name or not path.is_file():
        raise BackupError(f"the backup's {role} file {name or '(unnamed)'} is missing")
    if path.stat().st_size != described.get("bytes") or _sha256(path) != described.get("sha256"):
        raise BackupError(
            f"the backup's {role} file {name} does not match its manifest: it is damaged"
        )


def restore(settings: Settings, source: Path, progress: Progress = lambda _: None) -> Restored:
    """Load the backup in `source` into the configured database, which must hold no table,
    and its checkpoint lines into the configured checkpoint file, which must not exist.
    Checks everything before it writes anything."""
    manifest = read_manifest(source)
    backend = backend_of(settings.database_url)
    if manifest.backend != backend:
        raise BackupError(
            f"this is a {manifest.backend} backup and the configured database is {backend}: "
            "restore it into the same kind of database"
        )
    target_file = settings.checkpoints_path
    if target_file.exists():
        raise BackupError(
            f"the checkpoint file {target_file} already exists: a restore never overwrites "
            "it. Move it aside (keep it: it witnesses the log it came from) or point "
            "PASSPORT_CHECKPOINT_FILE at a new path; nothing was changed"
        )
    new_id = str(uuid.uuid4())
    if backend == "sqlite":
        _restore_sqlite(source / SQLITE_FILE, _sqlite_path(settings.database_url), progress)
    else:
        _restore_postgresql(source / PG_FILE, settings.database_url, progress)
    progress("giving the restored database its own database_id")
    _set_database_id(settings.database_url, new_id, manifest.database_id)
    progress("writing the checkpoint file")
    count = _restore_checkpoint_lines(source, manifest, target_file, new_id)
    return Restored(manifest, new_id, target_file, count)


def _tables(connection: Connection) -> list[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    else:
        query = (
            "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE "
            "table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        )
    return [str(name) for name in connection.execute(text(query)).scalars()]


def _refuse_non_empty(tables: list[str], where: str) -> None:
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise BackupError(
            f"the configured database {where} is not empty (it holds {len(tables)} tables: "
            f"{shown}): a restore needs an empty database, and nothing was changed. Create a "
            "new, empty database (do not run init-db on it first) and point "
            "PASSPORT_DATABASE_URL at it"
        )


def _restore_sqlite(copy: Path, target: Path, progress: Progress) -> None:
    if target.exists() and target.stat().st_size > 0:
        with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as conn:
            names = [
                str(row[0])
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
        _refuse_non_empty(names, str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        os.chmod(target, 0o600)

        def step(status: int, remaining: int, total: int) -> None:
            progress(f"loading the database: {total - remaining} of {total} pages")

        src.backup(dst, pages=SQLITE_PAGES_PER_STEP, progress=step)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the SQLite backup could not be loaded: {error}") from None
    finally:
        dst.close()
        src.close()


def _restore_postgresql(copy: Path, database_url: str, progress: Progress) -> None:
    pg_restore = _tool("pg_restore")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            _refuse_non_empty(_tables(connection), str(make_url(database_url).database))
    except BackupError:
        raise
    except Exception as error:
        raise BackupError(f"the configured database cannot be reached: {error}") from None
    finally:
        engine.dispose()
    url, env = libpq(database_url)
    progress("loading the database (pg_restore)")
    _run(
        [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--verbose",
            f"--dbname={url}",
            str(copy),
        ],
        env,
        progress,
        "pg_restore (nothing was loaded)",
    )


def _set_database_id(database_url: str, new_id: str, old_id: str | None) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_settings WHERE key = 'restored_from'"))
            connection.execute(text("DELETE FROM audit_settings WHERE key = 'database_id'"))
            connection.execute(
                text("INSERT INTO audit_settings (key, value) VALUES ('database_id', :v)"),
                {"v": new_id},
            )
            if old_id:
                connection.execute(
                    text("INSERT INTO audit_settings (key, value) VALUES ('restored_from', :v)"),
                    {"v": old_id},
                )
    finally:
        engine.dispose()


def _restore_checkpoint_lines(
    source: Path, manifest: Manifest, target: Path, database_id: str
) -> int:
    """The backup's checkpoint lines, each now naming the restored database (`database_id`
    is not part of the signed statement), written whole and flushed to a new file."""
    lines: list[str] = []
    if "checkpoint_file" in manifest.files:
        name = str(manifest.files["checkpoint_file"]["name"])
        contents = checkpoint_file.read(source / name)
        lines = [
            json.dumps({**line, "database_id": database_id}, separators=(",", ":"))
            for line in contents.checkpoints
        ]
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_new(target, "".join(line + "\n" for line in lines).encode(), mode=0o644)
    return len(lines)


# -- files -----------------------------------------------------------------------------------


def _write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create `path` (never overwrite), write `data` whole, and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in _blocks(handle):
            digest.update(block)
    return digest.hexdigest()


def _blocks(handle: Any) -> Iterator[bytes]:
    while block := handle.read(1 << 20):
        yield block


def _describe(path: Path) -> dict[str, Any]:
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": _sha256(path)}
