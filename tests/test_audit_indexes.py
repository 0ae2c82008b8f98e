"""The person's own access log walks that person's events only (issue 13): its query is
answered from the (person_id, seq) index, newest first, with no sort of the whole log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, text

from passport.audit.models import AuditEvent
from passport.consent.access_log import PERSON_FACING_ACTIONS

from .conftest import BACKEND


def _access_log_query() -> Any:
    return (
        select(AuditEvent.seq)
        .where(AuditEvent.person_id == "someone")
        .where(AuditEvent.action.in_([a.value for a in PERSON_FACING_ACTIONS]))
        .order_by(AuditEvent.seq.desc())
        .limit(21)
    )


def test_the_person_seq_index_exists(connection: Any) -> None:
    indexes = {
        ix["name"]: ix["column_names"] for ix in inspect(connection).get_indexes("audit_events")
    }
    assert indexes["ix_audit_events_person_id_seq"] == ["person_id", "seq"]


def test_the_access_log_reads_the_persons_events_by_the_index(connection: Any) -> None:
    compiled = _access_log_query().compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
    )
    if BACKEND == "sqlite":
        plan = " ".join(
            str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "ix_audit_events_person_id_seq" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives seq order
    else:
        # An empty test table would be scanned whole; ask what plan the index allows.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row[0]) for row in connection.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_audit_events_person_id_seq" in plan, plan
        assert "Sort" not in plan, plan
