"""The queries a caseload of 500 and an MDT summary of 25 cost (issue 13): not a test, a count.

    .venv/bin/python -m bench.query_counts [--caseload 500] [--only sqlite|postgresql]

tests/test_statement_counts.py holds the counts for a caseload of 50 and a summary of 10; this
counts them at the sizes the issue's target names. On a throwaway database (SQLite, then
PostgreSQL) it seeds the MDT of `bench.mdt_bench` (25 people on the agenda) and a worker whose
agency `--caseload` people have granted every section, then counts the statements one
`GET /api/v1/people` and one `GET /api/v1/meetings/{id}/summary` run (after a warm-up request
each), in-process, with the integrator as deployed: inline on SQLite, chaining inside the
request's transaction; background on PostgreSQL, whose thread's statements are not the
request's and are left out (the test counts PostgreSQL with the inline integrator, so its
figures include the chaining). It prints the statements, how many of them are transaction
control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE: psycopg begins implicitly and commits
without a statement, so on PostgreSQL there are none) and commits. Target: each under 20
queries (statements other than transaction control).

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from passport import activate, audit, create_app, db
from passport.audit.background import background
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
from passport.records.operations import register_person
from passport.vocabulary import Section

from . import mdt_bench
from .view_bench import database, environment

TARGET_QUERIES = 20
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class Count:
    statements: int
    control: int  # of which transaction control
    commits: int
    listed: int  # people in the response

    @property
    def queries(self) -> int:
        return self.statements - self.control


def _seed_caseload(people: int) -> str:
    """A worker whose agency `people` people have granted every section; their token."""
    agency = add_agency(SYSTEM, "Eastside Outreach", "housing")
    worker = actor_for_staff(
        add_staff(
            SYSTEM,
            username="benchcaseload",
            password="correct-horse-battery",
            agency_id=agency.id,
            roles=["caseworker"],
            name="Dev Patel",
        )
    )
    expires = db.utcnow().date() + timedelta(days=60)
    for n in range(people):
        person, _ = register_person(
            SYSTEM,
            name=f"Caseload {n}",
            preferred_name=f"C{n}",
            date_of_birth=date(1970 + n % 30, 1 + n % 12, 1 + n % 28),
        )
        create_grant(
            actor_for_person(person),
            person.id,
            grantee_type="agency",
            grantee_id=agency.id,
            sections=[s.value for s in Section],
            purpose="direct_support",
            expires_on=expires,
            method="self",
        )
        db.session.commit()
    token = issue_token(worker, 86400)
    db.session.commit()
    audit.integrate_all()
    return token


def _count(app: Any, token: str, path: str, items: str) -> Count:
    engine: Engine = app.extensions["passport_engine"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get(path, headers=headers)  # warm: the first request of a process does more
    statements: list[str] = []
    commits = [0]
    request = threading.get_ident()  # the test client serves in this thread

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if threading.get_ident() == request:
            statements.append(sql)

    def commit(_conn: Any) -> None:
        if threading.get_ident() == request:
            commits[0] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        response = client.get(path, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    assert response.status_code == 200, response.get_json()
    control = sum(1 for s in statements if s.lstrip().upper().startswith(CONTROL))
    return Count(len(statements), control, commits[0], len(response.get_json()[items]))


def run(backend: str, caseload: int) -> dict[str, Count]:
    home = Path(tempfile.mkdtemp(prefix=f"passport-querycounts-{backend}-"))
    try:
        with database(backend, home) as url:
            meeting = mdt_bench.seed(backend, home, url)
            app = create_app(Settings.from_env(environment(backend, home, url)))
            try:
                with app.app_context():
                    activate(app)
                    token = _seed_caseload(caseload)
                    return {
                        f"caseload of {caseload}": _count(app, token, "/api/v1/people", "items"),
                        f"MDT summary of {mdt_bench.PEOPLE}": _count(
                            app,
                            meeting.token,
                            f"/api/v1/meetings/{meeting.meeting_id}/summary",
                            "people",
                        ),
                    }
            finally:
                background.stop()  # the requests started it; nothing here needs it again
                db.session.remove()
                app.extensions["passport_engine"].dispose()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(backend: str, counts: dict[str, Count]) -> None:
    integrator = "inline" if backend == "sqlite" else "background"
    print(f"\n{backend} ({integrator} integrator): the statements of one request, after a warm-up")
    print("| request | people listed | statements | transaction control | queries | commits |")
    print("|---|---|---|---|---|---|")
    for label, c in counts.items():
        print(
            f"| {label} | {c.listed} | {c.statements} | {c.control} | {c.queries} | {c.commits} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caseload", type=int, default=500)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if options.only in (None, backend):
            report(backend, run(backend, options.caseload))


if __name__ == "__main__":
    main()
