"""The person's own access log walks that person's events only (issue 13): its query is
answered from the (person_id, seq) index, newest first, with no sort of the whole log."""

from __future__ import annotations

from typing import Any

import pytest
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


@pytest.mark.skipif(
    BACKEND != "sqlite", reason="PostgreSQL's plan on a test database follows its statistics"
)
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
    # PostgreSQL's plan for the few rows of a test database follows its statistics (the
    # person_id index and a sort, or a bitmap scan) and is no evidence either way: there the
    # test above checks the index exists, and the bench measures the plan on a real log.
