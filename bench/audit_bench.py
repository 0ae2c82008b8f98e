"""Access-log benchmark (issue 4): not a test, a measurement. PostgreSQL only.

    .venv/bin/python -m bench.audit_bench [--events 1000000] [--seconds 5] [--clients 1,8,32]

Creates a throwaway database (like tests/conftest.py), then prints, each beside a baseline
measured in the same run:

1. The log's capacity: logged events/s with 1, 8 and 32 concurrent client processes, each
   with one driver connection doing per event exactly what `audit.record` does — build the
   canonical body, INSERT it into `audit_pending` — and a commit; one background integrator
   (the real one, the deployment's leader) gives them their `seq`, chains and checkpoints
   them, and an event counts only once chained. Baseline: a plain INSERT of the same row
   into an unchained copy of `audit_events` (same columns and indexes) and a commit, by the
   same clients.
2. The log's ceiling, with clients that cost next to nothing: pgbench (PostgreSQL's C load
   generator) queues the same canonical body with 1, 8 and 32 clients while the same single
   integrator chains; baseline: pgbench's plain INSERT of the same row. Skipped if pgbench
   is not installed (Debian: postgresql-client).
3. The same through the application's SQLAlchemy session, as a request does it: inline
   integrator (record, commit, integrate), background integrator (record, commit, nudge) and
   the plain INSERT. Here Python's per-request session work, not the log, sets the ceiling.
4. Verification speed (events/s) of `--events` events (streamed from the database, chain
   recomputed, every checkpoint's signature checked), in one process and in one per CPU
   (as `passport audit verify` does), and of the same log as an NDJSON export; baseline:
   SHA-256 alone over the same canonical bytes, already in memory.

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from passport import activate, audit, create_app, db
from passport.audit import checkpoints, verify
from passport.audit.background import background
from passport.audit.chain import GENESIS_HASH, canonical
from passport.audit.events import QUEUE_EVENT, format_time, queued_text
from passport.audit.models import AuditPending
from passport.cli import upgrade_database
from passport.config import Settings

SERVER = os.environ.get("PASSPORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
ACTOR = {"id": str(uuid.uuid4()), "kind": "staff", "agency_id": str(uuid.uuid4()), "roles": []}


def admin() -> Engine:
    return create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")


def event_kwargs() -> dict[str, Any]:
    return {
        "actor": ACTOR,
        "action": "record.view",
        "outcome": "allowed",
        "person_id": str(uuid.uuid4()),
        "sections": ["medication", "risk"],
        "purpose": "direct_support",
        "basis": {"kind": "grant", "id": str(uuid.uuid4())},
        "detail": {"entries": 3},
    }


# -- units of work: one event each --------------------------------------------------------


def logged_event(_connection: Any) -> None:
    """Through the session, inline integrator: what one audited request costs the log."""
    audit.record(**event_kwargs())
    db.session.commit()
    audit.integrate_all()


def queued_event(_connection: Any) -> None:
    """Through the session, background integrator: queue, commit, nudge."""
    audit.record(**event_kwargs())
    db.session.commit()
    background.nudge()


def plain_insert(_connection: Any) -> None:
    """Baseline through the session: the same row, one INSERT and a commit."""
    db.session.connection().exec_driver_sql(PLAIN_INSERT, plain_row())
    db.session.commit()


def driver_queued_event(connection: Any) -> None:
    """`audit.record` at the driver: the canonical body queued, then the commit."""
    connection.execute(QUEUE_EVENT["pyformat"], (queued_text(**event_kwargs()),))
    connection.commit()


def driver_plain_insert(connection: Any) -> None:
    """Baseline at the driver: the same row, one INSERT and a commit."""
    connection.execute(PLAIN_INSERT, plain_row())
    connection.commit()


PLAIN_INSERT = (
    "INSERT INTO bench_plain (occurred_at, action, outcome, actor, actor_id, actor_agency_id, "
    "person_id, sections, purpose, basis, reason, request_id, detail, prev_hash, entry_hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, %s, %s, %s)"
)


def plain_row() -> tuple[Any, ...]:
    e = event_kwargs()
    return (
        format_time(db.utcnow()),
        e["action"],
        e["outcome"],
        json.dumps(e["actor"]),
        ACTOR["id"],
        ACTOR["agency_id"],
        e["person_id"],
        json.dumps(e["sections"]),
        e["purpose"],
        json.dumps(e["basis"]),
        json.dumps(e["detail"]),
        "0" * 64,
        uuid.uuid4().hex * 2,
    )


WORKS: dict[str, Callable[[Any], None]] = {
    "inline": logged_event,
    "queued": queued_event,
    "plain": plain_insert,
    "driver-queued": driver_queued_event,
    "driver-plain": driver_plain_insert,
}


# -- clients ----------------------------------------------------------------------------------


def _client(work: str, url: str, began_at: float, seconds: float, counts: Any) -> None:
    """One client process (like one gunicorn worker): its own connection, never a forked one."""
    engine = create_engine(url, pool_size=4, max_overflow=0)
    db.bind(engine)
    driver = None
    if work.startswith("driver-"):
        driver = psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False))
    unit = WORKS[work]
    done = 0
    while time.time() < began_at:
        time.sleep(0.001)
    stop = began_at + seconds
    while time.time() < stop:
        unit(driver)
        done += 1
    background.stop()
    if driver is not None:
        driver.close()
    db.session.remove()
    engine.dispose()
    counts.put(done)


def throughput(work: str, clients: int, seconds: float) -> float:
    """Units of `work` per second done by `clients` concurrent processes."""
    return run_clients(work, clients, seconds) / seconds


def run_clients(work: str, clients: int, seconds: float) -> int:
    """How many units of `work` `clients` concurrent processes did in `seconds`."""
    context = multiprocessing.get_context("fork")
    counts = context.Queue()
    url = str(db.session.get_bind().url.render_as_string(hide_password=False))
    db.session.remove()
    began_at = time.time() + 0.5 + 0.02 * clients  # everyone starts together
    processes = [
        context.Process(target=_client, args=(work, url, began_at, seconds, counts))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    total = sum(counts.get(timeout=seconds + 120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
        if process.exitcode != 0:
            raise RuntimeError(f"a client process failed with exit code {process.exitcode}")
    return int(total)


def chained_throughput(work: str, clients: int, seconds: float) -> float:
    """Queued events/s, counted only once chained: the events over the run's time plus the
    time the integrator then needed to empty the queue."""
    queued = run_clients(work, clients, seconds)
    stopped = time.perf_counter()
    while db.session.execute(text("SELECT count(*) FROM audit_pending")).scalar_one():
        db.session.commit()
        if not background.leading:
            audit.integrate_all()  # the clients' integrator threads stopped with them
        time.sleep(0.005)
    db.session.commit()
    return queued / (seconds + time.perf_counter() - stopped)


def pgbench_section(clients: list[int], seconds: float, home: Path) -> None:
    """Section 2: pgbench as the clients, this process's background integrator chaining."""
    print("2. The log's ceiling: pgbench clients queue + commit, the same integrator chains")
    print("   (counted once chained); baseline: pgbench plain INSERT + commit")
    if shutil.which("pgbench") is None:
        print("  skipped: pgbench is not installed (Debian: postgresql-client)")
        return
    queued = home / "queue.sql"
    queued.write_text(
        f"INSERT INTO audit_pending (body, created_at) "
        f"VALUES ({_sql_literal(queued_text(**event_kwargs()))}, CURRENT_TIMESTAMP);\n"
    )
    plain = home / "plain.sql"
    row = [_sql_literal(value) for value in plain_row()]
    row[-1] = "md5(random()::text) || md5(random()::text)"  # entry_hash is unique
    plain.write_text(PLAIN_INSERT.replace("%s", "{}").format(*row) + ";\n")
    for n in clients:
        done = _pgbench(queued, n, seconds)
        stopped = time.perf_counter()
        while db.session.execute(text("SELECT count(*) FROM audit_pending")).scalar_one():
            db.session.commit()
            time.sleep(0.005)
        db.session.commit()
        logged = done / (seconds + time.perf_counter() - stopped)
        baseline = _pgbench(plain, n, seconds) / seconds
        print(
            f"  {n:>3} clients: logged {logged:>7,.0f}/s ({logged / baseline:>4.0%})   "
            f"baseline {baseline:>7,.0f}/s"
        )


def vacuum_queue() -> None:
    """Clear the dead rows sections 1 and 2 left in the queue, as autovacuum does in time:
    without this, section 3's inline integrator (three index scans of the queue per request)
    would be measured against hundreds of thousands of dead entries."""
    with db.session.get_bind().connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM audit_pending, bench_plain"
        )


def _sql_literal(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _pgbench(script: Path, clients: int, seconds: float) -> int:
    """Transactions pgbench completed running `script` with `clients` connections."""
    url = db.session.get_bind().url
    db.session.commit()
    command = ["pgbench", "--no-vacuum", "--file", str(script), "--client", str(clients)]
    command += ["--jobs", str(min(clients, os.cpu_count() or 1)), "--time", str(round(seconds))]
    command += ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    command += ["--username", url.username or "postgres", str(url.database)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"number of transactions actually processed: (\d+)", out)
    if found is None:
        raise RuntimeError(f"pgbench printed no count: {out[-500:]}")
    return int(found.group(1))


def fill(count: int) -> None:
    """Queue `count` events in bulk and chain them with the real integrator."""
    chunk = 20_000
    body_of = AuditPending.__table__
    done = 0
    while done < count:
        n = min(chunk, count - done)
        rows = []
        for _ in range(n):
            e = event_kwargs()
            rows.append(
                {
                    "body": {
                        "occurred_at": format_time(db.utcnow()),
                        "action": e["action"],
                        "outcome": e["outcome"],
                        "actor": e["actor"],
                        "person_id": e["person_id"],
                        "sections": e["sections"],
                        "purpose": e["purpose"],
                        "basis": e["basis"],
                        "reason": None,
                        "request_id": None,
                        "detail": e["detail"],
                    },
                    "created_at": db.utcnow(),
                }
            )
        db.session.execute(insert(body_of), rows)
        db.session.commit()
        audit.integrate_all()
        done += n
        print(f"\r  chained {done:,} events", end="", flush=True)
    print()


def hashing_baseline() -> tuple[int, float]:
    """SHA-256 alone, chained, over the log's canonical bodies held in memory."""
    bodies = [
        canonical(body)
        for body, _prev, _hash, _plain in verify.database_events()
        if body["seq"] <= 200_000
    ]
    began = time.perf_counter()
    prev = GENESIS_HASH
    for payload in bodies:
        prev = hashlib.sha256(bytes.fromhex(prev) + payload).hexdigest()
    return len(bodies), time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to verify")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated thread counts")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    name = f"passport_bench_{uuid.uuid4().hex[:10]}"
    engine = admin()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{SERVER}/{name}"
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {
                "PASSPORT_HOME": home,
                "PASSPORT_ENV": "test",
                "PASSPORT_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
                "PASSPORT_DATABASE_URL": url,
            }
            app = create_app(Settings.from_env(env), initialise_keys=True)
            with app.app_context():
                upgrade_database(app)
            big_pool = create_engine(url, pool_size=max(clients) + 4, max_overflow=8)
            app.extensions["passport_engine"].dispose()
            app.extensions["passport_engine"] = big_pool
            activate(app)
            with big_pool.begin() as conn:
                conn.execute(
                    text(
                        "CREATE TABLE bench_plain (LIKE audit_events INCLUDING ALL); "
                        "ALTER TABLE bench_plain ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY"
                    )
                )
            run(args, clients, Path(home))
    finally:
        db.session.remove()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def run(args: argparse.Namespace, clients: list[int], home: Path) -> None:
    print(f"PostgreSQL at {SERVER}; {os.cpu_count()} CPUs; {args.seconds:g} s per run")
    print()
    print("Clients are processes (as gunicorn workers are), each with its own connection;")
    print("percentages are of the baseline measured beside them.")
    print()
    print("1. The log's capacity: driver-level clients queue + commit, one background")
    print("   integrator chains (counted once chained); baseline: plain INSERT + commit")
    background.nudge()  # this process leads: it is the deployment's one integrator
    for n in clients:
        logged = chained_throughput("driver-queued", n, args.seconds)
        plain = throughput("driver-plain", n, args.seconds)
        print(
            f"  {n:>3} clients: logged {logged:>7,.0f}/s ({logged / plain:>4.0%})   "
            f"baseline {plain:>7,.0f}/s"
        )
    print()
    pgbench_section(clients, args.seconds, home)
    background.stop()  # hand the leadership to the clients' own threads below
    db.session.remove()
    vacuum_queue()
    print()
    print("3. Through the application's session, as a request does it: inline integrator")
    print("   (record + commit + integrate), background integrator (record + commit + nudge;")
    print("   counted once chained); baseline: plain INSERT + commit")
    for n in clients:
        logged = throughput("inline", n, args.seconds)
        queued = chained_throughput("queued", n, args.seconds)
        plain = throughput("plain", n, args.seconds)
        print(
            f"  {n:>3} clients: inline {logged:>7,.0f}/s ({logged / plain:>4.0%})   "
            f"background {queued:>7,.0f}/s ({queued / plain:>4.0%})   baseline {plain:>7,.0f}/s"
        )
    audit.integrate_all()
    have = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    db.session.commit()
    if have < args.events:
        print(f"\nFilling the log to {args.events:,} events through the integrator...")
        began = time.perf_counter()
        fill(args.events - have)
        took = time.perf_counter() - began
        print(f"  integrator (bulk): {(args.events - have) / took:,.0f} events/s")
    total = verify.database_count()
    db.session.commit()
    timings = []
    for workers in sorted({1, os.cpu_count() or 1}):
        began = time.perf_counter()
        result = verify.verify_database(workers=workers)
        timings.append((workers, time.perf_counter() - began))
        db.session.commit()
        assert result.ok, result.problem
    count, hashing = hashing_baseline()
    db.session.commit()
    print()
    print("4. Verification (stream from PostgreSQL, JCS, SHA-256 chain, Ed25519 checkpoints)")
    for workers, took in timings:
        print(
            f"  {total:,} events in {took:.2f} s with {workers} process{'es' * (workers > 1)}: "
            f"{total / took:,.0f} events/s ({result.checkpoints:,} checkpoints)"
        )
    print(
        f"  baseline, SHA-256 alone over {count:,} canonical bodies in memory: "
        f"{count / hashing:,.0f} events/s"
    )
    checkpoint_file = home / "checkpoints.jsonl"
    lines = checkpoint_file.read_text().count("\n") if checkpoint_file.exists() else 0
    print(f"  checkpoint file: {lines:,} lines")
    export = home / "export.ndjson"
    with export.open("w", encoding="utf-8") as out:
        verify.write_export(verify.database_rows(), out)
    db.session.commit()
    keys = verify.public_keys(checkpoints.signing_key().public)
    began = time.perf_counter()
    with export.open(encoding="utf-8") as events, checkpoint_file.open(encoding="utf-8") as cps:
        exported = verify.verify_export(events, cps, keys)
    took = time.perf_counter() - began
    assert exported.ok, exported.problem
    print(
        f"  the same as an NDJSON export ({export.stat().st_size / 2**20:,.0f} MiB), one process: "
        f"{took:.2f} s, {exported.checked / took:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
