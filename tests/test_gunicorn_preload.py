"""config/gunicorn.conf.py preloads the app in the master (issue 12, item 8): the workers
fork from it ready to answer, hold none of the master's database connections, start their
own integrator thread, and a killed worker is replaced and answers again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import BACKEND, create_pg_database, drop_pg_database

BIN = Path(sys.executable).parent
ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    name = url = None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_HOME": str(tmp_path / "home"),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "gunicorn-test-secret-key-long-enough-0123456789",
        "PASSPORT_AUDIT_INTEGRATOR": "background",
    }
    if BACKEND == "postgresql":
        name = f"passport_preload_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
        env["PASSPORT_DATABASE_URL"] = url
    subprocess.run(
        [str(BIN / "passport"), "init-db"], env=env, check=True, capture_output=True, timeout=120
    )
    port = _free_port()
    command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py"]
    command += ["-b", f"127.0.0.1:{port}", "-w", "2", "passport:create_app()"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _until_answering(base, process, log)
        yield {"base": base, "process": process, "url": url, "log": log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if name:
            drop_pg_database(name)


def _until_answering(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "gunicorn did not start"
        time.sleep(0.1)


def _postgres_sockets(pid: int) -> int:
    """How many TCP connections to port 5432 the process `pid` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == 5432 and fields[9] in inodes:
                count += 1
    return count


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def _wait_for_workers(master: int, wanted: Callable[[list[int]], bool]) -> list[int]:
    deadline = time.monotonic() + 10
    while True:
        pids = _workers(master)
        if wanted(pids):
            return pids
        assert time.monotonic() < deadline, f"the workers did not become as expected: {pids}"
        time.sleep(0.05)


def test_preloaded_workers_answer_and_are_replaced(server: dict[str, Any]) -> None:
    log = Path(server["log"])
    if server["url"]:
        # The master closed the connection it opened while building the app, so no worker
        # inherits (and shares) it.
        assert _postgres_sockets(server["process"].pid) == 0
    status, body = _get(f"{server['base']}/readyz")
    assert status == 200, body  # the integrator thread runs in the worker that answered
    # One worker answered; the master forks the second in its own time (later on a busy
    # machine), so wait for both before killing one.
    workers = _wait_for_workers(server["process"].pid, lambda pids: len(pids) == 2)
    os.kill(workers[0], signal.SIGKILL)
    _wait_for_workers(server["process"].pid, lambda pids: len(pids) == 2 and workers[0] not in pids)
    for _ in range(6):  # both workers, the new one included, answer ready
        status, body = _get(f"{server['base']}/readyz")
        assert status == 200, body
    assert "Traceback" not in log.read_text()
