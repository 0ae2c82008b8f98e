"""The checkpoint file: one JSON line per signed checkpoint, outside the database.

Written so a crash or a full disk can never leave it unreadable:

- every append takes an exclusive `flock` on the file, writes all its lines with one
  `write` of whole lines, then `fsync`s; a short or failed write is cut back off
  (`ftruncate` to where the append began), so no torn line is left behind;
- a torn last line left by an older version or a crash (no newline, or not JSON) is
  *damaged*: readers skip it and say so (`DAMAGED_TAIL`), and the next append cuts it off
  before writing.

Each line carries, besides the published checkpoint fields (AUDIT_FORMAT.md "Checkpoints"),
`database_id`: the random identity of the database whose log it checkpoints
(`audit_settings`, made at `init-db`). Readers ignore fields they do not know, and lines
written before it existed have none, so old files stay readable. An append refuses a file
whose last whole line names another log or another database (`Refused`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("passport.audit")

DAMAGED_TAIL = "the checkpoint file has a damaged last line"
# How much of the end of the file to read to find its last whole line (lines are ~300 bytes).
TAIL_BYTES = 16 * 1024


class MalformedInput(Exception):
    """A line of an export or checkpoint file is not a JSON object."""


class Refused(Exception):
    """The checkpoint file belongs to another log or database: nothing was appended."""


@dataclass(frozen=True)
class Contents:
    """A checkpoint file as read: its whole lines, and whether the last line was damaged."""

    checkpoints: list[dict[str, Any]]
    damaged_tail: bool = False


@dataclass(frozen=True)
class Tail:
    """The end of the file: where its whole lines end, the last whole checkpoint, and
    whether anything damaged follows it."""

    whole_size: int
    last: dict[str, Any] | None
    damaged: bool


def _parse(line: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read(path: Path) -> Contents:
    """Every whole checkpoint line of the file (a missing file holds none). A damaged last
    line is left out and reported; a damaged line before it is `MalformedInput`."""
    if not path.exists():
        return Contents([])
    return read_lines(path.read_bytes().decode("utf-8", errors="replace").split("\n"))


def read_lines(lines: list[str]) -> Contents:
    """As `read`, from the file's lines (a last element without its newline is torn)."""
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    out: list[dict[str, Any]] = []
    damaged = False
    for index, (number, line) in enumerate(numbered):
        checkpoint = _parse(line)
        if checkpoint is None:
            if index == len(numbered) - 1:
                damaged = True
                break
            raise MalformedInput(f"checkpoint line {number} is not a JSON object")
        out.append(checkpoint)
    if lines and lines[-1].strip() and not damaged:
        # A last line without its newline was cut short, even if what is left parses.
        damaged = True
        out.pop()
    return Contents(out, damaged)


def tail(fd: int) -> Tail:
    """The end of the open file, reading back only as far as its last two whole lines."""
    size = os.fstat(fd).st_size
    window = TAIL_BYTES
    while True:
        start = max(0, size - window)
        pieces = os.pread(fd, size - start, start).split(b"\n")
        torn = pieces.pop()  # what follows the last newline: b"" unless cut short
        base = len(pieces.pop(0)) + 1 if start > 0 else 0  # that line may begin earlier
        lines = [line for line in pieces if line.strip()]
        if start > 0 and len(lines) < 2:
            window *= 4  # long lines: read further back
            continue
        whole = size - len(torn)
        damaged = bool(torn)
        last = _parse(lines[-1]) if lines else None
        if lines and last is None:
            # A whole line that is not JSON (an older version's torn write, then a newline):
            # damaged too, and cut off with whatever follows it.
            damaged = True
            whole = start + base + _offset_of_last(pieces)
            last = _parse(lines[-2]) if len(lines) > 1 else None
        return Tail(whole, last, damaged)


def _offset_of_last(pieces: list[bytes]) -> int:
    """Where the last non-blank one of `pieces` (the window's lines) begins in the window."""
    ends = []
    offset = 0
    for piece in pieces:
        ends.append(offset)
        offset += len(piece) + 1
    index = max(i for i, piece in enumerate(pieces) if piece.strip())
    return ends[index]


def ownership_problem(
    last: dict[str, Any] | None, path: Path, log_id: str, database_id: str | None
) -> str | None:
    """Why this database may not append to a file ending in `last` (None if it may)."""
    if last is None:
        return None
    if last.get("log_id") != log_id:
        return (
            f"the checkpoint file {path} belongs to another log ({last.get('log_id')!r}, not "
            f"{log_id!r}): point PASSPORT_CHECKPOINT_FILE at this installation's own file"
        )
    theirs = last.get("database_id")
    if theirs is not None and database_id is not None and theirs != database_id:
        return (
            f"the checkpoint file {path} belongs to another database ({theirs}, not "
            f"{database_id}): point PASSPORT_CHECKPOINT_FILE at this database's own file"
        )
    return None


def read_tail(path: Path) -> Tail | None:
    """The end of the file at `path` (None if there is no file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return tail(fd)
    finally:
        os.close(fd)


def append(path: Path, lines: list[str], log_id: str, database_id: str | None) -> None:
    """Append whole `lines` and flush them to disk, or append nothing.

    Raises `Refused` if the file belongs to another log or database, OSError if it cannot
    be written (a full or read-only volume); either way the file is left ending in a whole
    line. A damaged last line is cut off first."""
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # writers in other processes wait; released on close
        end = tail(fd)
        problem = ownership_problem(end.last, path, log_id, database_id)
        if problem:
            raise Refused(problem)
        if end.damaged:
            log.warning("%s (%s): cutting it off before appending", DAMAGED_TAIL, path)
            os.ftruncate(fd, end.whole_size)
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"only {written} of {len(data)} bytes could be written")
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, end.whole_size)  # no torn line left behind
                os.fsync(fd)
            raise
    finally:
        os.close(fd)
    if created:
        _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable too."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def usable_location(path: Path) -> str | None:
    """Why a checkpoint file could not be written at `path` (None if it can, as far as
    permissions and the file system tell without writing)."""
    target = path if path.exists() else path.parent
    while not target.exists():
        target = target.parent
    if path.exists() and not path.is_file():
        return f"the checkpoint file {path} is not a regular file"
    if not path.exists() and not target.is_dir():
        return f"the checkpoint file {path} cannot be created: {target} is not a directory"
    if not os.access(target, os.W_OK):
        return f"the checkpoint file {path} is not writable"
    with contextlib.suppress(OSError):
        if os.statvfs(target).f_flag & os.ST_RDONLY:
            return f"the checkpoint file {path} is on a read-only volume"
    return None


def probe_write(path: Path) -> str | None:
    """Write, flush and remove a small file beside the checkpoint file: a full or read-only
    volume fails here as the next append would. None if it worked."""
    directory = path.parent
    if not directory.exists():
        return None  # made by the first append; `usable_location` checked its parent
    probe = directory / f".{path.name}.probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            if os.write(fd, b"\0" * 512) != 512:
                return f"the volume of the checkpoint file {path} is full"
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        return f"the checkpoint file {path} cannot be written: {error.strerror or error}"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None
