"""MDT summary benchmark (issue 13): not a test, a measurement.

    .venv/bin/python -m bench.mdt_bench [--json 60] [--pdfs 20] [--memory-pdfs 200]
                                        [--only sqlite|postgresql]

For SQLite (inline integrator) and then PostgreSQL (background integrator), builds a throwaway
database as `bench.view_bench` does and seeds, with the domain functions, an MDT forum set up by
an admin, its chair, last month's meeting and this one, and 25 people on this meeting's agenda,
each with an entry in every section, an `mdt` grant to the forum and an open action. Then, under
the same gunicorn (2 workers x 4 threads) as view_bench:

1. Time: `GET /api/v1/meetings/{id}/summary` (JSON) `--json` times and
   `GET /api/v1/meetings/{id}/summary.pdf` (the API's PDF, the one partners call: API.md)
   `--pdfs` times, one request at a time, after every worker has made a few of each; prints
   p50 and p99 in ms. Targets: JSON <= 300 ms, PDF <= 1 s.
2. Memory: reads each worker's VmRSS (/proc/PID/status) after warm-up (JSON summaries only),
   after its first PDFs, and after `--memory-pdfs` more PDFs (two clients, a new connection
   for each request, so both workers print; the CPU time each worker spent shows they did).
   Prints the growth in MiB and %. Target: no lasting growth once a worker has printed
   (read as: within LASTING_GROWTH_PERCENT of its RSS after its first PDFs).

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from passport import activate, audit, create_app, db
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
from passport.mdt.operations import (
    add_action,
    add_member,
    add_to_agenda,
    create_forum,
    create_meeting,
)
from passport.records.operations import add_entry, register_person
from passport.vocabulary import Section

from .measure import cpu_seconds, percentile, rss_mib, timed_requests, worker_pids
from .view_bench import CONTENT, database, environment, free_port, gunicorn

PEOPLE = 25
FIRST_PDFS = 8  # enough for each worker to have loaded WeasyPrint and its fonts
JSON_TARGET_MS = 300
PDF_TARGET_MS = 1000
# "No lasting growth", read as: once a worker has printed, RSS stays within this of where it
# was after its first PDFs (the allocator's noise), however many more it prints.
LASTING_GROWTH_PERCENT = 5


@dataclass
class Seeded:
    env: dict[str, str]
    token: str  # the chair's
    meeting_id: str


@dataclass
class WorkerMemory:
    warm: float  # MiB after JSON summaries only
    first_pdfs: float  # after its first PDFs
    end: float  # after the memory run's PDFs
    cpu: float  # seconds of CPU spent during the memory run

    @property
    def lasting_growth(self) -> float:
        return self.end - self.first_pdfs


@dataclass
class Result:
    backend: str
    json_ms: list[float]
    pdf_ms: list[float]
    memory_pdfs: int
    workers: dict[int, WorkerMemory]
    failed: list[str]  # answers other than 200 to the PDFs made two at a time

    def p(self, kind: str, q: float) -> float:
        return percentile(self.json_ms if kind == "json" else self.pdf_ms, q)

    @property
    def worst_growth(self) -> tuple[float, float]:
        """The largest lasting growth of any worker: MiB, and % of its RSS after its first
        PDFs."""
        worst = max(self.workers.values(), key=lambda w: w.lasting_growth)
        return worst.lasting_growth, 100 * worst.lasting_growth / worst.first_pdfs


def seed(backend: str, home: Path, url: str) -> Seeded:
    env = environment(backend, home, url)
    app = create_app(Settings.from_env(env), initialise_keys=True)
    with app.app_context():
        upgrade_database(app)
        activate(app)
        agency = add_agency(SYSTEM, "Riverside Housing First", "housing")
        admin = actor_for_staff(
            add_staff(
                SYSTEM,
                username="benchadmin",
                password="correct-horse-battery",
                agency_id=agency.id,
                roles=["admin"],
                name="Ada Min",
            )
        )
        chair = actor_for_staff(
            add_staff(
                SYSTEM,
                username="benchchair",
                password="correct-horse-battery",
                agency_id=agency.id,
                roles=["caseworker", "mdt_chair"],
                name="Gareth Lewis",
            )
        )
        forum = create_forum(admin, "Riverside MDT", [agency.id])
        add_member(admin, forum.id, chair.id, "chair")
        db.session.commit()
        today = db.utcnow().date()
        # a previous meeting, so the summary works out what changed since it
        create_meeting(chair, forum.id, today - timedelta(days=28), "Last month", [])
        meeting = create_meeting(chair, forum.id, today, "This month", [chair.id])
        db.session.commit()
        for n in range(PEOPLE):
            person, _ = register_person(
                SYSTEM,
                name=f"Person {n}",
                preferred_name=f"P{n}",
                date_of_birth=date(1980, 1, 1 + n % 28),
            )
            db.session.commit()
            holder = actor_for_person(person)
            for section, content in CONTENT.items():
                add_entry(holder, person.id, section, content)
            create_grant(
                holder,
                person.id,
                grantee_type="mdt",
                grantee_id=forum.id,
                sections=[s.value for s in Section],
                purpose="mdt",
                expires_on=today + timedelta(days=60),
                method="self",
            )
            add_to_agenda(chair, meeting.id, person.id)
            due = today + timedelta(days=14)
            add_action(chair, meeting.id, person.id, chair.id, "Book a GP review", due)
            db.session.commit()
        token = issue_token(chair, 86400)
        db.session.commit()
        audit.integrate_all()
        meeting_id = meeting.id
    db.session.remove()
    app.extensions["passport_engine"].dispose()
    env["PASSPORT_BENCH_PERSON_ID"] = person.id  # bench.view_bench_app's baselines read it
    return Seeded(env, token, meeting_id)


def run(backend: str, json_count: int, pdf_count: int, memory_pdfs: int) -> Result:
    home = Path(tempfile.mkdtemp(prefix=f"passport-mdtbench-{backend}-"))
    try:
        with database(backend, home) as url:
            seeded = seed(backend, home, url)
            port = free_port()
            summary = f"/api/v1/meetings/{seeded.meeting_id}/summary"
            pdf = f"{summary}.pdf"
            with gunicorn(seeded.env, port) as master:
                pids = worker_pids(master.pid)
                timed_requests(port, summary, seeded.token, 20, clients=4, fresh=True)
                warm = {pid: rss_mib(pid) for pid in pids}
                failed: list[str] = []  # two at once on SQLite can be refused: counted
                timed_requests(port, pdf, seeded.token, FIRST_PDFS, 2, True, failed)
                first = {pid: rss_mib(pid) for pid in pids}
                # timed one at a time, so a figure is one request's own time
                json_ms = timed_requests(port, summary, seeded.token, json_count)
                pdf_ms = timed_requests(port, pdf, seeded.token, pdf_count)
                before = {pid: cpu_seconds(pid) for pid in pids}
                timed_requests(port, pdf, seeded.token, memory_pdfs, 2, True, failed)
                workers = {
                    pid: WorkerMemory(
                        warm[pid], first[pid], rss_mib(pid), cpu_seconds(pid) - before[pid]
                    )
                    for pid in pids
                }
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return Result(backend, json_ms, pdf_ms, memory_pdfs, workers, failed)


def report(result: Result) -> None:
    print(
        f"\n{result.backend}: MDT summary of {PEOPLE} people, gunicorn 2x4, one request at a time"
    )
    print("| summary | requests | p50 ms | p99 ms | mean ms | target |")
    print("|---|---|---|---|---|---|")
    for kind, samples, target in (
        ("JSON", result.json_ms, JSON_TARGET_MS),
        ("PDF", result.pdf_ms, PDF_TARGET_MS),
    ):
        print(
            f"| {kind} | {len(samples)} | {percentile(samples, 50):.0f} | "
            f"{percentile(samples, 99):.0f} | {statistics.mean(samples):.0f} | ≤ {target} |"
        )
    print(
        f"\nWorker RSS, MiB: after warm-up (JSON only), after the first {FIRST_PDFS} PDFs "
        f"(between the workers), after {result.memory_pdfs} more"
    )
    if result.failed:
        print(f"{len(result.failed)} PDFs made two at a time failed, e.g. {result.failed[0]}")
    print("| worker | warm-up | first PDFs | end | one-time (first PDFs) | lasting | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for pid, w in result.workers.items():
        once = w.first_pdfs - w.warm
        print(
            f"| {pid} | {w.warm:.0f} | {w.first_pdfs:.0f} | {w.end:.0f} | "
            f"{once:+.1f} ({100 * once / w.warm:+.0f}%) | "
            f"{w.lasting_growth:+.1f} ({100 * w.lasting_growth / w.first_pdfs:+.1f}%) | "
            f"{w.cpu:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=int, default=60, help="JSON summaries timed")
    parser.add_argument("--pdfs", type=int, default=20, help="PDFs timed")
    parser.add_argument("--memory-pdfs", type=int, default=200, help="PDFs for the memory run")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if options.only in (None, backend):
            report(run(backend, options.json, options.pdfs, options.memory_pdfs))


if __name__ == "__main__":
    main()
