"""View latency against the size of the database (issue 13): not a test, a measurement.
PostgreSQL only.

    .venv/bin/python -m bench.scale_bench [--people 1000,100000] [--events-per-person 20]
                                          [--requests 500] [--rounds 3] [--clients 1]

For each size, builds a throwaway database holding that many people:

1. an access log of `--events-per-person` events a person, generated, chained and signed as
   the integrator does it and loaded by COPY (`bench.log_build`; its events name the
   generated log's people, whom step 3 makes);
2. on top of it, through the domain functions and the real integrator, exactly what
   `bench.view_bench` seeds: a worker, their agency and the person viewed, with an entry in
   every section and the agency's grant;
3. everybody else, copied in bulk with SQL from the person viewed — their rows in people,
   data_keys, entries, revisions and consent_grants, under new ids — so that the tables and
   their indexes hold that many people. Nobody reads the copies, so they need not decrypt.

Then it starts gunicorn (2 workers x 4 threads, background integrator) on every database at
once and, round by round, alternately, makes `--requests` consented views of the person with
`--clients` connections on each; latencies are pooled over the rounds. Prints p50 and p99 for
each size and the ratio of each p99 to the first size's. Target: p99 at 100k people within
1.25x of p99 at 1k.

Set PASSPORT_BENCH_PG_URL to point elsewhere (default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg

from passport import create_app, db
from passport.audit import checkpoints
from passport.audit.setup import log_id
from passport.cli import upgrade_database
from passport.config import Settings

from . import log_build
from .measure import percentile, timed_requests
from .view_bench import database, environment, free_port, gunicorn, paths, seed

TARGET_RATIO = 1.25
# The person viewed's tables, copied for everyone else: which column holds the person.
PER_PERSON = {
    "people": "id",
    "data_keys": "person_id",
    "entries": "person_id",
    "revisions": "person_id",
    "consent_grants": "person_id",
}


@dataclass
class Size:
    people: int
    events: int
    seconds: float  # to build
    latencies: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)


def fill_log(home: Path, url: str, events: int) -> None:
    """The generated log, loaded into the empty, migrated database before anything else."""
    settings = Settings.from_env(environment("postgresql", home, url))
    app = create_app(settings, initialise_keys=True)
    with app.app_context():
        upgrade_database(app)
        key = checkpoints.signing_key()
        name = log_id()
        db.session.commit()
    app.extensions["passport_engine"].dispose()
    log_build.build(url.replace("+psycopg", ""), events, key, name, progress=False)


def _copy_person(url: str, person_id: str, people: int) -> None:
    """`people - 1` copies of the person's rows, under the generated log's people's ids."""
    ids = [p for p in log_build.Spread().people if p != person_id][: people - 1]
    ids += [str(uuid.uuid4()) for _ in range(people - 1 - len(ids))]  # beyond the log's 100k
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_people (id varchar(36) PRIMARY KEY)")
        with conn.cursor() as cursor, cursor.copy("COPY bench_people (id) FROM STDIN") as copy:
            for person in ids:
                copy.write_row((person,))
        for table, person_column in PER_PERSON.items():
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
            ]

            def value(column: str, person_column: str = person_column) -> str:
                if column == person_column:
                    return "b.id"
                if column in ("id", "entry_id"):  # a new id, the same for an entry and its
                    return f"md5(t.{column} || b.id)::uuid::text"  # revisions
                return f"t.{column}"

            listed = ", ".join(columns)
            conn.execute(
                f"INSERT INTO {table} ({listed}) "
                f"SELECT {', '.join(value(c) for c in columns)} "
                f"FROM {table} t CROSS JOIN bench_people b WHERE t.{person_column} = %s",
                (person_id,),
            )
        for table in (*PER_PERSON, "audit_events"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def run(
    sizes: list[int], events_per_person: int, requests: int, rounds: int, clients: int
) -> list[Size]:
    with ExitStack() as stack:
        servers = []
        built: list[Size] = []
        for people in sizes:
            home = Path(tempfile.mkdtemp(prefix=f"passport-scalebench-{people}-"))
            stack.callback(shutil.rmtree, home, ignore_errors=True)
            url = stack.enter_context(database("postgresql", home))
            began = time.perf_counter()
            fill_log(home, url, people * events_per_person)
            seeded = seed("postgresql", home, url)
            _copy_person(url, seeded.person_id, people)
            built.append(Size(people, people * events_per_person, time.perf_counter() - began, []))
            port = free_port()
            stack.enter_context(gunicorn(seeded.env, port))
            servers.append((port, paths(seeded.person_id)["view"], seeded.token))
        for port, path, token in servers:  # both workers of each, through fresh connections
            timed_requests(port, path, token, 100, clients=4, fresh=True)
        for _ in range(rounds):
            for size, (port, path, token) in zip(built, servers, strict=True):
                size.latencies += timed_requests(port, path, token, requests, clients)
    return built


def report(sizes: list[Size], clients: int) -> None:
    print(f"\npostgresql (background integrator), gunicorn 2x4, {clients} client(s), views")
    print("| people | log events | built in s | views | p50 ms | p99 ms | p99 × first |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        print(
            f"| {size.people:,} | {size.events:,} | {size.seconds:.0f} | {len(size.latencies)} | "
            f"{size.p50:.1f} | {size.p99:.1f} | {size.p99 / sizes[0].p99:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", default="1000,100000", help="comma-separated sizes")
    parser.add_argument("--events-per-person", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500, help="views per size per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=1)
    options = parser.parse_args()
    sizes = [int(n) for n in options.people.split(",")]
    report(
        run(sizes, options.events_per_person, options.requests, options.rounds, options.clients),
        options.clients,
    )


if __name__ == "__main__":
    main()
