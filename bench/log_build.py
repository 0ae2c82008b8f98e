"""A generated access log of millions of events on PostgreSQL, for `bench.log_bench`.

The events are made here, in bulk, but chained exactly as the integrator chains them
(AUDIT_FORMAT.md: SHA-256 over the previous hash and the RFC 8785 body, the body checked
against `chain.canonical` for the first rows) and signed with the installation's key every
`EVERY_EVENTS` events, as the integrator's hook signs a busy log, so `passport audit verify`
accepts the log and can be timed on it. Rows go in by COPY with the secondary indexes
dropped, which are then rebuilt as the migrations made them.

The spread: ~100k people (one of them, the first, with ~5k events), 2,000 staff in 50
agencies, a mix of actions and outcomes, times over two years (about one event every 6 s on
average, busier by day), and about 1% of events stamped up to 3 s before the event chained
just before them, as concurrent requests that commit out of order are.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from passport.audit.chain import GENESIS_HASH, canonical
from passport.audit.checkpoints import EVERY_EVENTS, SigningKey
from passport.audit.events import format_time

PEOPLE = 100_000
AGENCIES = 50
STAFF = 2_000
HEAVY_PERSON_EVENTS = 5_000
DAYS = 730

# (action, weight, person-facing: whether it names a person)
ACTIONS: list[tuple[str, float, bool]] = [
    ("record.view", 42, True),
    ("record.brief", 14, True),
    ("record.history", 5, True),
    ("record.write", 10, True),
    ("auth.login", 10, False),
    ("auth.login_failed", 1, False),
    ("auth.token_issued", 2, False),
    ("consent.grant", 3, True),
    ("consent.revoke", 1, True),
    ("contributor.add", 0.5, True),
    ("contributor.remove", 0.2, True),
    ("emergency.open", 0.2, True),
    ("emergency.review", 0.1, True),
    ("mdt.agenda_add", 1, True),
    ("mdt.summary", 2, True),
    ("person.create", 1, True),
    ("audit.query", 2, False),
    ("audit.export", 0.1, False),
]
OUTCOMES = [("allowed", 93.0), ("denied", 6.5), ("error", 0.5)]
SECTIONS = [
    [],
    ["medication"],
    ["medication", "risk"],
    ["risk", "story", "what_works"],
    ["medication", "risk", "story", "what_works", "workers"],
    ["story"],
]
PURPOSES = ["direct_support", "referral", "safeguarding", "emergency", None]
REASONS = ["no-grant", "grant-expired", "grant-revoked", "wrong-purpose", "role"]

_escape = json.encoder.encode_basestring
_COLUMNS = (
    "seq, occurred_at, action, outcome, actor, actor_id, actor_agency_id, person_id, "
    "sections, purpose, basis, reason, request_id, detail, prev_hash, entry_hash"
)


def _ids(rng: random.Random, n: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


class Spread:
    """The people, staff and agencies the events are about, drawn from one seed."""

    def __init__(self, seed: int = 13) -> None:
        rng = random.Random(seed)
        self.people = _ids(rng, PEOPLE)
        self.agencies = _ids(rng, AGENCIES)
        staff_ids = _ids(rng, STAFF)
        roles = [["caseworker"], ["caseworker"], ["caseworker"], ["dpo"], ["mdt_chair"]]
        # canonical JSON of each staff actor, and its (id, agency) columns
        self.staff: list[tuple[str, str, str]] = []
        for i, staff_id in enumerate(staff_ids):
            agency = self.agencies[i % AGENCIES]
            actor = {"id": staff_id, "kind": "staff", "agency_id": agency, "roles": roles[i % 5]}
            self.staff.append((canonical(actor).decode(), staff_id, agency))
        self.grants = [canonical({"kind": "grant", "id": g}).decode() for g in _ids(rng, 5000)]
        self.heavy_person = self.people[0]


def _times(rng: random.Random, count: int, end: datetime) -> Iterator[datetime]:
    """`count` increasing moments over DAYS days ending at `end`, busier by day."""
    start = end - timedelta(days=DAYS)
    # the mean gap, spread so that nights (22:00-07:00) are a fifth as busy
    mean = DAYS * 86400 / count
    now = start
    for _ in range(count):
        hour = now.hour
        gap = rng.expovariate(1 / (mean * (2.2 if hour >= 22 or hour < 7 else 0.6)))
        now += timedelta(seconds=gap)
        yield now


def rows(count: int, spread: Spread, end: datetime, seed: int = 7) -> Iterator[list[Any]]:
    """The events in seq order, each as the table's columns (`_COLUMNS`), chained."""
    rng = random.Random(seed)
    actions = [a for a, _w, _p in ACTIONS]
    weights = [w for _a, w, _p in ACTIONS]
    names_person = {a: p for a, _w, p in ACTIONS}
    outcomes = [o for o, _w in OUTCOMES]
    outcome_weights = [w for _o, w in OUTCOMES]
    heavy_every = max(1, count // HEAVY_PERSON_EVENTS)
    people = spread.people
    prev = GENESIS_HASH
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    request_base = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8{rng.getrandbits(12):03x}-"
    block = 50_000
    times = _times(rng, count, end)
    last_at = ""
    seq = 0
    while seq < count:
        n = min(block, count - seq)
        picked = rng.choices(actions, weights, k=n)
        outs = rng.choices(outcomes, outcome_weights, k=n)
        for action, outcome in zip(picked, outs, strict=True):
            seq += 1
            at = format_time(next(times))
            if last_at and rng.random() < 0.01:
                # stamped before its predecessor: a request that committed late
                late = datetime.strptime(last_at, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(
                    seconds=rng.random() * 3
                )
                at = format_time(late.replace(tzinfo=UTC))
            else:
                last_at = at
            if seq % heavy_every == 0 and names_person[action]:
                person: str | None = spread.heavy_person
            elif names_person[action] or action.startswith("auth."):
                person = people[int(rng.paretovariate(1.2) * 7) % PEOPLE]
            else:
                person = None
            kind = rng.random()
            if action.startswith("auth.") and kind < 0.6 and person is not None:
                actor = f'{{"agency_id":null,"id":{_escape(person)},"kind":"person","roles":[]}}'
                actor_id: str | None = person
                agency: str | None = None
            elif kind < 0.02:
                actor = '{"agency_id":null,"id":"system","kind":"system","roles":[]}'
                actor_id, agency = "system", None
            else:
                actor, actor_id, agency = spread.staff[int(rng.random() ** 2 * STAFF)]
            sections = SECTIONS[seq % 6] if action.startswith("record.") else SECTIONS[0]
            sections_text = json.dumps(sections, separators=(",", ":"))
            purpose = PURPOSES[seq % 5] if action.startswith(("record.", "consent.")) else None
            denied = outcome == "denied"
            basis = "null" if denied or purpose is None else spread.grants[seq % 5000]
            reason = REASONS[seq % 5] if denied else None
            detail = '{"count":3}' if action.startswith(("audit.", "mdt.")) else "{}"
            request_id = f"{request_base}{seq:012x}"
            text = (
                f'{{"action":{_escape(action)},"actor":{actor},"basis":{basis},'
                f'"detail":{detail},"occurred_at":"{at}","outcome":"{outcome}",'
                f'"person_id":{"null" if person is None else _escape(person)},'
                f'"purpose":{"null" if purpose is None else _escape(purpose)},'
                f'"reason":{"null" if reason is None else _escape(reason)},'
                f'"request_id":"{request_id}","sections":{sections_text},"seq":{seq}}}'
            )
            payload = text.encode()
            if seq <= 2000:  # the template is JCS: checked against the real encoder
                assert payload == canonical(json.loads(text)), text
            digest = sha256(fromhex(prev) + payload).hexdigest()
            yield [
                seq,
                at,
                action,
                outcome,
                actor,
                actor_id,
                agency,
                person,
                sections_text,
                purpose,
                basis,
                reason,
                request_id,
                detail,
                prev,
                digest,
            ]
            prev = digest


def _line(values: list[Any]) -> str:
    # COPY's text format; no generated value holds a tab, newline or backslash
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


def build(url: str, count: int, key: SigningKey, log_id: str, progress: bool = True) -> None:
    """Fill the (empty, migrated) database at `url` with `count` chained, signed events."""
    spread = Spread()
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'audit_events'::regclass AND contype = 'u'"
        ).fetchall()
        for name, _def in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for name, _def in constraints:
            conn.execute(f'ALTER TABLE audit_events DROP CONSTRAINT "{name}"')
        began = time.perf_counter()
        checkpoints: list[str] = []
        with conn.cursor() as cursor:
            with cursor.copy(f"COPY audit_events ({_COLUMNS}) FROM STDIN") as copy:
                buffer: list[str] = []
                for row in rows(count, spread, end):
                    buffer.append(_line(row))
                    seq = row[0]
                    if seq % EVERY_EVENTS == 0 or seq == count:
                        signed_at = row[1]
                        statement = {
                            "log_id": log_id,
                            "seq": seq,
                            "entry_hash": row[15],
                            "signed_at": signed_at,
                        }
                        checkpoints.append(
                            _line(
                                [log_id, seq, row[15], signed_at, key.sign(statement), key.key_id]
                            )
                        )
                    if len(buffer) >= 20_000:
                        copy.write("".join(buffer))
                        buffer.clear()
                        if progress:
                            rate = seq / (time.perf_counter() - began)
                            print(f"\r  {seq:,} events ({rate:,.0f}/s)", end="", flush=True)
                copy.write("".join(buffer))
            with cursor.copy(
                "COPY audit_checkpoints (log_id, seq, entry_hash, signed_at, signature, key_id) "
                "FROM STDIN"
            ) as copy:
                copy.write("".join(checkpoints))
        if progress:
            print(f"\n  copied in {time.perf_counter() - began:.0f} s; rebuilding the indexes")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE audit_events ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            conn.execute(definition)
        # the time blocks the integrator writes as it goes, as the migration fills them in
        conn.execute(
            "INSERT INTO audit_time_blocks (block, first_at, last_at) "
            "SELECT (seq - 1) / 1000, min(occurred_at), max(occurred_at) FROM audit_events "
            "WHERE seq <= (SELECT max(seq) FROM audit_events) / 1000 * 1000 "
            "GROUP BY (seq - 1) / 1000"
        )
        conn.execute("VACUUM (ANALYZE) audit_events")
        conn.execute("VACUUM (ANALYZE) audit_time_blocks")
        conn.execute("VACUUM (ANALYZE) audit_checkpoints")
        if progress:
            print(f"  built in {time.perf_counter() - began:.0f} s")
