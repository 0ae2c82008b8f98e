"""Reading the access log (issue 13): no read holds the integrator's lock, and a time range
is answered from the seqs that can hold it — exactly, though times follow seq only roughly.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.exc import DBAPIError

from passport import audit, db
from passport.audit import operations
from passport.audit.chain import canonical
from passport.audit.events import QUEUE_EVENT, format_time, queued_text
from passport.audit.models import TIME_BLOCK_EVENTS, AuditEvent, AuditTimeBlock
from passport.audit.operations import EventFilter
from passport.audit.time_index import seq_window
from passport.consent import access_log
from passport.identity.actor import Actor
from passport.vocabulary import Action, Outcome

from .conftest import BACKEND
from .factories import Factory

BASE = datetime(2026, 6, 1, tzinfo=UTC)


def _queue_at(moments: list[datetime], actor: Actor, person_id: str | None = None) -> None:
    """Queue events as `audit.record` does, but stamped at the given moments (requests that
    committed out of order), then chain them."""
    rows = []
    for moment in moments:
        body = json.loads(
            queued_text(
                actor=actor.as_event(),
                action=Action.RECORD_VIEW,
                outcome=Outcome.ALLOWED,
                person_id=person_id,
            )
        )
        body["occurred_at"] = format_time(moment)
        rows.append((canonical(body).decode(),))
    connection = db.session.connection()
    connection.exec_driver_sql(QUEUE_EVENT[connection.dialect.paramstyle], rows)
    db.session.commit()
    audit.integrate_all()


def _disordered(count: int, seed: int) -> list[datetime]:
    """`count` moments a second apart, a few stamped well before their neighbours (up to
    ten minutes: several blocks back), and one a week before everything."""
    rng = random.Random(seed)
    moments = []
    for i in range(count):
        moment = BASE + timedelta(seconds=i)
        if rng.random() < 0.03:
            moment -= timedelta(seconds=rng.randrange(1, 600))
        moments.append(moment)
    moments[count // 2] = BASE - timedelta(days=7)
    return moments


@pytest.fixture
def log(make: Factory) -> dict[str, Any]:
    dpo = make.staff("dpo", scheme_wide=True)
    start = db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
    _queue_at(_disordered(2 * TIME_BLOCK_EVENTS + 437, seed=13), dpo)
    rows = db.session.execute(
        select(AuditEvent.seq, AuditEvent.occurred_at).where(AuditEvent.seq > start)
    ).all()
    return {"dpo": dpo, "events": [(int(s), str(t)) for s, t in rows]}


def test_the_integrator_records_each_complete_block(log: dict[str, Any]) -> None:
    head = max(seq for seq, _at in log["events"])
    blocks = db.session.execute(select(AuditTimeBlock).order_by(AuditTimeBlock.block)).scalars()
    blocks = list(blocks)
    assert [b.block for b in blocks] == list(range(head // TIME_BLOCK_EVENTS))
    every = {
        int(seq): str(at)
        for seq, at in db.session.execute(select(AuditEvent.seq, AuditEvent.occurred_at))
    }
    for block in blocks:
        times = [
            every[s]
            for s in range(
                block.block * TIME_BLOCK_EVENTS + 1, (block.block + 1) * TIME_BLOCK_EVENTS + 1
            )
        ]
        assert (block.first_at, block.last_at) == (min(times), max(times))


def test_a_block_cannot_be_changed(log: dict[str, Any]) -> None:
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("UPDATE audit_time_blocks SET first_at = '2000-01-01'"))
    with pytest.raises(DBAPIError), db.session.begin_nested():
        db.session.execute(text("DELETE FROM audit_time_blocks"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(min_value=-8 * 86400, max_value=3000),
    length=st.integers(min_value=0, max_value=4000),
)
def test_the_window_holds_every_event_of_the_range(
    log: dict[str, Any], start: int, length: int
) -> None:
    since = format_time(BASE + timedelta(seconds=start))
    until = format_time(BASE + timedelta(seconds=start + length))
    inside = [seq for seq, at in log["events"] if since <= at < until]
    window = seq_window(since, until)
    if window is None:
        assert inside == []
    else:
        low, high = window
        assert all(low <= seq <= high for seq in inside)


def test_the_window_of_a_range_with_no_events_is_empty(log: dict[str, Any]) -> None:
    # (the log also holds the set-up's events, stamped now)
    later = datetime.now(UTC) + timedelta(days=30)
    assert seq_window(format_time(later), None) is None
    assert seq_window(format_time(later), format_time(later + timedelta(days=1))) is None
    earlier = (format_time(BASE - timedelta(days=90)), format_time(BASE - timedelta(days=30)))
    assert seq_window(*earlier) is None
    since = format_time(BASE + timedelta(hours=1))
    assert seq_window(since, format_time(BASE)) is None  # until before since


@pytest.mark.parametrize(
    ("start", "length"),
    [
        (100, 60),
        (990, 30),
        (-7 * 86400 - 1, 2),
        (1200, 900),
        (2400, 10_000),
        (-600, 700),
        (30 * 86400, 30 * 86400),  # no event: a block spans it (the set-up's are stamped now)
    ],
)
def test_a_time_range_search_finds_exactly_the_events_in_it(
    log: dict[str, Any], start: int, length: int
) -> None:
    since, until = BASE + timedelta(seconds=start), BASE + timedelta(seconds=start + length)
    low, high = format_time(since), format_time(until)
    expected = sorted((seq for seq, at in log["events"] if low <= at < high), reverse=True)
    where = EventFilter(since=since, until=until)
    found: list[int] = []
    before = None
    while True:  # newest first, page by page
        items, before = operations.search_newest_first(log["dpo"], where, before, limit=50)
        found += [item["seq"] for item in items]
        if before is None:
            break
    assert found == expected
    after, oldest_first = 0, []
    while True:
        items, cursor = operations.search(log["dpo"], where, after, limit=70)
        oldest_first += [item["seq"] for item in items]
        if cursor is None:
            break
        after = cursor
    assert oldest_first == expected[::-1]


# -- no read holds the integrator's lock --------------------------------------------------


def _readers(dpo: Actor, person: Actor) -> dict[str, Any]:
    return {
        "search": lambda: operations.search(dpo, EventFilter()),
        "newest first": lambda: operations.search_newest_first(
            dpo, EventFilter(since=BASE - timedelta(days=3650))
        ),
        "export": lambda: list(operations.export(dpo)[1]),
        "checkpoints": lambda: operations.list_checkpoints(dpo),
        "verify": lambda: operations.verify_log(dpo),
        "person's access log": lambda: access_log.person_access_log(person, person.id),
        "who has looked": lambda: access_log.looked_page(person, person.id),
    }


@pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="on SQLite every transaction holds the one write lock (BEGIN IMMEDIATE): a reader "
    "and the integrator are serialised by the database itself",
)
@pytest.mark.parametrize(
    "reader",
    [
        "search",
        "newest first",
        "export",
        "checkpoints",
        "verify",
        "person's access log",
        "who has looked",
    ],
)
def test_chaining_completes_while_a_readers_transaction_is_open(
    fresh_app: Any, reader: str
) -> None:
    with fresh_app.app_context():
        factory = Factory()
        dpo = factory.staff("dpo", scheme_wide=True)
        person = factory.person()
        worker = factory.staff("caseworker")
        # an event committed but not chained: the reader chains it first, and must see it
        connection = db.session.connection()
        connection.exec_driver_sql(
            QUEUE_EVENT["pyformat"],
            (queued_text(actor=worker.as_event(), action="auth.login", outcome="allowed"),),
        )
        db.session.commit()

        _readers(dpo, person)[reader]()  # the reader's transaction stays open from here
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        advisory = db.session.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = :pid"),
            {"pid": backend},
        ).scalar_one()
        assert advisory == 0
        seen = db.session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "auth.login")
        ).scalar_one()
        assert seen >= 1  # chained before the read, visible to it

        chained: list[int] = []

        def writer() -> None:
            with fresh_app.app_context():
                audit.record(actor=worker.as_event(), action="auth.login", outcome="allowed")
                db.session.commit()
                chained.append(audit.integrate_all())
                db.session.remove()

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(timeout=30)  # a safety net: the writer waits on no reader at all
        assert not thread.is_alive(), "chaining waited for the reader's open transaction"
        assert chained and chained[0] >= 1
        db.session.rollback()


# -- the person's page names its workers in a fixed number of queries ----------------------


def test_the_persons_log_names_many_workers_in_two_queries(
    make: Factory, connection: Connection
) -> None:
    person = make.person()
    workers = [make.staff("caseworker", name=f"Worker {n}") for n in range(6)]
    for worker in workers:
        audit.record(
            actor=worker.as_event(),
            action=Action.RECORD_VIEW,
            outcome=Outcome.ALLOWED,
            person_id=person.id,
        )
    gone = {"id": str(uuid.uuid4()), "kind": "staff", "agency_id": None, "roles": []}
    audit.record(actor=gone, action=Action.RECORD_VIEW, outcome=Outcome.DENIED, person_id=person.id)
    make.commit()
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        page = access_log.person_access_log(person, person.id)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    names = [item["actor"]["name"] for item in page.items]
    assert names[0] == "A former worker"  # a worker the service no longer knows
    assert set(names[1:7]) == {f"Worker {n}" for n in range(6)}
    assert sum(s.startswith("SELECT staff.") for s in statements) == 1
    assert sum(s.startswith("SELECT agencies.") for s in statements) == 1


def test_events_put_in_without_the_integrator_are_not_missed(log: dict[str, Any]) -> None:
    """A log filled in bulk past the last block (no block rows for it) is taken whole."""
    head = max(seq for seq, _at in log["events"])
    start = BASE + timedelta(days=10)
    rows = [
        {
            "seq": head + n,
            "occurred_at": format_time(start + timedelta(seconds=n)),
            "action": "record.view",
            "outcome": "allowed",
            "actor": {"kind": "system", "id": "system"},
            "sections": [],
            "detail": {},
            "prev_hash": "0" * 64,
            "entry_hash": f"{head + n:064x}",
        }
        for n in range(1, 2 * TIME_BLOCK_EVENTS + 2)
    ]
    db.session.execute(AuditEvent.__table__.insert(), rows)
    window = seq_window(format_time(start), format_time(start + timedelta(hours=1)))
    assert window is not None
    assert window[0] <= head + 1 and window[1] >= head + 2 * TIME_BLOCK_EVENTS + 1
