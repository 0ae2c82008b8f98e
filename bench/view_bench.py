"""View benchmark (issue 13): not a test, a measurement.

    .venv/bin/python -m bench.view_bench [--seconds 5] [--clients 16] [--rounds 2] [--only sqlite]

For SQLite (the embedded default, inline integrator) and then PostgreSQL (background
integrator), builds a throwaway database as `passport init-db` does, seeds a worker, a person
with an entry in every section and the worker's agency's grant to all of them, and starts
gunicorn (2 workers x 4 threads) serving `bench.view_bench_app` — Passport and, under the
same gunicorn and the same database, a *logged baseline* (read one row, INSERT one ~300-byte
log row, commit) and a *bare baseline* (read one row).

It drives each endpoint in turn, `--rounds` times alternately, with wrk if it is installed,
else a bounded Python client (`--clients` keep-alive connections in a separate process), and
prints requests/s and p50/p99 for each, the ratios of the consented view, the brief and the
history to both baselines, and the SQL statements and commits one request of each makes
(counted in-process on the same database).

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from passport import activate, audit, create_app, db
from passport.audit.background import background
from passport.cli import upgrade_database
from passport.config import Settings
from passport.consent.grants import create_grant
from passport.identity.accounts import (
    actor_for_person,
    actor_for_staff,
    add_agency,
    add_staff,
    issue_token,
)
from passport.identity.actor import SYSTEM
from passport.records.operations import add_entry, register_person
from passport.vocabulary import Section

SERVER = os.environ.get("PASSPORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parent.parent

CONTENT: dict[Section, dict[str, Any]] = {
    Section.STORY: {"text": "I have slept rough on and off for years.", "title": "My life so far"},
    Section.RISK: {"flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}]},
    Section.MEDICATION: {"name": "Methadone", "dose": "60 mg"},
    Section.WORKERS: {"name": "Amara Okafor", "role": "key worker", "is_lead": True},
    Section.PREFERENCES: {"contact": [{"method": "in_person"}], "what_helps": "Afternoons"},
}


@dataclass
class Seeded:
    env: dict[str, str]
    token: str
    person_id: str
    counts: dict[str, tuple[int, int]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(backend: str, home: Path) -> Any:
    if backend == "sqlite":
        yield f"sqlite:///{home / 'passport.db'}"
        return
    name = f"passport_viewbench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def environment(backend: str, home: Path, url: str) -> dict[str, str]:
    """The PASSPORT_* settings of a bench app: the inline integrator on SQLite, the
    background one on PostgreSQL."""
    return {
        "PASSPORT_HOME": str(home),
        "PASSPORT_ENV": "development",
        "PASSPORT_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "PASSPORT_DATABASE_URL": url,
        "PASSPORT_AUDIT_INTEGRATOR": "inline" if backend == "sqlite" else "background",
        "PASSPORT_TOKEN_TTL": "86400",
    }


def seed(backend: str, home: Path, url: str) -> Seeded:
    env = environment(backend, home, url)
    app = create_app(Settings.from_env(env), initialise_keys=True)
    with app.app_context():
        upgrade_database(app)
        activate(app)
        agency = add_agency(SYSTEM, "Riverside Housing First", "housing")
        member = add_staff(
            SYSTEM,
            username="benchworker",
            password="correct-horse-battery",
            agency_id=agency.id,
            roles=["caseworker"],
            name="Amara Okafor",
        )
        worker = actor_for_staff(member)
        person, _ = register_person(
            SYSTEM, name="Jessica Hartley", preferred_name="Jess", date_of_birth=date(1992, 3, 14)
        )
        db.session.commit()
        holder = actor_for_person(person)
        for section, content in CONTENT.items():
            add_entry(holder, person.id, section, content)
        create_grant(
            holder,
            person.id,
            grantee_type="agency",
            grantee_id=agency.id,
            sections=[s.value for s in Section],
            purpose="direct_support",
            starts_on=None,
            expires_on=date.today() + timedelta(days=60),
            method="self",
        )
        db.session.execute(
            text("CREATE TABLE bench_log (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            if backend == "sqlite"
            else text("CREATE TABLE bench_log (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)")
        )
        token = issue_token(worker, 86400)
        db.session.commit()
        audit.integrate_all()
        counts = count_statements(app, token, person.id)
    # Those requests started this process's background integrator, which would keep the
    # deployment's leadership and chain gunicorn's events here: the workers must do it.
    background.stop()
    db.session.remove()
    app.extensions["passport_engine"].dispose()
    env["PASSPORT_BENCH_PERSON_ID"] = person.id
    return Seeded(env, token, person.id, counts)


def paths(person_id: str) -> dict[str, str]:
    query = "?purpose=direct_support"
    return {
        "view": f"/api/v1/people/{person_id}/passport{query}",
        "brief": f"/api/v1/people/{person_id}/brief{query}",
        "history": f"/api/v1/people/{person_id}/history{query}",
        "logged baseline": "/baseline/logged",
        "bare baseline": "/baseline/bare",
    }


def count_statements(app: Any, token: str, person_id: str) -> dict[str, tuple[int, int]]:
    """SQL statements and commits of one request of each kind (after a warm-up one)."""
    engine: Engine = app.extensions["passport_engine"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, tuple[int, int]] = {}
    for label, path in paths(person_id).items():
        if "baseline" in label:
            continue
        client.get(path, headers=headers)
        seen = {"statements": 0, "commits": 0}

        def statement(*_: Any, seen: dict[str, int] = seen) -> None:
            seen["statements"] += 1

        def commit(*_: Any, seen: dict[str, int] = seen) -> None:
            seen["commits"] += 1

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        try:
            response = client.get(path, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", commit)
        assert response.status_code == 200, response.get_json()
        found[label] = (seen["statements"], seen["commits"])
    return found


@contextmanager
def gunicorn(env: dict[str, str], port: int) -> Any:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--workers=2",
        "--threads=4",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
        "bench.view_bench_app:app",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        # Answered, not just listening: the master binds the port before its workers have
        # imported the app, and requests made meanwhile would time out in the load generator.
        deadline = time.monotonic() + 60
        while not _answers(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/baseline/bare")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _client_worker(args: tuple[int, str, dict[str, str], float, int]) -> list[float]:
    """One client process: `clients` keep-alive connections in threads, for `seconds`."""
    port, path, headers, seconds, clients = args
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    failures = [0]

    def loop() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures[0] += 1
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures[0]:
        print(f"  {failures[0]} responses were not 200 for {path}", file=sys.stderr)
    return latencies


def warm(port: int, path: str, token: str) -> None:
    """A few requests of `path` at a time through new connections, until each has been
    answered, so that both workers' first requests (which do more) are not timed. A load
    generator's own warm-up can end before a cold worker answers at all."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

    def some() -> None:
        for _ in range(4):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
            connection.close()

    threads = [threading.Thread(target=some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def drive_python(
    port: int, path: str, token: str, seconds: float, clients: int
) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        latencies = pool.map(_client_worker, [(port, path, headers, seconds, clients)])[0]
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def drive_wrk(port: int, path: str, token: str, seconds: float, clients: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            f"-c{clients}",
            "-t2",
            f"-d{int(seconds)}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    return {"rps": float(rps.group(1)), "p50": millis("50%"), "p99": millis("99%")}


@dataclass
class Result:
    """One backend's figures: the best round (by requests/s) of each endpoint, as
    {"rps", "p50", "p99"} (ms), and one request's (statements, commits)."""

    backend: str
    driver: str
    clients: int
    best: dict[str, dict[str, float]]
    counts: dict[str, tuple[int, int]]

    def ratio(self, label: str, baseline: str = "logged baseline") -> float:
        return self.best[label]["rps"] / self.best[baseline]["rps"]


def run(backend: str, seconds: float, clients: int, rounds: int) -> Result:
    home = Path(tempfile.mkdtemp(prefix=f"passport-viewbench-{backend}-"))
    try:
        with database(backend, home) as url:
            seeded = seed(backend, home, url)
            port = free_port()
            drive = drive_wrk if shutil.which("wrk") else drive_python
            results: dict[str, list[dict[str, float]]] = {}
            with gunicorn(seeded.env, port):
                endpoints = paths(seeded.person_id)
                for path in endpoints.values():  # warm every worker's imports and pools
                    warm(port, path, seeded.token)
                    drive(port, path, seeded.token, 1, clients)
                for _ in range(rounds):
                    for label, path in endpoints.items():
                        results.setdefault(label, []).append(
                            drive(port, path, seeded.token, seconds, clients)
                        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    best = {label: max(runs, key=lambda r: r["rps"]) for label, runs in results.items()}
    load = "wrk" if drive is drive_wrk else "Python client"
    return Result(backend, load, clients, best, seeded.counts)


def report(result: Result) -> None:
    integrator = "inline" if result.backend == "sqlite" else "background"
    print(
        f"\n{result.backend} ({integrator} integrator), gunicorn 2x4, {result.driver}, "
        f"{result.clients} connections"
    )
    print("| endpoint | req/s | p50 ms | p99 ms | × logged | × bare | statements | commits |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in result.best.items():
        counts = result.counts.get(label)
        statements, commits = (str(n) for n in counts) if counts else ("", "")
        print(
            f"| {label} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
            f"{result.ratio(label):.2f} | {result.ratio(label, 'bare baseline'):.2f} | "
            f"{statements} | {commits} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if options.only in (None, backend):
            report(run(backend, options.seconds, options.clients, options.rounds))


if __name__ == "__main__":
    main()
