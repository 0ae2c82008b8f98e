"""On PostgreSQL the verifier has the database splice each row's body (issue 13: verifying
10M events). That path must give exactly the answer of the row scanner it stands in for,
for any content: the same span when every row is sound, and otherwise hand the range back
(so the row scanner names the problem). Real rows in a real PostgreSQL table: a temporary
`audit_events`, which hides the real one for this connection only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from passport.audit import verify
from passport.audit.chain import GENESIS_HASH

from .conftest import BACKEND
from .test_audit_chain import json_values

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="the database splices on PostgreSQL"
)

COLUMNS = (
    "seq, occurred_at, action, outcome, actor, person_id, sections, purpose, basis, reason, "
    "request_id, detail, prev_hash, entry_hash"
)
# PostgreSQL text holds any character but NUL
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
maybe_text = st.none() | texts


def _storable(value: Any) -> bool:
    """PostgreSQL takes the value's text: no NUL, escaped or not, and no lone surrogate."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return "\\u0000" not in json.dumps(value)


stored_json = json_values.filter(_storable)


@pytest.fixture
def table(connection: Connection) -> Iterator[Connection]:
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE audit_events (LIKE public.audit_events) ON COMMIT DROP"
    )
    yield connection
    connection.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.audit_events")


def _scan_both(connection: Connection, job: verify._Job) -> tuple[Any, Any]:
    careful = verify._scan(
        verify._driver_batches(connection, verify._range_sql(job.low, job.high), 100), job, None
    )
    spliced = verify._scan_spliced(
        verify._driver_batches(connection, verify._spliced_sql(job), 100),
        job,
        verify._Counted(None),
    )
    return careful, spliced


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    strings=st.tuples(texts, texts, texts),
    optional=st.tuples(maybe_text, maybe_text, maybe_text, maybe_text),
    columns=st.tuples(stored_json, stored_json, stored_json | st.none(), stored_json),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
    forged=st.booleans(),
)
def test_the_spliced_body_is_the_row_scanners(
    table: Connection,
    strings: tuple[str, str, str],
    optional: tuple[str | None, ...],
    columns: tuple[Any, Any, Any, Any],
    ascii_only: bool,
    spaced: bool,
    forged: bool,
) -> None:
    table.exec_driver_sql("DELETE FROM pg_temp.audit_events")
    occurred_at, action, outcome = strings
    person_id, purpose, reason, request_id = optional
    actor, sections, basis, detail = columns
    separators = (", ", ": ") if spaced else (",", ":")

    def stored(value: Any) -> str | None:
        return json.dumps(value, ensure_ascii=ascii_only, separators=separators)

    prev = GENESIS_HASH
    for seq in (1, 2, 3):
        body = {
            "seq": seq,
            "occurred_at": occurred_at,
            "action": action,
            "outcome": outcome,
            "actor": actor,
            "person_id": person_id,
            "sections": sections,
            "purpose": purpose,
            "basis": basis,
            "reason": reason,
            "request_id": request_id,
            "detail": detail,
        }
        try:
            payload = rfc8785.dumps(body)
        except rfc8785.CanonicalizationError:
            payload = b"not canonical"
        if forged:
            # a forger who hashes the stored texts as they are, canonical or not
            payload = (
                "{"
                + ",".join(
                    f"{json.dumps(k)}:{stored(v) if k in ('actor', 'sections', 'basis', 'detail') else json.dumps(v, ensure_ascii=False)}"
                    for k, v in sorted(body.items())
                )
                + "}"
            ).encode()
        digest = hashlib.sha256(bytes.fromhex(prev) + payload).hexdigest()
        values = (
            seq,
            occurred_at,
            action,
            outcome,
            stored(actor),
            person_id,
            stored(sections),
            purpose,
            None if basis is None and spaced else stored(basis),
            reason,
            request_id,
            stored(detail),
            prev,
            digest,
        )
        table.exec_driver_sql(
            f"INSERT INTO pg_temp.audit_events ({COLUMNS}) VALUES ({', '.join(['%s'] * 14)})",
            values,
        )
        prev = digest
    job = verify._Job(None, None, {}, (), None, 1)
    careful, spliced = _scan_both(table, job)
    if spliced is not None:
        assert careful.problem is None
        assert spliced == careful
    # and when every row is sound and its JSON texts are stored in JCS form, as the
    # integrator stores them, the spliced path never gives up
    if careful.problem is None and all(_in_jcs_form(stored(v)) for v in columns):
        assert spliced == careful


def _in_jcs_form(text: str | None) -> bool:
    try:
        return text == rfc8785.dumps(json.loads(text or "null")).decode()
    except rfc8785.CanonicalizationError:
        return False


def test_a_tampered_or_odd_range_is_handed_back(table: Connection) -> None:
    """Each kind of row the spliced path cannot vouch for makes it give up."""
    good = json.dumps({"kind": "staff"}, separators=(",", ":"))
    prev = GENESIS_HASH
    rows = []
    for seq in range(1, 6):
        body = {
            "seq": seq,
            "occurred_at": "2026-12-02T10:00:00.000000Z",
            "action": "record.view",
            "outcome": "allowed",
            "actor": {"kind": "staff"},
            "person_id": None,
            "sections": [],
            "purpose": None,
            "basis": None,
            "reason": None,
            "request_id": None,
            "detail": {},
        }
        digest = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(body)).hexdigest()
        rows.append([seq, body["occurred_at"], "record.view", "allowed", good, None, "[]"])
        rows[-1] += [None, "null", None, None, "{}", prev, digest]
        prev = digest

    def load(changed: list[list[Any]]) -> Any:
        table.exec_driver_sql("DELETE FROM pg_temp.audit_events")
        for values in changed:
            table.exec_driver_sql(
                f"INSERT INTO pg_temp.audit_events ({COLUMNS}) VALUES ({', '.join(['%s'] * 14)})",
                tuple(values),
            )
        return _scan_both(table, verify._Job(None, None, {}, (), None, 0))

    careful, spliced = load(rows)
    assert careful.problem is None and spliced == careful
    changes = {
        "a gap": lambda r: r.pop(2),
        "a broken link": lambda r: r[3].__setitem__(12, "ab" * 32),
        "a changed field": lambda r: r[1].__setitem__(3, "denied"),
        "an uppercase hash": lambda r: r[0].__setitem__(12, "A" * 64),
    }
    for name, change in changes.items():
        changed = [list(r) for r in rows]
        change(changed)
        careful, spliced = load(changed)
        assert spliced is None, name
        assert careful.problem is not None, name
    # a JSON text stored in another form than JCS (its hash over the JCS form) is sound, but
    # only the row scanner, which canonicalises it, can say so
    changed = [list(r) for r in rows]
    changed[4][4] = '{"kind": "staff"}'
    careful, spliced = load(changed)
    assert spliced is None
    assert careful.problem is None
