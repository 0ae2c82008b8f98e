"""Group commit: reads that finish at about the same time share one write transaction.

On SQLite every commit takes the database's one write lock and syncs its log to disk, and a
view that read from a snapshot (passport.snapshots) still makes one commit: its access-log
events. Those commits queued one behind another, each waiting for the lock, for the disk
and, between its statements, for the interpreter, while the other threads of the process
ran. So within a process the reads that are ready to commit are gathered: the first to
arrive *leads*: it takes every read waiting when it gets its turn, makes their writes in one
transaction, commits once, and tells each read how it ended. While it commits, the next
reads queue behind it and the next leader takes them all.

The promise is each read's as before: it answers only after the commit that holds its log
events (or it runs again, or answers 503 having shown nothing). `commit_batch` (passport's
unit of work) decides each read's outcome; this module only gathers and hands over.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("passport.group_commit")


class Outcome(enum.Enum):
    COMMITTED = "committed"  # its writes are durable: it may answer
    MOVED = "moved"  # access may have changed since its snapshot: run it again
    FAILED = "failed"  # nothing of it was written: answer 503, show nothing
    UNREACHABLE = "unreachable"  # as FAILED, because the database could not be reached


@dataclass(eq=False)
class Read:
    """One read waiting to commit: the access epoch its snapshot saw and its held writes."""

    seen: int
    held: list[Callable[[], object]]
    outcome: Outcome | None = field(default=None)


CommitBatch = Callable[[list[Read]], None]


class Group:
    """The reads of one application (one database) waiting to commit, in one process."""

    def __init__(self) -> None:
        self._waiting: list[Read] = []
        self._queue_lock = threading.Lock()
        self._leading = threading.Lock()  # held by the leader while its batch commits

    def commit(self, seen: int, held: list[Callable[[], object]], batch: CommitBatch) -> Outcome:
        """Commit this read with whatever else is waiting; returns its outcome once known."""
        read = Read(seen, held)
        with self._queue_lock:
            self._waiting.append(read)
        with self._leading:
            if read.outcome is None:  # not taken by an earlier leader: this thread leads
                with self._queue_lock:
                    reads, self._waiting = self._waiting, []
                _settle(reads, batch)
        assert read.outcome is not None
        return read.outcome


def _settle(reads: list[Read], batch: CommitBatch) -> None:
    """Run `batch`; a read it left undecided (because it raised) failed: nothing shown."""
    try:
        batch(reads)
    except Exception:
        log.exception("a batch of %d read commits failed", len(reads))
    finally:  # even as the process stops: no read is left waiting for an answer
        for read in reads:
            if read.outcome is None:
                read.outcome = Outcome.FAILED
