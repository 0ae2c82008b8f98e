"""The DPO's access-log API (API.md "Access log (DPO)"): who may see what, filters, paging,
export, checkpoints, public key and verify — and that the DPO's own looks are logged."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from passport import audit, db
from passport.audit import checkpoints
from passport.audit.models import AuditEvent

from . import independent_verifier

PROBLEM = "application/problem+json"
ENDPOINTS = [
    ("get", "/api/v1/audit/events"),
    ("get", "/api/v1/audit/export"),
    ("get", "/api/v1/audit/checkpoints"),
    ("get", "/api/v1/audit/public-key"),
    ("post", "/api/v1/audit/verify"),
]


@pytest.fixture(autouse=True)
def witness_file(ctx: Flask, tmp_path: Path) -> Any:
    """A checkpoint file of this test's own (the session app's collects rolled-back ones)."""
    original = ctx.config["PASSPORT_SETTINGS"]
    path = tmp_path / "checkpoints.jsonl"
    checkpoints.configure(dataclasses.replace(original, checkpoint_file=path))
    yield path
    checkpoints.configure(original)


@pytest.fixture
def scene(make: Any) -> dict[str, Any]:
    """Two agencies; a caseworker of each tries to read a person (refused: no consent)."""
    north, south = make.agency("North Housing"), make.agency("South Health", "health")
    people = [make.person(), make.person(name="Sam Oduya", preferred_name="Sam")]
    workers = {"north": make.staff(agency=north), "south": make.staff(agency=south)}
    return {
        "north": north,
        "south": south,
        "people": people,
        "workers": workers,
        "north_dpo": make.staff("dpo", agency=north),
        "scheme_dpo": make.staff("dpo", agency=south, scheme_wide=True),
    }


def read_attempts(api_as: Any, scene: dict[str, Any], times: int = 2) -> None:
    for worker in scene["workers"].values():
        api = api_as(worker)
        for person in scene["people"]:
            for _ in range(times):
                response = api.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
                assert response.status_code == 403


def assert_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == PROBLEM
    assert response.json["type"] == type_
    return dict(response.json)


def logged(action: str) -> list[AuditEvent]:
    audit.integrate_all()
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).scalars()
    )


# -- who may look ----------------------------------------------------------------------------


@pytest.mark.parametrize("roles", [("caseworker",), ("mdt_chair",), ("admin",)])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_only_a_dpo_may_use_the_log(make, api_as, roles, method, path):
    staff = make.staff(*roles)
    response = getattr(api_as(staff), method)(path)
    assert_problem(response, 403, "/problems/forbidden")
    refused = [e for e in logged(response_action(path)) if e.actor_id == staff.id]
    assert [(e.outcome, e.reason) for e in refused] == [("denied", "role")]


def response_action(path: str) -> str:
    return {
        "/api/v1/audit/export": "audit.export",
        "/api/v1/audit/verify": "audit.verify",
    }.get(path, "audit.query")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_person_and_an_anonymous_caller_are_refused(make, api_as, client, method, path):
    person = make.person()
    assert_problem(getattr(api_as(person), method)(path), 403, "/problems/forbidden")
    assert_problem(getattr(client, method)(path), 401, "/problems/unauthenticated")


# -- what a DPO sees --------------------------------------------------------------------------


def test_scheme_wide_dpo_sees_every_agency(api_as, scene):
    read_attempts(api_as, scene)
    response = api_as(scene["scheme_dpo"]).get("/api/v1/audit/events?limit=1000")
    assert response.status_code == 200, response.json
    agencies = {e["actor"]["agency_id"] for e in response.json["items"]}
    assert {scene["north"].id, scene["south"].id} <= agencies
    assert None in agencies  # system events too
    seqs = [e["seq"] for e in response.json["items"]]
    assert seqs == list(range(1, len(seqs) + 1))


def test_agency_dpo_sees_only_their_own_agencys_staff(api_as, scene):
    read_attempts(api_as, scene)
    api = api_as(scene["north_dpo"])
    response = api.get("/api/v1/audit/events?action=record.view&limit=1000")
    assert response.status_code == 200
    items = response.json["items"]
    assert len(items) == 4  # two people, twice, by the northern caseworker only
    assert {e["actor"]["id"] for e in items} == {scene["workers"]["north"].id}
    assert all(e["actor"]["agency_id"] == scene["north"].id for e in items)

    everything = api.get("/api/v1/audit/events?limit=1000").json["items"]
    assert {e["actor"]["agency_id"] for e in everything} == {scene["north"].id}

    export = api.get("/api/v1/audit/export")
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert lines and {e["actor"]["agency_id"] for e in lines} == {scene["north"].id}

    other = api.get(f"/api/v1/audit/events?agency_id={scene['south'].id}")
    assert_problem(other, 403, "/problems/forbidden")
    assert logged("audit.query")[-1].outcome == "denied"


def test_filters(api_as, scene):
    read_attempts(api_as, scene, times=1)
    api = api_as(scene["scheme_dpo"])
    person = scene["people"][1]
    worker = scene["workers"]["south"]

    by_person = api.get(f"/api/v1/audit/events?person_id={person.id}&action=record.view").json
    assert len(by_person["items"]) == 2
    assert {e["person_id"] for e in by_person["items"]} == {person.id}

    by_actor = api.get(f"/api/v1/audit/events?actor_id={worker.id}&outcome=denied").json
    assert by_actor["items"] and all(e["actor"]["id"] == worker.id for e in by_actor["items"])
    assert all(e["outcome"] == "denied" for e in by_actor["items"])

    by_agency = api.get(f"/api/v1/audit/events?agency_id={scene['north'].id}").json["items"]
    assert by_agency and {e["actor"]["agency_id"] for e in by_agency} == {scene["north"].id}

    everything = api.get("/api/v1/audit/events?limit=1000").json["items"]
    middle = everything[len(everything) // 2]["occurred_at"]
    since = api.get("/api/v1/audit/events", query_string={"since": middle, "limit": 1000})
    until = api.get("/api/v1/audit/events", query_string={"until": middle, "limit": 1000})
    assert all(e["occurred_at"] >= middle for e in since.json["items"])
    assert all(e["occurred_at"] < middle for e in until.json["items"])
    assert len(since.json["items"]) + len(until.json["items"]) >= len(everything)

    nothing = api.get("/api/v1/audit/events?action=person.erase").json
    assert nothing == {"items": [], "next_after_seq": None}


@pytest.mark.parametrize(
    "query",
    [
        "colour=blue",
        "limit=0",
        "limit=1001",
        "after_seq=-1",
        "action=record.peek",
        "outcome=maybe",
        "person_id=not-a-uuid",
        "since=yesterday",
    ],
)
def test_bad_queries_are_422(make, api_as, query):
    dpo = make.staff("dpo", scheme_wide=True)
    response = api_as(dpo).get(f"/api/v1/audit/events?{query}")
    body = assert_problem(response, 422, "/problems/validation-error")
    assert body["errors"]


def test_keyset_paging_walks_the_whole_log_once(api_as, scene):
    read_attempts(api_as, scene)
    api = api_as(scene["scheme_dpo"])
    seen: list[int] = []
    after = 0
    pages = 0
    while after is not None:
        page = api.get(f"/api/v1/audit/events?limit=3&after_seq={after}").json
        assert len(page["items"]) <= 3
        seen.extend(e["seq"] for e in page["items"])
        after = page["next_after_seq"]
        if after is not None:
            assert after == page["items"][-1]["seq"]
        pages += 1
    assert pages > 3
    assert seen == sorted(set(seen))
    # Everything up to the first query is there; each query also logged itself after that.
    first_query = next(e.seq for e in logged("audit.query"))
    assert seen[: first_query - 1] == list(range(1, first_query))


def test_dpo_queries_exports_and_verifies_are_logged_with_counts(api_as, scene):
    read_attempts(api_as, scene, times=1)
    api = api_as(scene["north_dpo"])
    person = scene["people"][0]
    page = api.get(f"/api/v1/audit/events?person_id={person.id}").json
    query = logged("audit.query")[-1]
    assert query.actor_id == scene["north_dpo"].id
    assert query.person_id == person.id
    assert query.detail["count"] == len(page["items"]) == 1
    assert query.detail["filters"] == ["person_id"]

    export = api.get("/api/v1/audit/export")
    exported = logged("audit.export")[-1]
    assert exported.detail["count"] == len(export.get_data(as_text=True).splitlines())
    assert export.headers["X-Event-Count"] == str(exported.detail["count"])

    verified = api.post("/api/v1/audit/verify", json={}).json
    event = logged("audit.verify")[-1]
    assert event.detail == {"checked": verified["checked"], "ok": True, "first_bad_seq": None}
    for row in logged("audit.query") + logged("audit.export") + logged("audit.verify"):
        assert set(row.detail) <= {
            "count",
            "filters",
            "after_seq",
            "through_seq",
            "scheme_wide",
        } | {
            "checked",
            "ok",
            "first_bad_seq",
        }


# -- export, checkpoints, key, verify ---------------------------------------------------------


def test_export_is_ndjson_and_verifies_independently(api_as, scene, witness_file):
    read_attempts(api_as, scene)
    api = api_as(scene["scheme_dpo"])
    checkpoints.sign_head()
    db.session.commit()
    export = api.get("/api/v1/audit/export")
    assert export.status_code == 200
    assert export.headers["Content-Type"] == "application/x-ndjson"
    text = export.get_data(as_text=True)
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert set(events[0]) == {
        "seq",
        "occurred_at",
        "action",
        "outcome",
        "actor",
        "person_id",
        "sections",
        "purpose",
        "basis",
        "reason",
        "request_id",
        "detail",
        "prev_hash",
        "entry_hash",
    }

    key = api.get("/api/v1/audit/public-key").json
    raw = base64.b64decode(key["public_key"])
    assert key["algorithm"] == "Ed25519"
    assert key["key_id"] == hashlib.sha256(raw).hexdigest()[:16]
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")

    cps = api.get("/api/v1/audit/checkpoints").json
    assert cps["items"] and cps["next_after_seq"] is None
    witness = "".join(json.dumps(c) + "\n" for c in cps["items"])
    verdict = independent_verifier.verify(text, witness, raw)
    assert verdict.ok, verdict
    assert verdict.events == len(events)
    # The file outside the database says the same.
    assert independent_verifier.verify(text, witness_file.read_text(), raw).ok

    partial = api.get("/api/v1/audit/export?after_seq=2&limit=3").get_data(as_text=True)
    assert [json.loads(line)["seq"] for line in partial.splitlines()] == [3, 4, 5]


def test_checkpoint_paging(make, api_as):
    dpo = make.staff("dpo", scheme_wide=True)
    for _ in range(3):
        make.person()
        checkpoints.sign_head()
        db.session.commit()
    api = api_as(dpo)
    everything = api.get("/api/v1/audit/checkpoints").json["items"]
    assert len(everything) >= 3
    first = api.get("/api/v1/audit/checkpoints?limit=1").json
    assert len(first["items"]) == 1 and first["next_after_seq"] == first["items"][0]["seq"]
    rest = api.get(f"/api/v1/audit/checkpoints?after_seq={first['next_after_seq']}").json
    assert first["items"] + rest["items"] == everything


def test_verify_reports_an_intact_log(api_as, scene):
    read_attempts(api_as, scene)
    response = api_as(scene["north_dpo"]).post("/api/v1/audit/verify")
    assert response.status_code == 200
    body = response.json
    assert body["ok"] is True and body["first_bad_seq"] is None and body["problem"] is None
    head = db.session.get(AuditEvent, body["head"]["seq"])
    assert head.entry_hash == body["head"]["entry_hash"]
    assert body["checked"] == body["head"]["seq"]


def test_verify_refuses_unknown_fields(make, api_as):
    dpo = make.staff("dpo")
    response = api_as(dpo).post("/api/v1/audit/verify", json={"deep": True})
    assert_problem(response, 422, "/problems/validation-error")


def test_verify_reports_a_forged_checkpoint(api_as, scene, witness_file):
    read_attempts(api_as, scene, times=1)
    api = api_as(scene["scheme_dpo"])
    good = json.loads(witness_file.read_text().splitlines()[0])
    forged = {**good, "signature": base64.b64encode(b"\x01" * 64).decode()}
    with witness_file.open("a") as out:
        out.write(json.dumps(forged) + "\n")
    body = api.post("/api/v1/audit/verify").json
    assert body["ok"] is False
    assert body["first_bad_seq"] == good["seq"]
    assert "signature" in body["problem"]
    assert logged("audit.verify")[-1].detail["first_bad_seq"] == good["seq"]
