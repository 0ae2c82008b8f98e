"""The access log's issue-13 targets on a generated log (issue 13, item 4): not a test, a
measurement. PostgreSQL only; slow (building 10M events takes a while).

    .venv/bin/python -m bench.log_targets [--events 10000000] [--rounds 11]

What `bench.log_bench` measures, for the target table (`bench.targets --with-log`), on a
throwaway database of its own (log_bench keeps one fixed name, which another run may be
using): builds a generated, chained and signed log of `--events` events (`bench.log_build`),
times as medians of `--rounds` every DPO filter of the log page (`search_newest_first`) and of
the API's oldest-first time ranges, and the first page of the own access log of a person with
~5k events, with log_bench's cases; then verifies the whole log (`passport audit verify`, 2
processes). Targets: every filter and the first page ≤ 100 ms median; verify ≤ 30 s.

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from passport import activate, create_app, db
from passport.audit import operations
from passport.audit.models import AuditEvent
from passport.config import Settings
from passport.consent import access_log
from passport.identity.actor import Actor
from passport.identity.models import Person
from passport.vocabulary import ActorKind, Role

from . import log_build
from .log_bench import cases, timed
from .scale_bench import fill_log
from .view_bench import database, environment

QUERY_TARGET_MS = 100
VERIFY_TARGET_S = 30
VERIFY_WORKERS = 2
FIRST_PAGE = "the person's first page (~5k events)"


@dataclass
class Result:
    events: int
    build_seconds: float
    medians: dict[str, float]  # query -> median ms
    verify_seconds: float
    verify_exit: int

    @property
    def first_page(self) -> float:
        return self.medians[FIRST_PAGE]

    @property
    def slowest_filter(self) -> tuple[str, float]:
        filters = {label: ms for label, ms in self.medians.items() if label != FIRST_PAGE}
        return max(filters.items(), key=lambda item: item[1])


def _queries(spread: log_build.Spread, end: datetime) -> list[tuple[str, Callable[[], Any]]]:
    dpo = Actor(
        id=spread.staff[3][1],
        kind=ActorKind.STAFF,
        name="DPO",
        agency_id=spread.staff[3][2],
        roles=frozenset({Role.DPO}),
        scheme_wide=True,
    )
    person = Actor(id=spread.heavy_person, kind=ActorKind.PERSON, name="Person")
    found: list[tuple[str, Callable[[], Any]]] = [
        (f"newest first: {label}", lambda w=where: operations.search_newest_first(dpo, w))
        for label, where in cases(spread, end)
    ]
    found += [
        (f"oldest first (API): {label}", lambda w=where: operations.search(dpo, w))
        for label, where in cases(spread, end)[9:12]  # the time ranges, as log_bench
    ]
    found.append(
        (
            FIRST_PAGE,
            lambda: access_log.person_access_log(person, spread.heavy_person),
        )
    )
    return found


def run(events: int, rounds: int) -> Result:
    home = Path(tempfile.mkdtemp(prefix="passport-logtargets-"))
    try:
        with database("postgresql", home) as url:
            began = time.perf_counter()
            fill_log(home, url, events)
            built = time.perf_counter() - began
            env = environment("postgresql", home, url)
            app = create_app(Settings.from_env(env))
            activate(app)
            spread = log_build.Spread()
            try:
                with app.app_context():
                    last = db.session.execute(
                        select(AuditEvent.occurred_at).order_by(AuditEvent.seq.desc()).limit(1)
                    ).scalar_one()
                    end = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                    db.session.add(Person(id=spread.heavy_person))  # whose own log is read
                    db.session.commit()
                    queries = _queries(spread, end)
                    samples: dict[str, list[float]] = {label: [] for label, _ in queries}
                    for _ in range(rounds):
                        for label, query in queries:
                            samples[label].append(timed(query))
            finally:
                db.session.remove()
                app.extensions["passport_engine"].dispose()
            began = time.perf_counter()
            done = subprocess.run(
                [
                    str(Path(sys.executable).parent / "passport"),
                    "audit",
                    "verify",
                    "--workers",
                    str(VERIFY_WORKERS),
                ],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
            )
            verified = time.perf_counter() - began
    finally:
        shutil.rmtree(home, ignore_errors=True)
    medians = {label: statistics.median(times) for label, times in samples.items()}
    return Result(events, built, medians, verified, done.returncode)


def report(result: Result) -> None:
    print(f"\n{result.events:,} generated events (built in {result.build_seconds:.0f} s)")
    print("| query | median ms |")
    print("|---|---|")
    for label, median in result.medians.items():
        print(f"| {label} | {median:.1f} |")
    print(
        f"verify, {VERIFY_WORKERS} processes: {result.verify_seconds:.1f} s "
        f"(exit {result.verify_exit})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=11)
    options = parser.parse_args()
    report(run(options.events, options.rounds))


if __name__ == "__main__":
    main()
