"""The deployment as README describes it: gunicorn workers with the background integrator on
PostgreSQL. One worker's thread leads; kill that worker and another takes over, and every
read is still chained, gapless, into a log that verifies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from passport.audit.background import LEADER_LOCK

from .conftest import BACKEND, create_pg_database, drop_pg_database

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="leadership needs PostgreSQL")

BIN = Path(sys.executable).parent
ROOT = Path(__file__).parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    name = f"passport_gunicorn_{uuid.uuid4().hex[:10]}"
    url = create_pg_database(name)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_HOME": str(tmp_path / "home"),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "gunicorn-test-secret-key-long-enough-0123456789",
        "PASSPORT_DATABASE_URL": url,
        "PASSPORT_AUDIT_INTEGRATOR": "background",
    }

    def passport(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [str(BIN / "passport"), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    passport("init-db")
    person = passport(
        "person",
        "add",
        "--name",
        "Jess Example",
        "--username",
        "jess",
        stdin="pw-long-enough-1234\n",
    )
    token = passport("token", "issue", "jess")
    port = _free_port()
    command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py"]
    command += ["-b", f"127.0.0.1:{port}", "-w", "3", "passport:create_app()"]
    errors = tmp_path / "gunicorn.log"  # a file, not a pipe nobody drains
    with errors.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, errors.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield {
            "base": f"http://127.0.0.1:{port}",
            "person": person,
            "token": token,
            "engine": engine,
            "server": server,
            "passport": passport,
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        engine.dispose()
        drop_pg_database(name)


def _read(deployment: dict[str, Any]) -> int:
    request = urllib.request.Request(
        f"{deployment['base']}/api/v1/people/{deployment['person']}/passport?purpose=direct_support",
        headers={"Authorization": f"Bearer {deployment['token']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def _reads(deployment: dict[str, Any], count: int) -> list[int]:
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda _: _read(deployment), range(count)))


def _until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _scalar(deployment: dict[str, Any], sql: str, **params: Any) -> Any:
    with deployment["engine"].connect() as connection:
        return connection.execute(text(sql), params).scalar()


_LEADER_BACKEND = (
    "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
)


def _leader_worker(deployment: dict[str, Any]) -> int:
    """The gunicorn worker whose connection holds the leadership lock, found by the client
    port of that connection's PostgreSQL backend."""
    port = _scalar(
        deployment,
        f"SELECT client_port FROM pg_stat_activity WHERE pid = ({_LEADER_BACKEND})",
        key=LEADER_LOCK,
    )
    inodes = set()
    with open("/proc/net/tcp") as table:  # local address column: hex ip:port
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                inodes.add(fields[9])
    master = deployment["server"].pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for worker in map(int, children):
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return worker
    raise AssertionError(f"no worker holds the connection on port {port}")


def test_one_worker_leads_and_another_takes_over_when_it_dies(deployment):
    assert set(_reads(deployment, 60)) == {200}
    pending = "SELECT count(*) FROM audit_pending"
    _until(lambda: _scalar(deployment, pending) == 0)
    leaders = f"SELECT count(*) FROM ({_LEADER_BACKEND}) AS leaders"
    assert _scalar(deployment, leaders, key=LEADER_LOCK) == 1  # one, for three workers

    first = _leader_worker(deployment)
    os.kill(first, signal.SIGKILL)
    assert set(_reads(deployment, 60)) == {200}  # the other workers serve meanwhile
    _until(lambda: _scalar(deployment, pending) == 0)
    assert _scalar(deployment, leaders, key=LEADER_LOCK) == 1
    assert _leader_worker(deployment) != first

    total, top = (
        _scalar(deployment, "SELECT count(*) FROM audit_events"),
        _scalar(deployment, "SELECT max(seq) FROM audit_events"),
    )
    assert total == top  # gapless
    assert (
        _scalar(deployment, "SELECT count(*) FROM audit_events WHERE action = 'record.view'") == 120
    )
    verified = deployment["passport"]("audit", "verify")
    assert "intact" in verified
