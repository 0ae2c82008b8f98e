"""Subject access pack benchmark (issue 16): not a test, a measurement.

    .venv/bin/python -m bench.sar_bench [--events 10000] [--revisions 500] [--only sqlite]

Builds a throwaway database as `passport init-db` does (SQLite, and PostgreSQL unless
`--only sqlite`), seeds a person with `--revisions` revisions across every section and
`--events` access-log events about them (a worker's reads, allowed and refused, chained as
the integrator chains them), has a scheme-wide DPO record a subject access request, then times
building the pack as JSON (decided, logged, read, serialised) and as a PDF (WeasyPrint), and
prints the figures. The target (issue 16) is under 60 s for each.

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import create_engine, text

from passport import activate, audit, create_app, db
from passport.cli import upgrade_database
from passport.config import Settings
from passport.identity.accounts import actor_for_person, actor_for_staff, add_agency, add_staff
from passport.identity.actor import SYSTEM
from passport.records.operations import add_entry, register_person, revise_entry
from passport.rights import operations, pack, printing
from passport.rights.processing import processing_information
from passport.vocabulary import Section

SERVER = os.environ.get("PASSPORT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")

CONTENT: dict[Section, dict[str, Any]] = {
    Section.STORY: {"text": "I have slept rough on and off for years.", "title": "My life so far"},
    Section.RISK: {"flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}]},
    Section.MEDICATION: {"name": "Methadone", "dose": "60 mg"},
    Section.WORKERS: {"name": "Amara Okafor", "role": "key worker"},
    Section.PREFERENCES: {"contact": [{"method": "in_person"}], "what_helps": "Afternoons"},
}


@contextmanager
def _database(backend: str, home: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{home / 'passport.db'}"
        return
    name = f"passport_sarbench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(person_id: str, holder: Any, worker: Any, revisions: int, events: int) -> None:
    """`revisions` revisions over every section; `events` access-log events about them."""
    sections = list(CONTENT)
    entries = [add_entry(holder, person_id, s, CONTENT[s]) for s in sections]
    made = len(entries) + 1  # the profile is the first
    number = 0
    while made < revisions:
        entry = entries[number % len(entries)]
        section = sections[number % len(sections)]
        content = dict(CONTENT[section])
        if section is Section.STORY:
            content["text"] = f"Revision {number}: I have slept rough on and off for years."
        elif section is Section.MEDICATION:
            content["dose"] = f"{60 + number % 40} mg"
        revise_entry(holder, person_id, section, entry.id, content)
        made += 1
        number += 1
    db.session.commit()
    audit.integrate_all()
    actor = worker.as_event()
    batch = []
    for n in range(events):
        allowed = n % 5 != 0
        batch.append(
            audit.Event(
                actor=actor,
                action="record.view" if n % 3 else "record.brief",
                outcome="allowed" if allowed else "denied",
                person_id=person_id,
                sections=["risk", "medication"] if allowed else ["story"],
                purpose="direct_support",
                basis={"kind": "grant", "id": str(uuid.uuid4())} if allowed else None,
                reason=None if allowed else "no-grant",
            )
        )
        if len(batch) == 1000:
            audit.record_many(batch)
            db.session.commit()
            audit.integrate_all()
            batch = []
    if batch:
        audit.record_many(batch)
        db.session.commit()
        audit.integrate_all()


def run(backend: str, events: int, revisions: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix=f"sar-bench-{backend}-"))
    try:
        with _database(backend, home) as url:
            env = {
                "PASSPORT_HOME": str(home),
                "PASSPORT_ENV": "development",
                "PASSPORT_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
                "PASSPORT_DATABASE_URL": url,
                "PASSPORT_AUDIT_INTEGRATOR": "inline",
            }
            app = create_app(Settings.from_env(env), initialise_keys=True)
            with app.app_context():
                upgrade_database(app)
                activate(app)
                agency = add_agency(SYSTEM, "Riverside Housing First", "housing")
                worker = actor_for_staff(
                    add_staff(
                        SYSTEM,
                        username="benchworker",
                        password="correct-horse-battery",
                        agency_id=agency.id,
                        roles=["caseworker"],
                        name="Amara Okafor",
                    )
                )
                dpo = actor_for_staff(
                    add_staff(
                        SYSTEM,
                        username="benchdpo",
                        password="correct-horse-battery",
                        agency_id=agency.id,
                        roles=["dpo"],
                        name="Dana Price",
                        scheme_wide=True,
                    )
                )
                person, _ = register_person(
                    SYSTEM,
                    name="Jessica Hartley",
                    preferred_name="Jess",
                    date_of_birth=date(1992, 3, 14),
                )
                db.session.commit()
                started = time.perf_counter()
                _seed(person.id, actor_for_person(person), worker, revisions, events)
                seeded = time.perf_counter() - started
                request = operations.record_subject_access_request(
                    dpo, person.id, "Letter from Jess", date.today() - timedelta(days=1)
                )
                db.session.commit()
                info = processing_information(6, "local", backend)

                started, cpu = time.perf_counter(), time.process_time()
                body = pack.build_pack(dpo, request.id, "json", info)
                encoded = json.dumps(body, ensure_ascii=False)
                db.session.commit()
                json_seconds = time.perf_counter() - started
                json_cpu = time.process_time() - cpu

                started, cpu = time.perf_counter(), time.process_time()
                body = pack.build_pack(dpo, request.id, "pdf", info)
                pdf = printing.render_pdf(body, "en")
                db.session.commit()
                pdf_seconds = time.perf_counter() - started
                pdf_cpu = time.process_time() - cpu
                revision_count = sum(len(v) for v in body["sections"].values())
                print(
                    f"{backend}: {len(body['access_log'])} events, {revision_count} revisions "
                    f"(seeded in {seeded:.1f} s)\n"
                    f"  JSON pack: {json_seconds:.2f} s ({json_cpu:.2f} s of CPU, "
                    f"{len(encoded) / 1e6:.1f} MB)\n"
                    f"  PDF pack:  {pdf_seconds:.2f} s ({pdf_cpu:.2f} s of CPU, "
                    f"{len(pdf) / 1e6:.1f} MB, {len(PdfReader(io.BytesIO(pdf)).pages)} pages)"
                )
                db.session.remove()
                app.extensions["passport_engine"].dispose()
                return {"json": json_seconds, "pdf": pdf_seconds}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    worst = 0.0
    for backend in backends:
        figures = run(backend, args.events, args.revisions)
        worst = max(worst, *figures.values())
    print(f"slowest pack: {worst:.2f} s (target < 60 s): {'met' if worst < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
