"""Where `passport audit verify` spends its CPU, per event (issue 13: verify 10M events in
30 s on 2 cores). Not a test, a measurement. PostgreSQL only, and local: the backend's CPU
is read from /proc.

    .venv/bin/python -m bench.verify_split DATABASE_URL [--events 1000000] [--rounds 3]

On the first `--events` events of a generated log (`bench.log_build`; keep one to measure
again), each as the CPU of this process and of its PostgreSQL backend, the least of
`--rounds`:

- fetch: the rows verify reads (`_VERIFY_SQL`, a server-side cursor, `_FETCH` at a time);
- fetch, PostgreSQL escaping: the same with the scalar columns escaped and spliced into one
  JCS fragment by PostgreSQL (`to_json`), the alternative that was measured and not kept;
- scan: `_scan` over those rows (fetch included), as each worker runs it;
- signature: one checkpoint's Ed25519 check, and what that is per event at one every
  `EVERY_EVENTS`.

Fixed costs (starting the processes, reading the checkpoints) come on top; so does the
progress bar.
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from passport.audit import verify
from passport.audit.chain import canonical
from passport.audit.checkpoints import EVERY_EVENTS

_TICK = os.sysconf("SC_CLK_TCK")

# The scalar columns as PostgreSQL would splice them: the JCS of each, between their keys.
PG_ESCAPED_SQL = (
    "SELECT seq, to_json(action)::text, CAST(actor AS TEXT), CAST(basis AS TEXT), "
    "CAST(detail AS TEXT), ',\"occurred_at\":' || to_json(occurred_at)::text "
    "|| ',\"outcome\":' || to_json(outcome)::text "
    "|| ',\"person_id\":' || coalesce(to_json(person_id)::text, 'null') "
    "|| ',\"purpose\":' || coalesce(to_json(purpose)::text, 'null') "
    "|| ',\"reason\":' || coalesce(to_json(reason)::text, 'null') "
    "|| ',\"request_id\":' || coalesce(to_json(request_id)::text, 'null') "
    "|| ',\"sections\":', CAST(sections AS TEXT), prev_hash, entry_hash FROM audit_events"
)


def _driver(conn: psycopg.Connection[Any]) -> Any:
    """What `verify._driver_batches` reads of a SQLAlchemy connection, around `conn`."""
    pooled = SimpleNamespace(driver_connection=conn)
    return SimpleNamespace(connection=pooled, dialect=SimpleNamespace(name="postgresql"))


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _measured(url: str, work: Callable[[Any], int]) -> tuple[float, float, int]:
    """(client CPU s, backend CPU s, rows) of `work` on a new connection, in a transaction."""
    with psycopg.connect(url) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        client, backend = _own_cpu(), _backend_cpu(pid)
        with conn.transaction():
            rows = work(conn)
        return _own_cpu() - client, _backend_cpu(pid) - backend, rows


def _fetch(sql: str) -> Callable[[Any], int]:
    def work(conn: Any) -> int:
        return sum(len(rows) for rows in verify._driver_batches(_driver(conn), sql, verify._FETCH))

    return work


def _scan(events: int) -> Callable[[Any], int]:
    def work(conn: Any) -> int:
        sql = verify._range_sql(None, events + 1)
        job = verify._Job(None, events + 1, {}, (), None, 0)
        span = verify._scan(verify._driver_batches(_driver(conn), sql, verify._FETCH), job, None)
        if span.problem is not None:
            raise SystemExit(f"the log fails at seq {span.problem[0]}: {span.problem[1]}")
        return span.count

    return work


def _signature_seconds(rounds: int) -> float:
    """The CPU of checking one checkpoint's signature, as `_scan` checks each."""
    key = Ed25519PrivateKey.generate()
    checkpoint: dict[str, Any] = {
        "log_id": "bench",
        "seq": 100,
        "entry_hash": "0" * 64,
        "signed_at": "2026-12-02T10:00:00.000000Z",
    }
    keys = verify.public_keys(key.public_key())
    checkpoint["signature"] = base64.b64encode(key.sign(canonical(checkpoint))).decode()
    checkpoint["key_id"] = next(iter(keys))
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(500):
            assert verify._signature_problem(checkpoint, keys, "bench") is None
        best = min(best, (time.process_time() - began) / 500)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the database, e.g. postgresql://postgres@127.0.0.1/x")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    url = make_url(options.url).set(drivername="postgresql").render_as_string(False)
    upto = f" WHERE seq <= {int(options.events)} ORDER BY seq"
    cases = [
        ("fetch", _fetch(verify._VERIFY_SQL + upto)),
        ("fetch, PostgreSQL escaping", _fetch(PG_ESCAPED_SQL + upto)),
        ("scan (fetch included)", _scan(options.events)),
    ]
    print("| per event, µs CPU | this process | its backend | rows |")
    print("|---|---|---|---|")
    for label, work in cases:
        runs = [_measured(url, work) for _ in range(options.rounds)]
        client = min(r[0] for r in runs) / runs[0][2] * 1e6
        backend = min(r[1] for r in runs) / runs[0][2] * 1e6
        print(f"| {label} | {client:.2f} | {backend:.2f} | {runs[0][2]:,} |", flush=True)
    one = _signature_seconds(options.rounds)
    print(f"| signature: one checkpoint {one * 1e6:.0f} µs | {one / EVERY_EVENTS * 1e6:.2f} | | |")


if __name__ == "__main__":
    main()
