"""The access log's queries and its verification on a 10M-event log (issue 13, item 4).
Not a test, a measurement. PostgreSQL only.

    .venv/bin/python -m bench.log_bench [--events 10000000] [--rounds 11] [--reuse]

Builds a generated, chained and signed log (`bench.log_build`) in a throwaway database
(`passport_log_bench`, kept with `--reuse` and reused when it already holds `--events`
events; its home, with the signing key, in `$PASSPORT_BENCH_HOME` or
`~/.cache/passport-log-bench`), then times, as median and p95 of `--rounds`, each DPO filter
of the log page (`search_newest_first`, as `/dpo/log` and `/api/v1/audit/events` call it)
and of the API's oldest-first search, and the person's own first access-log page
(`consent/access_log.py`) for a person with ~5k events. Each is measured beside "before":
the query the code ran until this change, on the same database, in the same round,
alternately. Then verifies the whole log (`passport audit verify`, 2 processes).

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from passport import activate, create_app, db
from passport.audit import checkpoints, operations
from passport.audit.events import format_time
from passport.audit.models import AuditEvent
from passport.audit.operations import EventFilter
from passport.audit.setup import log_id
from passport.cli import upgrade_database
from passport.config import Settings
from passport.consent import access_log
from passport.identity.actor import Actor
from passport.identity.models import Person
from passport.vocabulary import ActorKind, Role

from . import log_build

SERVER = os.environ.get("PASSPORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATABASE = "passport_log_bench"


def _settings(home: Path, url: str) -> Settings:
    return Settings.from_env(
        {
            "PASSPORT_HOME": str(home),
            "PASSPORT_ENV": "test",
            "PASSPORT_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "PASSPORT_DATABASE_URL": url,
        }
    )


def prepare(events: int, reuse: bool, home: Path) -> str:
    """The database's URL, holding `events` generated events (built unless reused)."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    url = f"{SERVER}/{DATABASE}"
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE}
        ).first()
    have = 0
    if exists and reuse and (home / "audit-signing-key.pem").exists():
        engine = create_engine(url)
        with engine.connect() as conn:
            have = conn.execute(text("SELECT coalesce(max(seq), 0) FROM audit_events")).scalar()
        engine.dispose()
    if have == events:
        print(f"Reusing {DATABASE}: {events:,} events")
        app = create_app(_settings(home, url))
        with app.app_context():
            upgrade_database(app)  # this version's migrations, if the log is older
        return url
    print(f"Building {DATABASE} with {events:,} events...")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    for stale in ("audit-signing-key.pem", "keyring.json", "checkpoints.jsonl"):
        (home / stale).unlink(missing_ok=True)
    app = create_app(_settings(home, url), initialise_keys=True)
    with app.app_context():
        upgrade_database(app)
        key = checkpoints.signing_key()
        name = log_id()
        db.session.commit()
    app.extensions["passport_engine"].dispose()
    log_build.build(url.replace("+psycopg", ""), events, key, name)
    return url


def timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    call()
    took = time.perf_counter() - began
    db.session.rollback()  # nothing measured is kept: the log stays as built
    return took * 1000


# -- what the code ran before this change, for "before" ---------------------------------


def before_newest_first(where: EventFilter) -> Callable[[], Any]:
    """`search_newest_first`'s query until now: the filters on the columns, times compared
    as strings, newest first from the top of the log."""

    def run() -> Any:
        conditions: list[Any] = []
        if where.person_id is not None:
            conditions.append(AuditEvent.person_id == where.person_id)
        if where.actor_id is not None:
            conditions.append(AuditEvent.actor_id == where.actor_id)
        if where.agency_id is not None:
            conditions.append(AuditEvent.actor_agency_id == where.agency_id)
        if where.action is not None:
            conditions.append(AuditEvent.action == where.action)
        if where.outcome is not None:
            conditions.append(AuditEvent.outcome == where.outcome)
        if where.since is not None:
            conditions.append(AuditEvent.occurred_at >= format_time(where.since))
        if where.until is not None:
            conditions.append(AuditEvent.occurred_at < format_time(where.until))
        query = select(*operations.EXPORT_COLUMNS).where(*conditions)
        return db.session.execute(query.order_by(AuditEvent.seq.desc()).limit(101)).all()

    return run


def before_person_page(person_id: str) -> Callable[[], Any]:
    def run() -> Any:
        query = (
            select(AuditEvent)
            .where(AuditEvent.person_id == person_id)
            .where(AuditEvent.action.in_([a.value for a in access_log.PERSON_FACING_ACTIONS]))
            .order_by(AuditEvent.seq.desc())
            .limit(51)
        )
        return list(db.session.execute(query).scalars())

    return run


# -- the cases ---------------------------------------------------------------------------


def cases(spread: log_build.Spread, end: datetime) -> list[tuple[str, EventFilter]]:
    middle = end - timedelta(days=log_build.DAYS // 2)
    day = middle.replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = (end - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    staff_id = spread.staff[7][1]
    return [
        ("no filter", EventFilter()),
        ("by person", EventFilter(person_id=spread.people[3])),
        ("by person (~5k events)", EventFilter(person_id=spread.heavy_person)),
        ("by staff", EventFilter(actor_id=staff_id)),
        ("by agency", EventFilter(agency_id=spread.agencies[4])),
        ("by action (common)", EventFilter(action="record.view")),
        ("by action (rare)", EventFilter(action="emergency.review")),
        ("by outcome (denied)", EventFilter(outcome="denied")),
        ("by outcome (error)", EventFilter(outcome="error")),
        ("one day in the middle", EventFilter(since=day, until=day + timedelta(days=1))),
        ("30 days", EventFilter(since=day - timedelta(days=30), until=day)),
        ("one day near the end", EventFilter(since=last_day, until=last_day + timedelta(days=1))),
        (
            "staff + one day (middle)",
            EventFilter(actor_id=staff_id, since=day, until=day + timedelta(days=1)),
        ),
        (
            "person + 30 days",
            EventFilter(person_id=spread.heavy_person, since=day - timedelta(days=30), until=day),
        ),
    ]


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):>8.1f} {p95:>8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the database")
    parser.add_argument("--workers", type=int, default=2, help="verify's processes")
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    home = Path(
        os.environ.get("PASSPORT_BENCH_HOME", Path.home() / ".cache" / "passport-log-bench")
    )
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = prepare(args.events, args.reuse, home)
    try:
        run(args, home, url)
    finally:
        db.session.remove()
        if not args.reuse:
            admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))


def run(args: argparse.Namespace, home: Path, url: str) -> None:
    app = create_app(_settings(home, url))
    activate(app)
    spread = log_build.Spread()
    with app.app_context():
        last = db.session.execute(
            select(AuditEvent.occurred_at).order_by(AuditEvent.seq.desc()).limit(1)
        ).scalar_one()
        end = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        if db.session.get(Person, spread.heavy_person) is None:
            db.session.add(Person(id=spread.heavy_person))
            db.session.commit()
        dpo = Actor(
            id=spread.staff[3][1],
            kind=ActorKind.STAFF,
            name="DPO",
            agency_id=spread.staff[3][2],
            roles=frozenset({Role.DPO}),
            scheme_wide=True,
        )
        person = Actor(id=spread.heavy_person, kind=ActorKind.PERSON, name="Person")
        table: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = []
        for label, where in cases(spread, end):
            table.append(
                (
                    f"newest first: {label}",
                    lambda w=where: operations.search_newest_first(dpo, w, limit=100),
                    before_newest_first(where),
                )
            )
        for label, where in cases(spread, end)[9:12]:
            table.append(
                (
                    f"oldest first (API): {label}",
                    lambda w=where: operations.search(dpo, w, limit=100),
                    None,
                )
            )
        table.append(
            (
                "the person's first page (~5k events)",
                lambda: access_log.person_access_log(person, spread.heavy_person),
                before_person_page(spread.heavy_person),
            )
        )
        samples: dict[str, tuple[list[float], list[float]]] = {
            label: ([], []) for label, _a, _b in table
        }
        for _ in range(args.rounds):
            for label, after, before in table:
                if before is not None:
                    samples[label][0].append(timed(before))
                samples[label][1].append(timed(after))
        print()
        print(
            f"{args.events:,} events; median and p95 of {args.rounds} rounds, in ms; "
            "before and after alternately in each round, on the same database"
        )
        print(f"{'':44} {'before':>17} {'after':>17}")
        print(f"{'':44} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8}")
        for label, _a, _b in table:
            was, now = samples[label]
            print(f"{label:44} {summary(was) if was else ' ' * 17} {summary(now)}")
    if not args.no_verify:
        print()
        command = [
            str(Path(sys.executable).parent / "passport"),
            "audit",
            "verify",
            "--workers",
            str(args.workers),
        ]
        env = {
            **os.environ,
            "PASSPORT_HOME": str(home),
            "PASSPORT_DATABASE_URL": url,
            "PASSPORT_ENV": "test",
            "PASSPORT_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        }
        began = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        took = time.perf_counter() - began
        print(f"verify, {args.workers} processes: {took:.1f} s (exit {done.returncode})")
        print("  " + done.stdout.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
