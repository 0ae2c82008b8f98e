"""Access-log benchmark (issue 4): not a test, a measurement. PostgreSQL only.

    .venv/bin/python -m bench.audit_bench [--events 1000000] [--seconds 5] [--clients 1,8,32]

Creates a throwaway database (like tests/conftest.py), then prints, each beside a baseline
measured in the same run:
1. logged events/s through the real path — `audit.record` in the access's transaction,
   commit, `integrate_all` (the single integrator: seq, hash chain, checkpoints) — with 1, 8
   and 32 concurrent client threads; baseline: a plain INSERT + commit of the same row shape
   into an unchained copy of `audit_events`, with the same threads;
2. verification speed (events/s) of `--events` events (streamed from the database, chain
   recomputed, every checkpoint's signature checked); baseline: SHA-256 alone over the same
   canonical bytes, already in memory.
Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from passport import activate, audit, create_app, db
from passport.audit import verify
from passport.audit.background import background
from passport.audit.chain import GENESIS_HASH, canonical
from passport.audit.events import format_time
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


def logged_event() -> None:
    """What one audited read costs the log: queue, commit, integrate."""
    audit.record(**event_kwargs())
    db.session.commit()
    audit.integrate_all()


def queued_event() -> None:
    """The request's share with the background integrator: queue, commit, nudge."""
    audit.record(**event_kwargs())
    db.session.commit()
    background.nudge()


def drained_throughput(clients: int, seconds: float) -> float:
    """Queued events/s counted only once chained: the run plus the time to drain the queue."""
    began = time.perf_counter()
    queued = throughput("queued", clients, seconds) * seconds
    audit.integrate_all()  # what the clients' integrator threads left when they stopped
    while db.session.execute(text("SELECT count(*) FROM audit_pending")).scalar_one():
        db.session.commit()
        time.sleep(0.01)
    db.session.commit()
    return queued / (time.perf_counter() - began)


PLAIN_INSERT = text(
    "INSERT INTO bench_plain (occurred_at, action, outcome, actor, actor_id, actor_agency_id, "
    "person_id, sections, purpose, basis, reason, request_id, detail, prev_hash, entry_hash) "
    "VALUES (:occurred_at, :action, :outcome, :actor, :actor_id, :actor_agency_id, :person_id, "
    ":sections, :purpose, :basis, NULL, NULL, :detail, :prev_hash, :entry_hash)"
)


def plain_insert() -> None:
    """Baseline: the same row, one INSERT and a commit, no queue, no chain."""
    e = event_kwargs()
    db.session.execute(
        PLAIN_INSERT,
        {
            "occurred_at": "2026-11-24T10:00:00.000000Z",
            "action": e["action"],
            "outcome": e["outcome"],
            "actor": json.dumps(e["actor"]),
            "actor_id": ACTOR["id"],
            "actor_agency_id": ACTOR["agency_id"],
            "person_id": e["person_id"],
            "sections": json.dumps(e["sections"]),
            "purpose": e["purpose"],
            "basis": json.dumps(e["basis"]),
            "detail": json.dumps(e["detail"]),
            "prev_hash": "0" * 64,
            "entry_hash": uuid.uuid4().hex * 2,
        },
    )
    db.session.commit()


WORKS: dict[str, Callable[[], None]] = {}  # filled below: name -> one unit of work


def _client(work: str, url: str, began_at: float, seconds: float, counts: Any) -> None:
    """One client process (like one gunicorn worker): its own engine, never a forked one."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    db.bind(engine)
    unit = WORKS[work]
    done = 0
    while time.time() < began_at:
        time.sleep(0.001)
    stop = began_at + seconds
    while time.time() < stop:
        unit()
        done += 1
    background.stop()
    db.session.remove()
    engine.dispose()
    counts.put(done)


def throughput(work: str, clients: int, seconds: float) -> float:
    """Units of `work` per second done by `clients` concurrent processes."""
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
    return total / seconds


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


WORKS.update(inline=logged_event, queued=queued_event, plain=plain_insert)


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
            app = create_app(Settings.from_env(env))
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
    print("Clients are processes (as gunicorn workers are), each with its own connection.")
    print("Logged events/s: inline integrator (record + commit + integrate), background")
    print("integrator (record + commit; counted once chained), and the baseline: a plain")
    print("INSERT + commit of the same row")
    for n in clients:
        logged = throughput("inline", n, args.seconds)
        queued = drained_throughput(n, args.seconds)
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
    began = time.perf_counter()
    result = verify.verify_database()
    took = time.perf_counter() - began
    db.session.commit()
    assert result.ok, result.problem
    count, hashing = hashing_baseline()
    db.session.commit()
    print()
    print("Verification (stream from PostgreSQL, JCS, SHA-256 chain, Ed25519 checkpoints)")
    print(
        f"  {total:,} events in {took:.2f} s: {total / took:,.0f} events/s "
        f"({result.checkpoints:,} checkpoints)"
    )
    print(
        f"  baseline, SHA-256 alone over {count:,} canonical bodies in memory: "
        f"{count / hashing:,.0f} events/s"
    )
    checkpoint_file = home / "checkpoints.jsonl"
    lines = checkpoint_file.read_text().count("\n") if checkpoint_file.exists() else 0
    print(f"  checkpoint file: {lines:,} lines")


if __name__ == "__main__":
    main()
