"""The integrator as a background thread, so a request pays only for queuing its event.

With PASSPORT_AUDIT_INTEGRATOR=background each process runs one thread that chains pending
events whenever a request nudges it (and once a second regardless, so events left by a
crashed process are picked up). Threads of other processes that find the integrator's lock
taken do not queue for it: the holder, or the next round, takes their events. The request's own transaction still commits the event before
any content is sent: durability does not depend on this thread, only the `seq` does.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from .. import db
from .integrator import integrate_if_free

log = logging.getLogger("passport.audit")

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

    def nudge(self) -> None:
        self._ensure_running()
        self._wake.set()

    def _ensure_running(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._stop.clear()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="passport-audit-integrator", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(IDLE_SECONDS):
                time.sleep(GATHER_SECONDS)
            self._wake.clear()
            try:
                integrate_if_free()
            except Exception as error:
                log.warning("background audit integration failed: %s", type(error).__name__)
            finally:
                db.session.remove()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None


background = BackgroundIntegrator()
