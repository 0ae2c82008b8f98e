"""Data-protection rights (issue 16 part 1): the subject access pack, erasure with a decision,
retention. Every rule on its refusal path too."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select

from passport import audit, db
from passport.audit.models import AuditEvent
from passport.audit.verify import verify_database
from passport.consent.emergency import open_emergency, review
from passport.consent.grants import revoke_grant
from passport.identity.models import Person
from passport.records import views
from passport.records.operations import set_hidden
from passport.rights import operations as rights
from passport.rights.clock import one_month_after, years_after
from passport.vocabulary import BasisKind, Section

from .conftest import Api
from .factories import SAMPLE_CONTENT, Factory, events_for, grant

RECEIVED = (date.today() - timedelta(days=3)).isoformat()


@dataclass
class Scene:
    jess: Any
    other: Any
    worker: Any
    agency: Any
    dpo: Any  # scheme-wide
    agency_dpo: Any  # at the worker's agency
    elsewhere_dpo: Any  # at an agency that never looked at Jess
    caseworker_dpo: Any  # an oversight account of another kind: an admin
    entries: dict[str, Any]


@pytest.fixture
def scene(make: Factory) -> Scene:
    agency = make.agency("Eastgate Housing Trust", "housing")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    jess = make.person(registered_by=worker)
    entries = {s.value: make.entry(jess, jess, s, c) for s, c in SAMPLE_CONTENT.items()}
    other = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    make.entry(other, other, "story", {"text": "Ciaran's own words"})
    return Scene(
        jess=jess,
        other=other,
        worker=worker,
        agency=agency,
        dpo=make.staff("dpo", agency=make.agency(), scheme_wide=True, name="Dana Price"),
        agency_dpo=make.staff("dpo", agency=agency, name="Agency DPO"),
        elsewhere_dpo=make.staff("dpo", agency=make.agency(), name="Elsewhere DPO"),
        caseworker_dpo=make.staff("admin", agency=agency),
        entries=entries,
    )


def _sar(client: Api, person_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/people/{person_id}/subject-access",
        json={"reason": "Letter from Jess, handed in at the hub", "received_on": RECEIVED, **body},
    )


# -- subject access ---------------------------------------------------------------------------


def test_a_scheme_wide_dpo_makes_the_pack_and_it_holds_the_whole_record(
    scene: Scene, api_as: Any, make: Factory
) -> None:
    jess = scene.jess
    # Something of every kind: a revision, a hidden entry, a grant stopped, a refused look,
    # an emergency access reviewed.
    story = scene.entries["story"]
    make.entry(jess, jess, "story", {"text": "A second story entry, later hidden"})
    hidden = make.entry(jess, jess, "story", {"text": "Something only I see"})
    set_hidden(jess, jess.id, Section.STORY, hidden.id, True)
    shared = grant(jess, "agency", scene.agency.id, ["risk", "story"])
    worker = api_as(scene.worker)
    assert (
        worker.get(f"/api/v1/people/{jess.id}/passport?purpose=direct_support").status_code == 200
    )
    assert worker.get(f"/api/v1/people/{jess.id}/passport?purpose=referral").status_code == 403
    revoke_grant(jess, jess.id, shared.id, None)
    access = open_emergency(scene.worker, jess.id, "Collapsed at the hub, paramedics asking", 4)
    make.commit()
    review(scene.dpo, access.id, "justified", "Paramedics needed the medication list")
    make.commit()

    dpo = api_as(scene.dpo)
    made = _sar(dpo, jess.id)
    assert made.status_code == 201, made.json
    assert set(made.json) == {"id", "created_at", "received_on", "due_on"}
    assert made.json["due_on"] == one_month_after(date.fromisoformat(RECEIVED)).isoformat()
    sar_id = made.json["id"]
    [recorded] = events_for(made, "rights.subject_access_request")
    assert recorded.outcome == "allowed" and recorded.person_id == jess.id

    response = dpo.get(f"/api/v1/people/{jess.id}/subject-access/{sar_id}.json")
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    pack = response.json
    # The disclosure is decided and logged with its own basis, before anything is read.
    [disclosed] = events_for(response, "record.subject_access")
    assert disclosed.outcome == "allowed"
    assert disclosed.basis == {"kind": "subject_access", "id": sar_id}
    assert disclosed.sections == sorted(s.value for s in Section)
    assert disclosed.detail == {"subject_access_id": sar_id, "format": "json"}
    # Every revision, the hidden entry included.
    stories = pack["sections"]["story"]
    assert stories[0]["content"]["text"] == SAMPLE_CONTENT[Section.STORY]["text"]
    assert any(r["content"].get("text") == "Something only I see" for r in stories)
    assert any(r["hidden"] for r in stories)
    assert {r["entry_id"] for r in stories} >= {story.id, hidden.id}
    assert pack["sections"]["medication"][0]["content"]["name"] == "Methadone"
    assert pack["person"]["preferred_name"] == "Jess"
    assert any(r["content"].get("name") == "Jessica Hartley" for r in pack["sections"]["profile"])
    # Grants with their receipts, the revocation too.
    [g] = [g for g in pack["grants"] if g["id"] == shared.id]
    assert g["receipt"]["grant_id"] == shared.id
    assert g["revocation"]["receipt"]["event"] == "revocation"
    assert g["status"] == "revoked"
    # Emergency access with its review.
    [e] = pack["emergency_accesses"]
    assert e["reason"] == "Collapsed at the hub, paramedics asking"
    assert e["review"]["outcome"] == "justified"
    assert e["review"]["notes"] == "Paramedics needed the medication list"
    assert pack["representatives"] == []
    assert pack["processing"]["retention"]["years"] == 6
    assert set(pack["processing"]["sections"]) == {s.value for s in Section}
    assert pack["request"]["reason"] == "Letter from Jess, handed in at the hub"
    # Refusals are in the log part too, and the pack holds its own disclosure.
    actions = {(e["action"], e["outcome"]) for e in pack["access_log"]}
    assert ("record.view", "denied") in actions
    assert ("record.subject_access", "allowed") in actions
    # Nobody else's content.
    assert "Ciaran" not in response.get_data(as_text=True)


def test_the_pack_of_a_demo_person_holds_every_event_about_them(scene: Scene, api_as: Any) -> None:
    from passport.demo import load_demo

    load_demo()
    Factory().commit()
    demo_jess = db.session.execute(select(Person).where(Person.username == "jess")).scalar_one()
    dpo = api_as(scene.dpo)
    sar_id = _sar(dpo, demo_jess.id).json["id"]
    response = dpo.get(f"/api/v1/people/{demo_jess.id}/subject-access/{sar_id}.json")
    assert response.status_code == 200
    audit.integrate_all()
    logged = list(
        db.session.execute(
            select(AuditEvent.seq).where(AuditEvent.person_id == demo_jess.id)
        ).scalars()
    )
    in_pack = [e["seq"] for e in response.json["access_log"]]
    assert len(logged) > 10  # the control: the demo gave her a history
    # Every event about her up to the pack's own disclosure is in it, in order.
    assert in_pack == sorted(in_pack)
    assert set(logged) - set(in_pack) <= {
        e.seq for e in events_for(response) if e.action != "record.subject_access"
    }
    assert set(in_pack) <= set(logged)


def test_the_person_gets_their_own_pack_and_sees_it_in_who_has_looked(
    scene: Scene, api_as: Any
) -> None:
    sar_id = _sar(api_as(scene.dpo), scene.jess.id).json["id"]
    jess = api_as(scene.jess)
    dpo = api_as(scene.dpo)
    assert (
        dpo.get(f"/api/v1/people/{scene.jess.id}/subject-access/{sar_id}.json").status_code == 200
    )
    own = jess.get(f"/api/v1/people/{scene.jess.id}/subject-access/{sar_id}.json")
    assert own.status_code == 200
    log = jess.get(f"/api/v1/people/{scene.jess.id}/access-log").json["items"]
    assert any(
        i["action"] == "record.subject_access" and i["actor"]["name"] == "Dana Price" for i in log
    )


def test_the_pdf_pack_reads_in_english_and_welsh(scene: Scene, api_as: Any) -> None:
    dpo = api_as(scene.dpo)
    sar_id = _sar(dpo, scene.jess.id).json["id"]
    path = f"/api/v1/people/{scene.jess.id}/subject-access/{sar_id}.pdf"
    english = dpo.get(path)
    assert english.status_code == 200
    assert english.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(english.data)).pages)
    assert "A copy of everything Passport holds about you" in text
    assert "Methadone" in text
    [event] = events_for(english, "record.subject_access")
    assert event.detail["format"] == "pdf"
    welsh = dpo.get(path, headers={"Accept-Language": "cy"})
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(welsh.data)).pages)
    assert "A copy of everything Passport holds about you" not in text
    assert "Methadone" in text


def test_an_agency_dpo_answers_only_for_people_their_agency_has_looked_at(
    scene: Scene, api_as: Any
) -> None:
    # Nobody at any agency has read Jess yet: both agency DPOs are refused.
    for actor in (scene.agency_dpo, scene.elsewhere_dpo):
        refused = _sar(api_as(actor), scene.jess.id)
        assert refused.status_code == 403
        [event] = events_for(refused, "rights.subject_access_request")
        assert (event.outcome, event.reason) == ("denied", "outside-agency")
    # The worker at the agency DPO's agency reads Jess under a grant ...
    grant(scene.jess, "agency", scene.agency.id, ["risk"])
    assert (
        api_as(scene.worker)
        .get(f"/api/v1/people/{scene.jess.id}/passport?purpose=direct_support")
        .status_code
        == 200
    )
    # ... and now that agency's DPO may answer for her; the other still may not.
    assert _sar(api_as(scene.agency_dpo), scene.jess.id).status_code == 201
    assert _sar(api_as(scene.elsewhere_dpo), scene.jess.id).status_code == 403
    # The agency DPO's own look at her log does not count as their agency's access.
    api_as(scene.elsewhere_dpo).get(f"/api/v1/people/{scene.jess.id}/access-log")
    assert _sar(api_as(scene.elsewhere_dpo), scene.jess.id).status_code == 403


def test_only_the_recording_dpo_and_the_person_get_the_pack(scene: Scene, api_as: Any) -> None:
    sar_id = _sar(api_as(scene.dpo), scene.jess.id).json["id"]
    other_dpo = scene.elsewhere_dpo
    path = f"/api/v1/people/{scene.jess.id}/subject-access/{sar_id}.json"
    for actor, reason in [
        (scene.worker, "role"),
        (scene.caseworker_dpo, "role"),
        (other_dpo, "not-requester"),
        (scene.other, "not-person"),
    ]:
        response = api_as(actor).get(path)
        assert response.status_code == 403, actor
        body = response.get_data(as_text=True)
        assert "Methadone" not in body and "naloxone" not in body
        [event] = events_for(response, "record.subject_access")
        assert (event.outcome, event.reason, event.basis) == ("denied", reason, None)
    # Under another person's path it is not there.
    wrong = api_as(scene.dpo).get(f"/api/v1/people/{scene.other.id}/subject-access/{sar_id}.json")
    assert wrong.status_code == 404


def test_a_caseworker_cannot_record_a_subject_access_request(scene: Scene, api_as: Any) -> None:
    response = _sar(api_as(scene.worker), scene.jess.id)
    assert response.status_code == 403
    [event] = events_for(response, "rights.subject_access_request")
    assert event.reason == "role"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"received_on": (date.today() + timedelta(days=1)).isoformat()}, "received_on"),
        ({"received_on": "2001-01-01"}, "received_on"),
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_request_that_cannot_be_right_is_refused(
    scene: Scene, api_as: Any, body: dict[str, str], field: str
) -> None:
    response = _sar(api_as(scene.dpo), scene.jess.id, **body)
    assert response.status_code == 422
    assert field in str(response.json)


def test_the_dpo_lists_open_requests_with_the_day_they_are_due_and_marks_one_answered(
    scene: Scene, api_as: Any
) -> None:
    dpo = api_as(scene.dpo)
    sar_id = _sar(dpo, scene.jess.id).json["id"]
    [item] = dpo.get("/api/v1/audit/subject-access").json["items"]
    assert item["id"] == sar_id and item["answered_at"] is None
    assert item["due_on"] == one_month_after(date.fromisoformat(RECEIVED)).isoformat()
    # Nobody else marks it answered.
    assert (
        api_as(scene.elsewhere_dpo)
        .post(f"/api/v1/audit/subject-access/{sar_id}/answered")
        .status_code
        == 403
    )
    done = dpo.post(f"/api/v1/audit/subject-access/{sar_id}/answered")
    assert done.status_code == 200 and done.json["answered_at"]
    assert dpo.post(f"/api/v1/audit/subject-access/{sar_id}/answered").status_code == 409
    assert api_as(scene.worker).get("/api/v1/audit/subject-access").status_code == 403


@given(st.dates(min_value=date(2018, 5, 25), max_value=date(2100, 12, 31)))
def test_the_legal_month_ends_on_the_same_date_next_month_or_the_monday_after(
    received: date,
) -> None:
    following = (received.replace(day=1) + timedelta(days=32)).replace(day=1)
    last_day = ((following + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
    same_date = following.replace(day=min(received.day, last_day))
    due = one_month_after(received)
    if same_date.weekday() < 5:
        assert due == same_date
    else:
        assert due == same_date + timedelta(days=7 - same_date.weekday())
        assert due.weekday() == 0


def test_the_legal_month_examples() -> None:
    assert one_month_after(date(2027, 3, 10)) == date(2027, 4, 12)  # 10 April is a Saturday
    assert one_month_after(date(2027, 3, 3)) == date(2027, 4, 5)  # 3 April is a Saturday
    assert one_month_after(date(2027, 1, 31)) == date(2027, 3, 1)  # 28 February is a Sunday
    assert one_month_after(date(2028, 1, 31)) == date(2028, 2, 29)  # a leap year's Tuesday
    assert one_month_after(date(2026, 12, 2)) == date(2027, 1, 4)  # 2 January is a Saturday
    assert years_after(date(2024, 2, 29), 6) == date(2030, 2, 28)


# -- erasure ----------------------------------------------------------------------------------


def _ask(client: Api, person_id: str, reason: str | None = "I want to start again") -> Any:
    return client.post(
        f"/api/v1/people/{person_id}/erasure-requests",
        json={"reason": reason} if reason is not None else {},
    )


def test_a_refused_erasure_tells_the_person_why(scene: Scene, api_as: Any) -> None:
    jess = api_as(scene.jess)
    asked = _ask(jess, scene.jess.id)
    assert asked.status_code == 201, asked.json
    assert asked.json["status"] == "waiting"
    [event] = events_for(asked, "rights.erasure_request")
    assert event.outcome == "allowed"
    assert _ask(jess, scene.jess.id).status_code == 409  # one waiting request at a time
    decided = api_as(scene.dpo).post(
        f"/api/v1/audit/erasure-requests/{asked.json['id']}/decision",
        json={"outcome": "refused", "reason": "Probation must keep the risk record until May"},
    )
    assert decided.status_code == 200, decided.json
    [event] = events_for(decided, "rights.erasure_decision")
    assert event.detail == {"erasure_request_id": asked.json["id"], "outcome": "refused"}
    [item] = jess.get(f"/api/v1/people/{scene.jess.id}/erasure-requests").json["items"]
    assert item["status"] == "refused"
    assert item["decision_reason"] == "Probation must keep the risk record until May"
    assert jess.get(f"/api/v1/people/{scene.jess.id}/passport").status_code == 200
    # Decided once only.
    again = api_as(scene.dpo).post(
        f"/api/v1/audit/erasure-requests/{asked.json['id']}/decision",
        json={"outcome": "approved", "reason": "Changed my mind"},
    )
    assert again.status_code == 409


def test_only_a_scheme_wide_dpo_decides_erasure_never_the_person(scene: Scene, api_as: Any) -> None:
    asked = _ask(api_as(scene.jess), scene.jess.id)
    path = f"/api/v1/audit/erasure-requests/{asked.json['id']}/decision"
    body = {"outcome": "approved", "reason": "Yes"}
    for actor, reason in [
        (scene.jess, "role"),  # the person cannot approve their own
        (scene.agency_dpo, "not-scheme-wide"),
        (scene.worker, "role"),
        (scene.caseworker_dpo, "role"),
    ]:
        response = api_as(actor).post(path, json=body)
        assert response.status_code == 403, actor
        [event] = events_for(response, "rights.erasure_decision")
        assert (event.outcome, event.reason) == ("denied", reason)
    assert api_as(scene.agency_dpo).get("/api/v1/audit/erasure-requests").status_code == 403
    assert api_as(scene.jess).get(f"/api/v1/people/{scene.jess.id}/passport").status_code == 200


def test_only_the_person_asks_for_their_own_erasure(scene: Scene, api_as: Any) -> None:
    for actor in (scene.other, scene.worker, scene.dpo):
        response = _ask(api_as(actor), scene.jess.id)
        assert response.status_code == 403, actor
        [event] = events_for(response, "rights.erasure_request")
        assert event.reason == "not-person"


def test_an_approved_erasure_shreds_the_passport_and_the_log_still_verifies(
    fresh_app: Any,
) -> None:
    from passport.crypto import data_keys

    with fresh_app.app_context():
        make = Factory()
        jess = make.person()
        for section, content in SAMPLE_CONTENT.items():
            make.entry(jess, jess, section, content)
        dpo = make.staff("dpo", scheme_wide=True)
        client = fresh_app.test_client()
        asked = _ask(Api(client, make.token(jess)), jess.id, None)
        assert asked.status_code == 201
        queue = Api(client, make.token(dpo)).get("/api/v1/audit/erasure-requests").json["items"]
        assert [i["id"] for i in queue] == [asked.json["id"]]
        decided = Api(client, make.token(dpo)).post(
            f"/api/v1/audit/erasure-requests/{asked.json['id']}/decision",
            json={"outcome": "approved", "reason": "Nothing needs keeping"},
        )
        assert decided.status_code == 200, decided.json
        assert decided.json["status"] == "approved"
        [erased] = events_for(decided, "person.erase")
        assert erased.detail == {"erasure_request_id": asked.json["id"], "data_keys_destroyed": 1}
        data_keys.clear_cache()
        person = db.session.get(Person, jess.id)
        assert person is not None and person.erased_at is not None
        gone = Api(client, make.token(dpo)).get("/api/v1/audit/erasure-requests").json["items"]
        assert gone[0]["status"] == "approved" and gone[0]["decision_reason"] is None
        result = verify_database()
        assert result.ok, result.problem


# -- retention --------------------------------------------------------------------------------


def test_retention_reports_and_erases_what_is_past_its_years(fresh_app: Any) -> None:
    from passport.identity.models import Person as PersonRow

    with fresh_app.app_context():
        make = Factory()
        jess = make.person()
        make.entry(jess, jess, "story", {"text": "recent"})
        # Someone registered long ago, with nothing since (a row as it would stand then).
        old = PersonRow(id=db.new_id(), created_at=db.utcnow() - timedelta(days=7 * 366))
        db.session.add(old)
        make.commit()
        old_id = old.id
    runner = fresh_app.test_cli_runner()
    today = date.today()

    report = runner.invoke(args=["retention", "report"])
    assert report.exit_code == 0, report.output
    assert old_id in report.output and jess.id not in report.output
    assert "1 passport(s) past 6 year(s)" in report.output
    assert "last activity" in report.output and "recent" not in report.output

    later = (today + timedelta(days=6 * 366)).isoformat()
    both = runner.invoke(args=["retention", "report", "--today", later])
    assert jess.id in both.output and old_id in both.output
    soon = runner.invoke(args=["retention", "report", "--today", today.isoformat()])
    assert jess.id not in soon.output

    refused = runner.invoke(args=["retention", "apply"], input="n\n")
    assert refused.exit_code != 0
    with fresh_app.app_context():
        assert db.session.get(PersonRow, old_id).erased_at is None  # type: ignore[union-attr]
        db.session.remove()
    applied = runner.invoke(args=["retention", "apply", "--yes"])
    assert applied.exit_code == 0, applied.output
    assert f"erased 1 of 1: {old_id}" in applied.output
    with fresh_app.app_context():
        assert db.session.get(PersonRow, old_id).erased_at is not None  # type: ignore[union-attr]
        assert db.session.get(PersonRow, jess.id).erased_at is None  # type: ignore[union-attr]
        audit.integrate_all()
        [event] = db.session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "person.erase", AuditEvent.person_id == old_id
            )
        ).scalars()
        assert event.detail["retention_years"] == 6
        reports = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "rights.retention_report")
        ).scalars()
        assert all(r.person_id is None for r in reports)
        result = verify_database()
        assert result.ok, result.problem
        db.session.remove()
    nothing = runner.invoke(args=["retention", "apply", "--yes"])
    assert "nothing to erase" in nothing.output


@pytest.mark.parametrize("value", ["0", "-1", "101", "six"])
def test_retention_years_are_validated(value: str) -> None:
    from passport.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="PASSPORT_RETENTION_YEARS"):
        Settings.from_env({"PASSPORT_RETENTION_YEARS": value, "PASSPORT_HOME": "/tmp/x"})


def test_retention_years_default_to_six() -> None:
    from passport.config import Settings

    assert Settings.from_env({"PASSPORT_HOME": "/tmp/x"}).retention_years == 6
    assert (
        Settings.from_env(
            {"PASSPORT_HOME": "/tmp/x", "PASSPORT_RETENTION_YEARS": "8"}
        ).retention_years
        == 8
    )


READERS = ["jess", "other", "worker", "dpo", "agency_dpo", "elsewhere_dpo", "caseworker_dpo"]


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(recorder=st.sampled_from(["dpo", "agency_dpo"]), reader=st.sampled_from(READERS))
def test_the_pack_is_decided_for_the_person_and_the_recording_dpo_only(
    scene: Scene, recorder: str, reader: str
) -> None:
    """Whoever recorded the request (a scheme-wide DPO, or the agency DPO of a worker who
    read Jess), the pack's decision allows exactly the person and that DPO."""
    from passport.consent.decision import decide_subject_access

    jess = scene.jess
    grant(jess, "agency", scene.agency.id, ["risk"])
    assert (
        views.passport(scene.worker, jess.id, "direct_support").sections  # the agency reads
    )
    Factory().commit()
    request = rights.record_subject_access_request(
        getattr(scene, recorder), jess.id, "Letter", date.today()
    )
    decisions = decide_subject_access(getattr(scene, reader), request.id)
    expected = reader in ("jess", recorder)
    assert {d.allowed for d in decisions} == {expected}
    assert {d.section for d in decisions} == set(Section)
    if expected:
        assert {d.basis_kind for d in decisions} == {BasisKind.SUBJECT_ACCESS}
        assert {d.basis_id for d in decisions} == {request.id}
