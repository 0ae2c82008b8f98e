"""The integrator as a background thread, so a request pays only for queuing its event.

With PASSPORT_AUDIT_INTEGRATOR=background every process starts one thread, but only one
thread in the whole deployment integrates: the one holding the integrator's leadership, a
session-level PostgreSQL advisory lock on a connection of its own. The others stand by and
try for it every `STANDBY_SECONDS`; when the leader's process dies its connection closes,
the lock is released, and a standby takes over. (On SQLite, one machine's processes already
take turns on the database's write lock, so each thread simply integrates when nudged.)

The leader chains whatever is pending, then sleeps until a request in its own process nudges
it or `POLL_SECONDS` pass — requests in other processes cannot reach it, and do not need to:
the request's own transaction has already committed its event before any content is sent,
so durability never depends on this thread, only the `seq` does. One integrator per
deployment, rather than one per process racing for the lock, is what lets the log keep up
with many workers (bench/audit_bench.py). Leadership is only about efficiency: every batch
still takes the integrator's transaction lock, so even two threads that both believe they
lead (say, one whose connection silently dropped) can never fork the chain.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import text

from .. import db
from .integrator import BATCH_SIZE, integrate_if_free

log = logging.getLogger("passport.audit")

# An arbitrary constant naming the leadership lock (apart from the per-batch lock).
LEADER_LOCK = 7_322_615_002
STANDBY_SECONDS = 1.0
# How often the PostgreSQL leader looks for events queued by other processes' requests.
POLL_SECONDS = 0.05
# On SQLite each process chains its own events when nudged, and looks anyway this often
# (for events a crashed process left queued).
IDLE_SECONDS = 1.0
# After a nudge, wait this long so one batch (one commit) takes the events of many requests.
GATHER_SECONDS = 0.05


class BackgroundIntegrator:
    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._leadership: Any = None  # the connection holding LEADER_LOCK, while we lead

    def nudge(self) -> None:
        self._ensure_running()
        self._wake.set()

    @property
    def leading(self) -> bool:
        return self._leadership is not None

    @property
    def running(self) -> bool:
        """This process's thread is alive (leading or standing by)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def ensure_running(self) -> None:
        """Start the thread if this process has none yet (it starts on the first nudge)."""
        self._ensure_running()

    def _ensure_running(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._stop.clear()
            self._leadership = None  # a forked copy of the parent's; never used
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="passport-audit-integrator", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._lead():
                self._stop.wait(STANDBY_SECONDS)
                continue
            try:
                chained = integrate_if_free()
            except Exception as error:
                log.warning("background audit integration failed: %s", type(error).__name__)
                self._resign()  # the connection may be the problem: let anyone take over
                chained = 0
            finally:
                db.session.remove()
            if chained >= BATCH_SIZE:
                continue  # more waiting: no sleep
            if self._wake.wait(POLL_SECONDS if self._leadership else IDLE_SECONDS):
                time.sleep(GATHER_SECONDS)
            self._wake.clear()
        self._resign()

    def _lead(self) -> bool:
        """Hold, or try to take, the deployment's leadership."""
        if self._leadership is not None:
            return True
        bind = db.session.get_bind()
        if bind.dialect.name != "postgresql":
            return True
        connection = None
        try:
            connection = bind.engine.connect()
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}
            ).scalar_one()
            connection.commit()
        except Exception as error:  # the database is away: stand by and try again
            if connection is not None:
                connection.close()
            log.warning("audit integrator leadership check failed: %s", type(error).__name__)
            return False
        if not got:
            connection.close()
            return False
        self._leadership = connection
        return True

    def _resign(self) -> None:
        connection, self._leadership = self._leadership, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})
            connection.commit()
        except Exception as error:  # closing the connection releases the lock anyway
            log.info("audit integrator leadership released by closing: %s", type(error).__name__)
        finally:
            connection.close()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None


background = BackgroundIntegrator()
