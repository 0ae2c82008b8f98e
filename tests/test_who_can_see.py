"""Who can see my information is complete and true: the list (`GET /who-can-see`, the page)
covers everyone the decision point lets in, and says why, until when, and what was stopped.

The completeness property: over varied scenarios (grants to agencies, named staff and MDTs,
every status, unconfirmed assisted grants young and old, contributors present and removed,
emergency access live and past), for every staff account, section and purpose, if
`consent.decide` allows the read, a live item of the list covers that actor, section and
purpose. A control shows the check fails when any one item is dropped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from passport import db
from passport.consent import circle, decide
from passport.consent.models import (
    Confirmation,
    Contributor,
    EmergencyAccess,
    EmergencyReview,
    Grant,
    Revocation,
)
from passport.crypto import data_keys
from passport.identity.accounts import actor_for_representative, actor_for_staff
from passport.identity.actor import Actor
from passport.identity.models import Staff
from passport.mdt.models import ForumMember
from passport.records.operations import add_contributor
from passport.representatives.models import (
    Representation,
    RepresentationEnding,
    RepresentationReview,
    RepresentativeAccount,
)
from passport.vocabulary import ALL_SECTIONS, Purpose, Role

from .factories import SAMPLE_CONTENT, Factory, events_for, forum, forum_member, grant
from .web_helpers import post_form, sign_in

SECTION_NAMES = [s.value for s in ALL_SECTIONS]


# -- the check --------------------------------------------------------------------------------


def _covers(
    item: circle.CircleItem, staff: Staff, forums: set[str], section: str, purpose: str
) -> bool:
    if section not in item.sections or item.purpose != purpose:
        return False
    if item.kind == "agency":
        return item.id == staff.agency_id and Role.CASEWORKER.value in staff.roles
    if item.kind == "mdt":
        return item.id in forums
    return item.kind in ("staff", "contributor", "emergency") and item.id == staff.id


def uncovered(person_id: str, items: list[circle.CircleItem]) -> list[tuple[str, str, str]]:
    """(staff id, section, purpose) that `decide` allows but no live item covers."""
    live = [i for i in items if i.live]
    missing = []
    for staff in db.session.execute(select(Staff)).unique().scalars():
        actor = actor_for_staff(staff)
        forums = set(
            db.session.execute(
                select(ForumMember.forum_id).where(ForumMember.staff_id == staff.id)
            ).scalars()
        )
        for section in ALL_SECTIONS:
            for purpose in Purpose:
                if not decide(actor, person_id, section, purpose).allowed:
                    continue
                if not any(_covers(i, staff, forums, section.value, purpose.value) for i in live):
                    missing.append((staff.id, section.value, purpose.value))
    # Representatives read as the person does (no purpose), through their appointment.
    for account in db.session.execute(select(RepresentativeAccount)).scalars():
        actor = actor_for_representative(account)
        for section in ALL_SECTIONS:
            if not decide(actor, person_id, section, None).allowed:
                continue
            if not any(
                i.kind == "representative"
                and section.value in i.sections
                and db.session.get(Representation, i.id).account_id == account.id
                for i in live
            ):
                missing.append((account.id, section.value, "as the person"))
    return missing


def overstated(person_id: str, items: list[circle.CircleItem]) -> list[circle.CircleItem]:
    """Live items naming someone `decide` does not in fact let in (the list must be true)."""
    wrong = []
    for item in (i for i in items if i.live):
        if item.kind == "representative":
            row = db.session.get(Representation, item.id)
            actor = actor_for_representative(row.account)
            if not all(
                decide(actor, person_id, s, None).allowed
                for s in ALL_SECTIONS
                if s.value in item.sections
            ):
                wrong.append(item)
            continue
        if item.kind == "agency":
            readers = [
                s
                for s in db.session.execute(select(Staff)).unique().scalars()
                if s.agency_id == item.id and Role.CASEWORKER.value in s.roles
            ]
        elif item.kind == "mdt":
            members = select(ForumMember.staff_id).where(ForumMember.forum_id == item.id)
            readers = list(
                db.session.execute(select(Staff).where(Staff.id.in_(members))).unique().scalars()
            )
        else:
            found = db.session.get(Staff, item.id)
            readers = [found] if found else []
        assert item.purpose
        purpose = Purpose(item.purpose)
        if not readers or not all(
            decide(actor_for_staff(r), person_id, s, purpose).allowed
            for r in readers
            for s in ALL_SECTIONS
            if s.value in item.sections
        ):
            wrong.append(item)
    return wrong


# -- the cast -----------------------------------------------------------------------------------


@pytest.fixture
def cast(make: Factory) -> dict[str, Any]:
    a = make.agency("Hope Housing")
    b = make.agency("Riverside Mental Health", "mental_health")
    staff = {
        "a1": make.staff("caseworker", agency=a, name="Tom Price"),
        "a2": make.staff("caseworker", agency=a, name="Amara Okafor"),
        "b1": make.staff("caseworker", agency=b, name="Priya Shah"),
        "c1": make.staff("mdt_chair", agency=b, name="Sam Jones"),
        "dpo": make.staff("dpo", agency=b, name="Dee Pryce"),
    }
    mdt = forum("Riverside MDT", [a, b])
    forum_member(mdt, staff["a2"])
    forum_member(mdt, staff["c1"], "chair")
    person = make.person()
    representatives = {}
    for key in ("r1", "r2"):
        account = RepresentativeAccount(id=db.new_id(), username=f"rep-{key}", name=key)
        db.session.add(account)
        representatives[key] = account
    db.session.flush()
    return {
        "agencies": {"A": a, "B": b},
        "staff": staff,
        "mdt": mdt,
        "person": person,
        "representatives": representatives,
    }


GRANTEES = ["agency:A", "agency:B", "staff:a1", "staff:b1", "staff:c1", "mdt"]
GRANT_STATES = [
    "active",
    "pending",
    "expired",
    "revoked",
    "unconfirmed",  # assisted, recorded today
    "unconfirmed_old",  # assisted, started 31 days ago: over
    "unconfirmed_30",  # assisted, started 30 days ago: its last day
    "confirmed_old",  # assisted, started 200 days ago, confirmed
]
sections_st = st.lists(st.sampled_from(SECTION_NAMES), min_size=1, max_size=6, unique=True)
grant_st = st.tuples(
    st.just("grant"),
    st.sampled_from(GRANTEES),
    sections_st,
    st.sampled_from(["direct_support", "referral"]),
    st.sampled_from(GRANT_STATES),
)
contributor_st = st.tuples(
    st.just("contributor"), st.sampled_from(["a1", "a2", "b1"]), sections_st, st.booleans()
)
emergency_st = st.tuples(
    st.just("emergency"),
    st.sampled_from(["a1", "b1"]),
    st.booleans(),
    st.sampled_from([None, "justified", "not_justified"]),
)
representative_st = st.tuples(
    st.just("representative"),
    st.sampled_from(["r1", "r2"]),
    st.sampled_from(["view", "help"]),
    st.sampled_from(["active", "removed", "legal_pending", "legal_approved", "legal_refused"]),
)
scenario_st = st.lists(
    st.one_of(grant_st, contributor_st, emergency_st, representative_st), max_size=7
)


def _apply(cast: dict[str, Any], fact: tuple[Any, ...]) -> None:
    """Write one fact as rows, as it would stand after time passed (grants, revocations and
    accesses are append-only and cannot be backdated through the domain)."""
    person: Actor = cast["person"]
    staff = cast["staff"]
    now = db.utcnow()
    today = now.date()
    if fact[0] == "grant":
        _, grantee, sections, purpose, state = fact
        if grantee == "mdt":
            kind, grantee_id, purpose = "mdt", cast["mdt"].id, "mdt"
        else:
            kind, key = grantee.split(":")
            grantee_id = cast["agencies"][key].id if kind == "agency" else staff[key].id
        assisted = state.startswith(("unconfirmed", "confirmed"))
        ago = {"expired": 60, "unconfirmed_old": 31, "unconfirmed_30": 30, "confirmed_old": 200}
        starts = today - timedelta(days=ago.get(state, 0))
        if state == "pending":
            starts = today + timedelta(days=5)
        expires = today - timedelta(days=1) if state == "expired" else today + timedelta(days=80)
        row = Grant(
            id=db.new_id(),
            person_id=person.id,
            grantee_type=kind,
            grantee_id=grantee_id,
            sections=sorted(sections),
            purpose=purpose,
            starts_on=starts,
            expires_on=expires,
            obtained_method="verbal" if assisted else "self",
            recorded_by_kind="staff" if assisted else "person",
            recorded_by_id=staff["a1"].id if assisted else person.id,
            wording_sha256="0" * 64,
            receipt={},
            created_at=now - timedelta(days=ago.get(state, 0)),
        )
        db.session.add(row)
        if state == "revoked":
            db.session.add(
                Revocation(
                    grant_id=row.id,
                    revoked_by_kind="person",
                    revoked_by_id=person.id,
                    receipt={},
                )
            )
        if state == "confirmed_old":
            db.session.add(Confirmation(grant_id=row.id, confirmed_via="signed_in"))
    elif fact[0] == "representative":
        _, key, access, state = fact
        row = Representation(
            id=db.new_id(),
            person_id=person.id,
            account_id=cast["representatives"][key].id,
            access=access,
            legal_basis="lpa" if state.startswith("legal") else None,
            recorded_by_kind="staff" if state.startswith("legal") else "person",
            recorded_by_id=staff["a1"].id if state.startswith("legal") else person.id,
            created_at=now,
        )
        db.session.add(row)
        if state == "removed":
            db.session.add(
                RepresentationEnding(
                    representation_id=row.id, ended_by_kind="person", ended_by_id=person.id
                )
            )
        if state in ("legal_approved", "legal_refused"):
            db.session.add(
                RepresentationReview(
                    representation_id=row.id,
                    reviewer_id=staff["dpo"].id,
                    outcome=state.removeprefix("legal_"),
                    notes=data_keys.seal_json(
                        person.id, "representation_reviews", "notes", row.id, "ok"
                    ),
                )
            )
    elif fact[0] == "contributor":
        _, key, sections, removed = fact
        db.session.add(
            Contributor(
                person_id=person.id,
                staff_id=staff[key].id,
                sections=sorted(sections),
                added_by_kind="person",
                added_by_id=person.id,
                removed_at=now if removed else None,
            )
        )
    else:
        _, key, live, finding = fact
        access = EmergencyAccess(
            id=db.new_id(),
            person_id=person.id,
            staff_id=staff[key].id,
            agency_id=staff[key].agency_id,
            opened_at=now - timedelta(hours=5),
            expires_at=now + timedelta(hours=2) if live else now - timedelta(hours=1),
        )
        access.reason = data_keys.seal_json(
            person.id, "emergency_accesses", "reason", access.id, "found unconscious"
        )
        db.session.add(access)
        if finding:
            review = EmergencyReview(
                id=db.new_id(),
                emergency_access_id=access.id,
                reviewer_id=staff["dpo"].id,
                outcome=finding,
            )
            review.notes = data_keys.seal_json(
                person.id, "emergency_reviews", "notes", review.id, "checked"
            )
            db.session.add(review)
    db.session.flush()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenario_st)
def test_nobody_who_can_read_is_missing_and_nobody_listed_is_not_in(
    cast: dict[str, Any], scenario: list[tuple[Any, ...]]
) -> None:
    person = cast["person"]
    savepoint = db.session.begin_nested()
    try:
        for fact in scenario:
            _apply(cast, fact)
        db.session.expire_all()
        items = circle.who_can_see(person, person.id)
        assert uncovered(person.id, items) == []
        assert overstated(person.id, items) == []
        # Every fact is listed, live or not: nothing the person once allowed disappears.
        grants = sum(1 for f in scenario if f[0] == "grant")
        assert sum(1 for i in items if i.kind in ("agency", "staff", "mdt")) == grants
        appointed = sum(1 for f in scenario if f[0] == "representative")
        assert sum(1 for i in items if i.kind == "representative") == appointed
        emergencies = sum(1 for f in scenario if f[0] == "emergency")
        assert sum(1 for i in items if i.kind == "emergency") == emergencies
        for item in items:
            if item.kind == "emergency":
                found = [f for f in scenario if f[0] == "emergency"]
                assert item.finding in {f[3] or "not_checked" for f in found}
    finally:
        savepoint.rollback()


def test_two_live_delegations_of_one_worker_are_both_listed(cast: dict[str, Any]) -> None:
    """Found by the property test: two live contributor rows for one worker (a race the
    domain does not otherwise allow) both let them in, so both sets of sections are listed."""
    person = cast["person"]
    _apply(cast, ("contributor", "a1", ["profile"], False))
    _apply(cast, ("contributor", "a1", ["story"], False))
    items = circle.who_can_see(person, person.id)
    assert uncovered(person.id, items) == []
    [item] = [i for i in items if i.kind == "contributor"]
    assert item.sections == ["profile", "story"]


def test_the_check_fails_when_any_item_is_dropped(cast: dict[str, Any]) -> None:
    """The control: each live item here is the only one covering its actor, so leaving any of
    them out must make the completeness check fail."""
    person = cast["person"]
    for fact in [
        ("grant", "agency:B", ["medication"], "direct_support", "active"),
        ("grant", "staff:a1", ["story"], "referral", "unconfirmed"),
        ("grant", "mdt", ["risk"], "mdt", "confirmed_old"),
        ("contributor", "a2", ["workers"], False),
        ("emergency", "b1", True, None),
        ("representative", "r1", "view", "active"),
    ]:
        _apply(cast, fact)
    items = circle.who_can_see(person, person.id)
    assert uncovered(person.id, items) == []
    live = [i for i in items if i.live]
    assert {i.kind for i in live} == {
        "agency",
        "staff",
        "mdt",
        "contributor",
        "emergency",
        "representative",
    }
    for dropped in live:
        rest = [i for i in items if i is not dropped]
        assert uncovered(person.id, rest), f"dropping {dropped.kind} went unnoticed"


# -- the API ------------------------------------------------------------------------------------


def test_who_can_see_lists_grants_contributors_and_emergency_looks(
    cast: dict[str, Any], api_as: Any, make: Factory
) -> None:
    person, staff = cast["person"], cast["staff"]
    add_contributor(person, person.id, staff["a1"].id, ["medication", "risk"])
    make.commit()
    for fact in [
        ("grant", "agency:B", ["medication"], "direct_support", "unconfirmed"),
        ("emergency", "b1", True, None),
        ("emergency", "b1", False, "not_justified"),
    ]:
        _apply(cast, fact)
    make.commit()
    response = api_as(person).get(f"/api/v1/people/{person.id}/who-can-see")
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    items = response.json["items"]
    [contributor] = [i for i in items if i["kind"] == "contributor"]
    assert contributor == {
        "kind": "contributor",
        "id": staff["a1"].id,
        "name": "Tom Price",
        "agency": {"id": cast["agencies"]["A"].id, "name": "Hope Housing"},
        "sections": ["medication", "risk"],
        "can_change": ["medication", "risk"],
        "purpose": "direct_support",
        "status": "active",
        "since": contributor["since"],
    }
    [agency] = [i for i in items if i["kind"] == "agency"]
    today = db.utcnow().date()
    assert agency["until"] == (today + timedelta(days=30)).isoformat()  # not 80: unconfirmed
    assert agency["confirmed"] is False and agency["recorded_by"]["name"] == "Tom Price"
    looks = sorted((i["status"], i["finding"]) for i in items if i["kind"] == "emergency")
    assert looks == [("active", "not_checked"), ("ended", "not_justified")]
    [event] = events_for(response, "consent.who_can_see")
    assert event.outcome == "allowed" and event.person_id == person.id


def test_only_the_person_sees_who_can_see(cast: dict[str, Any], api_as: Any, make: Factory) -> None:
    person = cast["person"]
    path = f"/api/v1/people/{person.id}/who-can-see"
    grant(person, "agency", cast["agencies"]["A"].id, ["story"])
    for actor in (cast["staff"]["a1"], cast["staff"]["dpo"], make.person(name="Ciaran Doyle")):
        refused = api_as(actor).get(path)
        assert refused.status_code == 403, refused.json
        assert refused.json["type"] == "/problems/forbidden"
        [event] = events_for(refused, "consent.who_can_see")
        assert (event.outcome, event.reason) == ("denied", "not-person")
    assert api_as(person).get(f"/api/v1/people/{db.new_id()}/who-can-see").status_code == 404


# -- the page -----------------------------------------------------------------------------------


def test_the_page_names_contributors_who_can_read(
    client: FlaskClient, cast: dict[str, Any], make: Factory
) -> None:
    """The finding: a person whose only reader is their worker was told nobody could see."""
    person, tom = cast["person"], cast["staff"]["a1"]
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    add_contributor(person, person.id, tom.id, ["risk", "medication"])
    make.commit()
    sign_in(client, person)
    html = client.get("/me/sharing").get_data(as_text=True)
    assert "Nobody else can see" not in html and "No service can see" not in html
    assert "Tom Price (Hope Housing) can write in your passport and see your risks and your" in html
    assert f"/me/sharing/workers/{tom.id}/stop" in html and "Stop them writing" in html


def test_the_page_lists_emergency_looks_with_the_finding(
    client: FlaskClient, cast: dict[str, Any], make: Factory
) -> None:
    person = cast["person"]
    _apply(cast, ("emergency", "b1", True, None))
    _apply(cast, ("emergency", "a1", False, "justified"))
    make.commit()
    sign_in(client, person)
    html = client.get("/me/sharing").get_data(as_text=True)
    assert "Priya Shah (Riverside Mental Health) opened your risks, your medication and" in html
    assert "in an emergency. They can see it until" in html
    assert "Tom Price (Hope Housing) looked at your risks" in html
    assert "The data protection officer checked this: it was needed." in html


def test_one_stop_per_grantee_stops_all_their_grants_and_twice_says_so(
    client: FlaskClient, cast: dict[str, Any], make: Factory
) -> None:
    person, hope = cast["person"], cast["agencies"]["A"]
    first = grant(person, "agency", hope.id, ["story"])
    second = grant(person, "agency", hope.id, ["medication"], purpose="referral")
    sign_in(client, person)
    html = client.get("/me/sharing").get_data(as_text=True)
    assert html.count(">Stop<span") == 1
    stop = f"/me/sharing/{first.id}/stop"
    page = client.get(stop).get_data(as_text=True)
    assert "your story" in page and "your medication" in page
    done = post_form(client, stop, {})
    assert done.status_code == 302
    db.session.expire_all()
    for row in (first, second):
        stored = db.session.get(Grant, row.id)
        assert stored is not None and stored.revocation is not None
    after = client.get("/me/sharing").get_data(as_text=True)
    assert "Hope Housing could see your story, to support you. You stopped this on" in after
    again = client.get(f"/me/sharing/{second.id}/stop")
    assert again.status_code == 302  # not a 409 page
    assert "You already stopped this" in client.get("/me/sharing").get_data(as_text=True)


def _worker_with_grants(cast: dict[str, Any], make: Factory, api_as: Any) -> tuple[str, str]:
    person, tom = cast["person"], cast["staff"]["a1"]
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    add_contributor(person, person.id, tom.id, ["medication", "risk"])
    make.commit()
    base = f"/api/v1/people/{person.id}/consents"
    expires = (db.utcnow().date() + timedelta(days=90)).isoformat()
    ids = []
    for agency in ("B", "A"):
        body = {
            "grantee": {"type": "agency", "id": cast["agencies"][agency].id},
            "sections": ["medication"],
            "purpose": "direct_support",
            "expires_on": expires,
            "obtained": {"method": "verbal"},
        }
        made = api_as(tom).post(base, body)
        assert made.status_code == 201, made.json
        ids.append(made.json["id"])
    confirmed = api_as(person).post(f"{base}/{ids[0]}/confirm", {})
    assert confirmed.status_code == 200
    return ids[0], ids[1]


def test_stopping_a_worker_asks_grant_by_grant_and_their_reads_stop(
    client: FlaskClient, cast: dict[str, Any], make: Factory, api_as: Any
) -> None:
    person, tom = cast["person"], cast["staff"]["a1"]
    confirmed, unconfirmed = _worker_with_grants(cast, make, api_as)
    reads = f"/api/v1/people/{person.id}/passport?purpose=direct_support"
    assert api_as(tom).get(reads).status_code == 200
    sign_in(client, person)
    start = f"/me/sharing/workers/{tom.id}/stop"
    assert "Stop Tom Price writing" in client.get(start).get_data(as_text=True)
    step = post_form(client, start, {})
    assert step.headers["Location"].endswith(f"{start}/{confirmed}")
    first = client.get(f"{start}/{confirmed}").get_data(as_text=True)
    assert 'value="yes" checked' in first  # confirmed: keep, unless they say otherwise
    missing = post_form(client, f"{start}/{confirmed}", {})
    assert "govuk-error-summary" in missing.get_data(as_text=True)
    step = post_form(client, f"{start}/{confirmed}", {"keep": "yes"})
    assert step.headers["Location"].endswith(f"{start}/{unconfirmed}")
    second = client.get(f"{start}/{unconfirmed}").get_data(as_text=True)
    assert 'value="no" checked' in second  # never confirmed: stop, unless they keep it
    done = post_form(client, f"{start}/{unconfirmed}", {"keep": "no"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/me/sharing")
    db.session.expire_all()
    kept, stopped = db.session.get(Grant, confirmed), db.session.get(Grant, unconfirmed)
    assert kept is not None and kept.revocation is None
    assert stopped is not None and stopped.revocation is not None
    live = db.session.execute(
        select(Contributor).where(Contributor.staff_id == tom.id, Contributor.removed_at.is_(None))
    ).first()
    assert live is None
    # Tom's reads stop on the next request (the kept grant is to another agency).
    assert api_as(tom).get(reads).status_code == 403
    html = client.get("/me/sharing").get_data(as_text=True)
    assert "Tom Price (Hope Housing) could write in your passport" in html
    again = client.get(start)
    assert again.status_code == 302
    assert "already cannot write" in client.get("/me/sharing").get_data(as_text=True)


def test_stopping_a_worker_who_recorded_nothing_is_one_step(
    client: FlaskClient, cast: dict[str, Any], make: Factory
) -> None:
    person, amara = cast["person"], cast["staff"]["a2"]
    add_contributor(person, person.id, amara.id, ["story"])
    make.commit()
    sign_in(client, person)
    start = f"/me/sharing/workers/{amara.id}/stop"
    assert "Yes, stop them writing" in client.get(start).get_data(as_text=True)
    done = post_form(client, start, {})
    assert done.status_code == 302
    assert "cannot write in your passport any more" in client.get("/me/sharing").get_data(
        as_text=True
    )


def test_stopping_pages_refuse_staff_and_unknown_workers(
    client: FlaskClient, cast: dict[str, Any], make: Factory
) -> None:
    person, tom = cast["person"], cast["staff"]["a1"]
    add_contributor(person, person.id, tom.id, ["story"])
    make.commit()
    sign_in(client, tom)
    assert client.get(f"/me/sharing/workers/{tom.id}/stop").status_code == 403
    assert client.get("/me/sharing").status_code == 403
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, person)
    assert client.get(f"/me/sharing/workers/{db.new_id()}/stop").status_code == 404
