"""Representatives (issue 15; API.md v1.1 "Representatives and notifications"): appointed by
the person or (legal ones) recorded by a contributor and approved by a DPO; decided at the
one decision point with basis `representative`; logged on the person's behalf; visible and
stoppable. Every rule's refusal is tested: a removed representative is refused on the next
request, `view` cannot write, `help` cannot appoint or ask for erasure, a legal one cannot act
before a DPO approves (nor after a refusal), and nobody reaches a person they do not
represent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from passport import audit, db
from passport.audit.models import AuditEvent
from passport.consent import may_act_as_person
from passport.consent.access_log import looked_page
from passport.consent.circle import who_can_see
from passport.errors import Conflict, Forbidden, NotFound
from passport.identity.models import Staff
from passport.representatives import operations
from passport.representatives.models import Representation
from passport.vocabulary import Power, Section

from .factories import PASSWORD, SAMPLE_CONTENT, events_for, grant, representative

STATES = [
    "view",
    "help",
    "removed",
    "legal_pending",
    "legal_approved",
    "legal_refused",
    "of_someone_else",
]
# The reason a representative who may not act for the person is refused with.
REFUSAL = {
    "removed": "not-represented",
    "legal_pending": "representative-not-approved",
    "legal_refused": "representative-not-approved",
    "of_someone_else": "not-represented",
}
ACTIVE = {"view", "help", "legal_approved"}
HELPING = {"help", "legal_approved"}  # the legal one is recorded with help access


@dataclass
class World:
    person: Any
    other: Any
    worker: Any
    dpo: Any
    agency: Any


@pytest.fixture
def world(make: Any) -> World:
    agency = make.agency("Northside Housing", "housing")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    person = make.person(name="Stuart Brennan", preferred_name="Stuart", registered_by=worker)
    other = make.person(name="Jessica Hartley", preferred_name="Jess", registered_by=worker)
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
        make.entry(other, other, section, content)
    dpo = make.staff("dpo", agency=agency, name="Dee Patel")
    return World(person, other, worker, dpo, agency)


def _representative_in(world: World, state: str) -> tuple[Any, Any]:
    """A representative standing in `state` towards world.person."""
    if state in ("view", "help"):
        return representative(world.person, access=state)
    if state == "removed":
        actor, row = representative(world.person, access="help")
        operations.remove(world.person, world.person.id, row.id)
        db.session.commit()
        return actor, row
    if state.startswith("legal_"):
        actor, row = representative(
            world.person, recorded_by=world.worker, legal_basis="lpa", access="help"
        )
        if state != "legal_pending":
            outcome = "approved" if state == "legal_approved" else "refused"
            operations.review(world.dpo, row.id, outcome, "Saw the registered LPA.")
            db.session.commit()
        return actor, row
    assert state == "of_someone_else"
    return representative(world.other, access="help")


def _grant_to_confirm(world: World) -> Any:
    return grant(
        world.person,
        "agency",
        world.agency.id,
        ["risk"],
        recorded_by=world.worker,
    )


# -- the matrix: every standing × every act ----------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_reading_the_passport(world: World, api_as: Any, state: str) -> None:
    actor, row = _representative_in(world, state)
    response = api_as(actor).get(f"/api/v1/people/{world.person.id}/passport")
    events = events_for(response, "record.view")
    assert events and all(e.actor["kind"] == "representative" for e in events)
    assert all(e.detail["on_behalf_of"] == world.person.id for e in events)
    if state in ACTIVE:
        assert response.status_code == 200, response.json
        assert set(response.json["sections"]) == {s.value for s in Section}
        assert response.json["withheld"] == []
        assert [e.basis for e in events] == [{"kind": "representative", "id": row.id}]
        assert "Methadone" in response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        assert response.json["type"] == "/problems/consent-required"
        assert "Methadone" not in response.get_data(as_text=True)
        assert {e.reason for e in events} == {REFUSAL[state]}
        assert all(e.outcome == "denied" and e.basis is None for e in events)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("section", [s for s in Section if s is not Section.PROFILE])
def test_writing(world: World, api_as: Any, state: str, section: Section) -> None:
    actor, row = _representative_in(world, state)
    response = api_as(actor).post(
        f"/api/v1/people/{world.person.id}/sections/{section.value}/entries",
        json={"content": SAMPLE_CONTENT[section]},
    )
    [event] = events_for(response, "record.write")
    assert event.detail["on_behalf_of"] == world.person.id
    if state in HELPING and section in (Section.STORY, Section.PREFERENCES):
        assert response.status_code == 201, response.json
        assert event.basis == {"kind": "representative", "id": row.id}
        assert response.json["author"]["name"] == "Ann Hartley"
    else:
        assert response.status_code == 403
        expected = REFUSAL.get(state, "representative-power")
        assert (event.outcome, event.reason) == ("denied", expected)


@pytest.mark.parametrize("state", STATES)
def test_managing_sharing(world: World, api_as: Any, state: str) -> None:
    """`help` records, confirms, lists and stops sharing through the person's own consent
    code; nobody else acting for the person does."""
    actor, row = _representative_in(world, state)
    client = api_as(actor)
    base = f"/api/v1/people/{world.person.id}/consents"
    assisted = _grant_to_confirm(world)
    expires = (db.utcnow().date() + timedelta(days=90)).isoformat()
    body = {
        "grantee": {"type": "agency", "id": world.agency.id},
        "sections": ["medication"],
        "purpose": "direct_support",
        "expires_on": expires,
        "obtained": {"method": "self"},
    }
    made = client.post(base, json=body)
    listed = client.get(base)
    confirmed = client.post(f"{base}/{assisted.id}/confirm", json={})
    if state in HELPING:
        assert made.status_code == 201, made.json
        assert made.json["recorded_by"] == {"kind": "representative", "id": actor.id}
        assert made.json["confirmed"] is True
        [event] = events_for(made, "consent.grant")
        assert event.basis == {"kind": "representative", "id": row.id}
        assert event.detail["on_behalf_of"] == world.person.id
        assert listed.status_code == 200
        assert confirmed.status_code == 200, confirmed.json
        assert confirmed.json["confirmed"] is True
        [event] = events_for(confirmed, "consent.confirm")
        assert event.basis == {"kind": "representative", "id": row.id}
        stopped = client.post(f"{base}/{made.json['id']}/revoke", json={})
        assert stopped.status_code == 200 and stopped.json["status"] == "revoked"
    else:
        assert made.status_code == 403
        assert listed.status_code == 403
        assert confirmed.status_code == 403
        [event] = events_for(confirmed, "consent.confirm")
        assert event.reason == REFUSAL.get(state, "representative-power")
        revoke = client.post(f"{base}/{assisted.id}/revoke", json={})
        assert revoke.status_code == 403


@pytest.mark.parametrize("state", STATES)
def test_appointing_and_erasure_are_the_persons_alone(
    world: World, api_as: Any, state: str
) -> None:
    actor, row = _representative_in(world, state)
    client = api_as(actor)
    response = client.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Someone Else", "username": "someone-else", "access": "help"},
    )
    assert response.status_code == 403
    [event] = events_for(response, "representative.add")
    assert event.outcome == "denied"
    assert event.reason == REFUSAL.get(state, "representative-power")
    assert (
        client.delete(f"/api/v1/people/{world.person.id}/representatives/{row.id}").status_code
        == 403
    )
    # The predicate the erasure request (and anyone else) asks: never a representative.
    assert may_act_as_person(actor, world.person.id, Power.ERASE) is False
    assert may_act_as_person(actor, world.person.id, Power.APPOINT) is False
    assert may_act_as_person(actor, world.person.id, Power.READ) is (state in ACTIVE)
    assert may_act_as_person(actor, world.person.id, Power.SHARE) is (state in HELPING)
    assert may_act_as_person(actor, world.person.id, Power.WRITE) is (state in HELPING)


def test_the_person_holds_every_power_and_nobody_else_does(world: World) -> None:
    for power in Power:
        assert may_act_as_person(world.person, world.person.id, power)
        assert not may_act_as_person(world.other, world.person.id, power)
        assert not may_act_as_person(world.worker, world.person.id, power)
        assert not may_act_as_person(world.dpo, world.person.id, power)


# -- appointing, signing in, stopping ----------------------------------------------------------


def test_the_person_appoints_a_representative_who_sets_up_and_signs_in(
    world: World, api_as: Any, client: Any
) -> None:
    person = api_as(world.person)
    response = person.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Ann Brennan", "username": "Ann.Brennan", "access": "help"},
    )
    assert response.status_code == 201, response.json
    out = response.json
    assert set(out) >= {"id", "name", "access", "setup_code", "expires_at"}
    assert (out["name"], out["access"], out["status"]) == ("Ann Brennan", "help", "active")
    [event] = events_for(response, "representative.add")
    assert event.basis == {"kind": "self", "id": world.person.id}
    assert "Ann" not in str(event.detail)

    # She chooses her own passphrase with the code (the username without regard to case).
    wrong = client.post(
        "/api/v1/account/setup",
        json={"username": "ann.brennan", "setup_code": "AAAA-AAAA-AAAA", "password": PASSWORD},
    )
    assert wrong.status_code == 400
    done = client.post(
        "/api/v1/account/setup",
        json={"username": "ann.brennan", "setup_code": out["setup_code"], "password": PASSWORD},
    )
    assert done.status_code == 200, done.json
    assert done.json["kind"] == "representative"
    again = client.post(
        "/api/v1/account/setup",
        json={"username": "ann.brennan", "setup_code": out["setup_code"], "password": PASSWORD},
    )
    assert again.status_code == 400  # single use

    from passport.identity.accounts import authenticate

    actor = authenticate("ANN.BRENNAN", PASSWORD)
    assert actor is not None and actor.is_representative
    me = api_as(actor).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["kind"] == "representative"
    assert me.json["represents"] == [
        {"person_id": world.person.id, "preferred_name": "Stuart", "access": "help"}
    ]
    listed = person.get(f"/api/v1/people/{world.person.id}/representatives")
    assert [r["id"] for r in listed.json["items"]] == [out["id"]]


def test_a_removed_representative_is_refused_on_the_very_next_request(
    world: World, api_as: Any
) -> None:
    actor, row = representative(world.person, access="help")
    rep = api_as(actor)  # a token made before the removal
    path = f"/api/v1/people/{world.person.id}/passport"
    assert rep.get(path).status_code == 200
    assert (
        api_as(world.person)
        .delete(f"/api/v1/people/{world.person.id}/representatives/{row.id}")
        .status_code
        == 204
    )
    refused = rep.get(path)
    assert refused.status_code == 403
    assert {e.reason for e in events_for(refused, "record.view")} == {"not-represented"}
    me = rep.get("/api/v1/me")
    assert me.json["represents"] == []
    assert (
        api_as(world.person)
        .delete(f"/api/v1/people/{world.person.id}/representatives/{row.id}")
        .status_code
        == 409
    )


def test_a_representative_of_jess_cannot_reach_another_person(world: World, api_as: Any) -> None:
    actor, _ = representative(world.other, access="help")
    rep = api_as(actor)
    assert rep.get(f"/api/v1/people/{world.other.id}/passport").status_code == 200
    base = f"/api/v1/people/{world.person.id}"
    for response in (
        rep.get(f"{base}/passport"),
        rep.get(f"{base}/history"),
        rep.get(f"{base}/brief"),
        rep.get(f"{base}/consents"),
        rep.get(f"{base}/who-can-see"),
        rep.get(f"{base}/representatives"),
        rep.post(f"{base}/sections/story/entries", json={"content": {"text": "Not mine"}}),
    ):
        assert response.status_code == 403, response.json
        assert "Methadone" not in response.get_data(as_text=True)
    # Nor is anyone's caseload or the DPO's work theirs.
    assert rep.get("/api/v1/people").status_code == 403
    assert rep.get("/api/v1/audit/representatives").status_code == 403


def test_usernames_are_one_space_without_regard_to_case(world: World, api_as: Any) -> None:
    person = api_as(world.person)
    staff = db.session.get(Staff, world.worker.id)
    taken = person.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Amara", "username": staff.username.upper(), "access": "view"},
    )
    assert taken.status_code == 409
    made = person.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Ann", "username": "Ann", "access": "view"},
    )
    assert made.status_code == 201
    from passport.identity.accounts import add_staff
    from passport.identity.actor import SYSTEM

    with pytest.raises(Conflict):
        add_staff(
            SYSTEM,
            username="ANN",
            password=PASSWORD,
            agency_id=world.agency.id,
            roles=["caseworker"],
        )
    twice = person.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Ann", "username": "ann", "access": "help"},
    )
    assert twice.status_code == 409  # already acts for him
    bad = person.post(
        f"/api/v1/people/{world.person.id}/representatives",
        json={"name": "Ann", "username": "ann2", "access": "everything"},
    )
    assert bad.status_code == 422


def test_one_account_represents_several_people_and_switches_between_them(
    world: World, api_as: Any
) -> None:
    actor, _ = representative(world.person, access="view", username="ann")
    again = api_as(world.other).post(
        f"/api/v1/people/{world.other.id}/representatives",
        json={"name": "Ann", "username": "ANN", "access": "help"},
    )
    assert again.status_code == 201
    assert again.json["setup_code"] is None  # she already has her passphrase
    me = api_as(actor).get("/api/v1/me").json
    assert sorted((r["preferred_name"], r["access"]) for r in me["represents"]) == [
        ("Jess", "help"),
        ("Stuart", "view"),
    ]


# -- legal representatives and the DPO ---------------------------------------------------------


def test_a_legal_representative_waits_for_a_dpo(world: World, api_as: Any, make: Any) -> None:
    worker = api_as(world.worker)
    body = {
        "name": "Morag Reid",
        "username": "morag",
        "legal_basis": "deputy",
        "evidence": "Court of Protection order 1234, seen today",
    }
    # The person, a caseworker who is not a contributor, and a DPO cannot record one.
    assert (
        api_as(world.person)
        .post(f"/api/v1/people/{world.person.id}/representatives", json=body)
        .status_code
        == 403
    )
    stranger = make.staff("caseworker")
    assert (
        api_as(stranger)
        .post(f"/api/v1/people/{world.person.id}/representatives", json=body)
        .status_code
        == 403
    )
    missing = worker.post(
        f"/api/v1/people/{world.person.id}/representatives", json={**body, "evidence": " "}
    )
    assert missing.status_code == 422
    made = worker.post(f"/api/v1/people/{world.person.id}/representatives", json=body)
    assert made.status_code == 201, made.json
    assert (made.json["status"], made.json["legal_basis"]) == ("pending", "deputy")
    # The evidence is sealed: not in the row, not in the log.
    row = db.session.get(Representation, made.json["id"])
    assert b"Court of Protection" not in (row.evidence or b"")
    assert "Court" not in str([e.detail for e in events_for(made)])

    queue = api_as(world.dpo).get("/api/v1/audit/representatives")
    assert [i["id"] for i in queue.json["items"]] == [row.id]
    assert api_as(world.worker).get("/api/v1/audit/representatives").status_code == 403
    review = f"/api/v1/audit/representatives/{row.id}/review"
    assert worker.post(review, json={"outcome": "approved", "notes": "ok"}).status_code == 403
    bad = api_as(world.dpo).post(review, json={"outcome": "maybe", "notes": "ok"})
    assert bad.status_code == 422
    done = api_as(world.dpo).post(review, json={"outcome": "approved", "notes": "Order seen."})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "active"
    twice = api_as(world.dpo).post(review, json={"outcome": "refused", "notes": "No."})
    assert twice.status_code == 409
    assert api_as(world.dpo).get("/api/v1/audit/representatives").json["items"] == []


def test_nobody_reviews_a_representative_they_recorded(world: World) -> None:
    # Separation of duties keeps a DPO from recording one; an old row says they did.
    row = Representation(
        id=db.new_id(),
        person_id=world.person.id,
        account_id=representative(world.person, access="view")[1].account_id,
        access="help",
        legal_basis="appointee",
        recorded_by_kind="staff",
        recorded_by_id=world.dpo.id,
        created_at=db.utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    with pytest.raises(Forbidden):
        operations.review(world.dpo, row.id, "approved", "Mine.")
    audit.integrate_all()
    reviews = select(AuditEvent).where(AuditEvent.action == "representative.review")
    assert [e.reason for e in db.session.execute(reviews).scalars()] == ["own-recording"]
    assert db.session.get(Representation, row.id).review is None


def test_an_agency_dpo_reviews_only_their_agencys_workers_recordings(
    world: World, make: Any
) -> None:
    _, row = representative(world.person, recorded_by=world.worker, legal_basis="lpa")
    elsewhere = make.staff("dpo")
    assert operations.legal_queue(elsewhere) == []

    with pytest.raises(NotFound):
        operations.review(elsewhere, row.id, "approved", "Not mine to see.")
    scheme = make.staff("dpo", scheme_wide=True)
    assert [r.id for r in operations.legal_queue(scheme)] == [row.id]


# -- visible, stoppable, told ------------------------------------------------------------------


def test_representatives_are_in_who_can_see_and_stopped_in_one_step(
    world: World, api_as: Any
) -> None:
    actor, row = representative(world.person, access="help")
    _, pending = representative(world.person, recorded_by=world.worker, legal_basis="appointee")
    items = api_as(world.person).get(f"/api/v1/people/{world.person.id}/who-can-see").json
    reps = {i["id"]: i for i in items["items"] if i["kind"] == "representative"}
    assert reps[row.id]["status"] == "active" and reps[row.id]["access"] == "help"
    assert reps[row.id]["sections"] == [s.value for s in Section]
    assert reps[pending.id]["status"] == "pending"
    assert reps[pending.id]["legal_basis"] == "appointee"
    # Their representative sees it too (who acts for the person is part of who can see).
    assert api_as(actor).get(f"/api/v1/people/{world.person.id}/who-can-see").status_code == 200
    api_as(world.person).delete(f"/api/v1/people/{world.person.id}/representatives/{row.id}")
    after = {i.id: i for i in who_can_see(world.person, world.person.id)}
    assert after[row.id].status == "removed" and not after[row.id].live


def test_the_person_sees_what_a_representative_did_in_who_has_looked(
    world: World, api_as: Any
) -> None:
    actor, _ = representative(world.person, access="help")
    api_as(actor).get(f"/api/v1/people/{world.person.id}/passport")
    page = looked_page(world.person, world.person.id)
    [look] = [x for x in page.others if x.action == "record.view"]
    assert look.actor == {"name": "Ann Hartley", "agency": None, "acting": "help"}
    assert set(look.seen) == {s.value for s in Section}
    log = api_as(world.person).get(f"/api/v1/people/{world.person.id}/access-log").json
    assert any(i["actor"]["name"] == "Ann Hartley" for i in log["items"])


# -- the database keeps the facts --------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE representations SET access = 'help' WHERE id = :id",
        "DELETE FROM representations WHERE id = :id",
        "UPDATE representation_endings SET ended_by_id = 'x' WHERE representation_id = :id",
        "DELETE FROM representation_endings WHERE representation_id = :id",
        "UPDATE representation_reviews SET outcome = 'approved' WHERE representation_id = :id",
        "DELETE FROM representation_reviews WHERE representation_id = :id",
    ],
)
def test_appointments_their_endings_and_reviews_cannot_be_changed(
    world: World, statement: str
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _, row = representative(world.person, recorded_by=world.worker, legal_basis="lpa")
    operations.review(world.dpo, row.id, "refused", "No order was seen.")
    operations.remove(world.person, world.person.id, row.id)
    db.session.flush()
    with pytest.raises(DBAPIError) as raised, db.session.begin_nested():
        db.session.execute(text(statement), {"id": row.id})
    assert "append-only" in str(raised.value.orig)
    db.session.expire_all()
    kept = db.session.get(Representation, row.id)
    assert kept is not None and kept.access == "help"
    assert kept.review is not None and kept.review.outcome == "refused"
    assert kept.ending is not None
