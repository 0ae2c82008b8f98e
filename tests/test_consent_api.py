"""Consent over HTTP: grants, receipts, revocation, break-glass, the person's access log,
the brief and the caseload — success and refusal paths."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest

from passport import db

from .factories import SAMPLE_CONTENT, events_for, forum, grant

TODAY = date.today()


def _grant_body(grantee_type: str, grantee_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "grantee": {"type": grantee_type, "id": grantee_id},
        "sections": ["medication", "risk"],
        "purpose": "direct_support",
        "expires_on": (TODAY + timedelta(days=100)).isoformat(),
        "obtained": {"method": "self"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def setting(make: Any) -> dict[str, Any]:
    agency = make.agency("Riverside Mental Health", "mental_health")
    contributor = make.staff("caseworker", name="Amara Okafor")
    person = make.person(registered_by=contributor)
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    return {
        "agency": agency,
        "person": person,
        "contributor": contributor,
        "worker": make.staff("caseworker", agency=agency, name="Priya Shah"),
        "colleague": make.staff("caseworker", agency=agency),
        "stranger": make.staff("caseworker"),
    }


def test_person_grants_and_gets_a_receipt(setting: dict[str, Any], api_as: Any) -> None:
    person, agency = setting["person"], setting["agency"]
    response = api_as(person).post(
        f"/api/v1/people/{person.id}/consents", _grant_body("agency", agency.id)
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "active"
    assert body["grantee"] == {"type": "agency", "id": agency.id, "name": "Riverside Mental Health"}
    assert body["sections"] == ["medication", "risk"]
    assert body["recorded_by"] == {"kind": "person", "id": person.id}
    assert body["wording"].startswith(
        "Riverside Mental Health can see your risks and your medication"
    )
    receipt = body["receipt"]
    for field in (
        "version",
        "receipt_id",
        "jurisdiction",
        "timestamp",
        "collection_method",
        "principal",
        "controller",
        "purposes",
        "categories",
        "recipients",
        "validity",
        "withdrawal",
    ):
        assert field in receipt, field
    assert receipt["categories"] == ["medication", "risk"]
    assert receipt["principal"] == {"id": person.id}
    assert receipt["wording"]["sha256"] == hashlib.sha256(body["wording"].encode()).hexdigest()

    got = api_as(person).get(f"/api/v1/people/{person.id}/consents/{body['id']}/receipt")
    assert got.status_code == 200
    assert got.json["grant"] == receipt and got.json["revocation"] is None

    [event] = events_for(response, "consent.grant")
    assert event.outcome == "allowed"
    assert event.detail["grant_id"] == body["id"]
    assert event.basis == {"kind": "self", "id": person.id}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sections": []}, "sections"),
        ({"sections": ["diary"]}, "sections.0"),
        (
            {
                "starts_on": (TODAY + timedelta(days=10)).isoformat(),
                "expires_on": (TODAY + timedelta(days=10)).isoformat(),
            },
            "expires_on",
        ),
        ({"expires_on": (TODAY - timedelta(days=1)).isoformat()}, "expires_on"),
        ({"starts_on": (TODAY - timedelta(days=3)).isoformat()}, "starts_on"),
        (
            {"purpose": "referral", "expires_on": (TODAY + timedelta(days=91)).isoformat()},
            "expires_on",
        ),
        ({"purpose": "mdt"}, "purpose"),
        ({"purpose": "emergency"}, "purpose"),
        ({"obtained": {"method": "verbal"}}, "obtained.method"),
        ({"colour": "blue"}, "body"),  # unknown names are not echoed back
    ],
)
def test_nonsense_grants_are_refused_with_422(
    setting: dict[str, Any], api_as: Any, overrides: dict[str, Any], field: str
) -> None:
    person = setting["person"]
    response = api_as(person).post(
        f"/api/v1/people/{person.id}/consents",
        _grant_body("agency", setting["agency"].id, **overrides),
    )
    assert response.status_code == 422, response.json
    assert response.json["type"] == "/problems/validation-error"
    assert field in response.json["errors"], response.json["errors"]


def test_unknown_grantee_is_422(setting: dict[str, Any], api_as: Any) -> None:
    person = setting["person"]
    response = api_as(person).post(
        f"/api/v1/people/{person.id}/consents", _grant_body("agency", db.new_id())
    )
    assert response.status_code == 422
    assert "grantee.id" in response.json["errors"]


def test_mdt_grant_needs_mdt_purpose(setting: dict[str, Any], api_as: Any) -> None:
    person = setting["person"]
    mdt = forum("Riverside MDT", [setting["agency"]])
    wrong = api_as(person).post(f"/api/v1/people/{person.id}/consents", _grant_body("mdt", mdt.id))
    assert wrong.status_code == 422
    right = api_as(person).post(
        f"/api/v1/people/{person.id}/consents", _grant_body("mdt", mdt.id, purpose="mdt")
    )
    assert right.status_code == 201


def test_assisted_grant_by_a_contributor_and_refusal_for_others(
    setting: dict[str, Any], api_as: Any
) -> None:
    person, agency = setting["person"], setting["agency"]
    assisted = _grant_body(
        "agency", agency.id, obtained={"method": "interpreter", "notes": "Arabic"}
    )
    response = api_as(setting["contributor"]).post(f"/api/v1/people/{person.id}/consents", assisted)
    assert response.status_code == 201, response.json
    assert response.json["recorded_by"] == {"kind": "staff", "id": setting["contributor"].id}
    assert response.json["receipt"]["collection_method"] == "assisted:interpreter"
    assert "Arabic" not in response.get_data(as_text=True)  # notes are sealed, not echoed

    self_claimed = _grant_body("agency", agency.id)
    response = api_as(setting["contributor"]).post(
        f"/api/v1/people/{person.id}/consents", self_claimed
    )
    assert response.status_code == 422

    response = api_as(setting["stranger"]).post(f"/api/v1/people/{person.id}/consents", assisted)
    assert response.status_code == 403
    assert response.json["type"] == "/problems/forbidden"
    [event] = events_for(response, "consent.grant")
    assert event.outcome == "denied"


def test_revocation_takes_effect_on_the_next_request(setting: dict[str, Any], api_as: Any) -> None:
    person, worker = setting["person"], setting["worker"]
    made = (
        api_as(person)
        .post(f"/api/v1/people/{person.id}/consents", _grant_body("agency", setting["agency"].id))
        .json
    )
    reader = api_as(worker)
    before = reader.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    assert before.status_code == 200
    assert before.json["sections"]["medication"][0]["content"]["name"] == "Methadone"
    assert sorted(before.json["withheld"]) == ["preferences", "profile", "story", "workers"]

    revoked = api_as(person).post(
        f"/api/v1/people/{person.id}/consents/{made['id']}/revoke", {"reason": "changed my mind"}
    )
    assert revoked.status_code == 200
    assert revoked.json["status"] == "revoked"
    after = reader.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    assert after.status_code == 403
    assert {e.reason for e in events_for(after, "record.view")} == {"grant-revoked", "no-grant"}

    again = api_as(person).post(f"/api/v1/people/{person.id}/consents/{made['id']}/revoke", {})
    assert again.status_code == 409
    receipt = api_as(person).get(f"/api/v1/people/{person.id}/consents/{made['id']}/receipt")
    assert receipt.json["revocation"]["event"] == "revocation"
    assert "changed my mind" not in receipt.get_data(as_text=True)


def test_only_the_person_or_a_contributor_revokes(setting: dict[str, Any], api_as: Any) -> None:
    person = setting["person"]
    made = grant(person, "agency", setting["agency"].id, ["risk"])
    response = api_as(setting["worker"]).post(
        f"/api/v1/people/{person.id}/consents/{made.id}/revoke", {}
    )
    assert response.status_code == 403
    missing = api_as(person).post(f"/api/v1/people/{person.id}/consents/{db.new_id()}/revoke", {})
    assert missing.status_code == 404


def test_statuses_and_expiry_reminders(setting: dict[str, Any], api_as: Any) -> None:
    person, agency = setting["person"], setting["agency"]
    active = grant(person, "agency", agency.id, ["risk"])
    grant(person, "agency", agency.id, ["story"], state="pending")
    grant(person, "agency", agency.id, ["workers"], state="expired")
    grant(person, "agency", agency.id, ["medication"], state="revoked")
    soon = (
        api_as(person)
        .post(
            f"/api/v1/people/{person.id}/consents",
            _grant_body(
                "agency",
                agency.id,
                sections=["preferences"],
                expires_on=(TODAY + timedelta(days=20)).isoformat(),
            ),
        )
        .json
    )
    listed = api_as(person).get(f"/api/v1/people/{person.id}/consents").json["items"]
    assert sorted(g["status"] for g in listed) == [
        "active",
        "active",
        "expired",
        "pending",
        "revoked",
    ]
    expiring = (
        api_as(setting["contributor"])
        .get(f"/api/v1/people/{person.id}/consents?expiring_within=30")
        .json["items"]
    )
    assert [g["id"] for g in expiring] == [soon["id"]]
    assert active.id not in [g["id"] for g in expiring]
    refused = api_as(setting["worker"]).get(f"/api/v1/people/{person.id}/consents")
    assert refused.status_code == 403


def test_named_worker_grant_covers_only_them(setting: dict[str, Any], api_as: Any) -> None:
    person = setting["person"]
    grant(person, "staff", setting["worker"].id, ["medication"])
    mine = api_as(setting["worker"]).get(
        f"/api/v1/people/{person.id}/passport?purpose=direct_support"
    )
    assert mine.status_code == 200 and "medication" in mine.json["sections"]
    theirs = api_as(setting["colleague"]).get(
        f"/api/v1/people/{person.id}/passport?purpose=direct_support"
    )
    assert theirs.status_code == 403


def test_break_glass(setting: dict[str, Any], api_as: Any, make: Any) -> None:
    person, stranger = setting["person"], setting["stranger"]
    client = api_as(stranger)
    short = client.post(f"/api/v1/people/{person.id}/emergency-access", {"reason": "urgent"})
    assert short.status_code == 422 and "reason" in short.json["errors"]
    dpo_refused = api_as(make.staff("dpo")).post(
        f"/api/v1/people/{person.id}/emergency-access",
        {"reason": "collapsed at the hub, unresponsive"},
    )
    assert dpo_refused.status_code == 403

    no_access = client.get(f"/api/v1/people/{person.id}/passport?purpose=emergency")
    assert no_access.status_code == 403

    opened = client.post(
        f"/api/v1/people/{person.id}/emergency-access",
        {"reason": "collapsed at the hub, unresponsive"},
    )
    assert opened.status_code == 201
    assert opened.json["sections"] == ["medication", "risk", "workers"]

    read = client.get(f"/api/v1/people/{person.id}/passport?purpose=emergency")
    assert read.status_code == 200
    assert sorted(read.json["sections"]) == ["medication", "risk", "workers"]
    assert sorted(read.json["withheld"]) == ["preferences", "profile", "story"]
    allowed = [e for e in events_for(read, "record.view") if e.outcome == "allowed"]
    assert [(e.purpose, e.basis) for e in allowed] == [
        ("emergency", {"kind": "emergency", "id": opened.json["id"]})
    ]
    # Emergency access does not extend to ordinary purposes.
    assert (
        client.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support").status_code == 403
    )

    # The person sees it in their access log.
    log = api_as(person).get(f"/api/v1/people/{person.id}/access-log").json["items"]
    assert any(i["emergency"] and i["action"] == "emergency.open" for i in log)
    assert any(i["emergency"] and i["action"] == "record.view" for i in log)

    # It waits in the DPO's queue until reviewed, once.
    dpo = api_as(make.staff("dpo", scheme_wide=True))
    queue = dpo.get("/api/v1/audit/emergency-access?reviewed=false").json["items"]
    assert [i["id"] for i in queue] == [opened.json["id"]]
    assert queue[0]["reason"] == "collapsed at the hub, unresponsive"
    reviewed = dpo.post(
        f"/api/v1/audit/emergency-access/{opened.json['id']}/review",
        {"outcome": "justified", "notes": "ambulance called; proportionate"},
    )
    assert reviewed.status_code == 200
    assert reviewed.json["review"]["outcome"] == "justified"
    again = dpo.post(
        f"/api/v1/audit/emergency-access/{opened.json['id']}/review",
        {"outcome": "not_justified", "notes": "second look"},
    )
    assert again.status_code == 409
    assert dpo.get("/api/v1/audit/emergency-access?reviewed=false").json["items"] == []
    assert client.get("/api/v1/audit/emergency-access").status_code == 403

    # An agency DPO elsewhere does not see this agency's break-glass.
    other_dpo = api_as(make.staff("dpo"))
    assert other_dpo.get("/api/v1/audit/emergency-access").json["items"] == []


def test_expired_break_glass_is_refused(setting: dict[str, Any], api_as: Any) -> None:
    from passport.consent.models import EmergencyAccess
    from passport.crypto import data_keys

    person, stranger = setting["person"], setting["stranger"]
    access = EmergencyAccess(
        id=db.new_id(),
        person_id=person.id,
        staff_id=stranger.id,
        agency_id=stranger.agency_id,
        opened_at=db.utcnow() - timedelta(hours=5),
        expires_at=db.utcnow() - timedelta(hours=1),
    )
    access.reason = data_keys.seal_json(
        person.id, "emergency_accesses", "reason", access.id, "x" * 12
    )
    db.session.add(access)
    db.session.commit()
    response = api_as(stranger).get(f"/api/v1/people/{person.id}/passport?purpose=emergency")
    assert response.status_code == 403
    reasons = {e.reason for e in events_for(response, "record.view")}
    assert reasons == {"emergency-expired", "no-grant"}


def test_access_log_shows_who_looked(setting: dict[str, Any], api_as: Any, make: Any) -> None:
    person, worker, stranger = setting["person"], setting["worker"], setting["stranger"]
    grant(person, "agency", setting["agency"].id, ["medication"])
    api_as(worker).get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    api_as(stranger).get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")

    items = api_as(person).get(f"/api/v1/people/{person.id}/access-log").json["items"]
    views = [i for i in items if i["action"] == "record.view"]
    seen = {(i["actor"]["name"], i["actor"]["agency"], i["outcome"]) for i in views}
    assert ("Priya Shah", "Riverside Mental Health", "allowed") in seen
    assert any(i["outcome"] == "denied" and i["actor"]["name"] != "Priya Shah" for i in views)
    mine = next(
        i for i in views if i["outcome"] == "allowed" and i["actor"]["name"] == "Priya Shah"
    )
    assert mine["sections"] == ["medication"] and mine["purpose"] == "direct_support"

    assert api_as(stranger).get(f"/api/v1/people/{person.id}/access-log").status_code == 403
    agency_dpo = api_as(make.staff("dpo", agency=setting["agency"]))
    scoped = agency_dpo.get(f"/api/v1/people/{person.id}/access-log").json["items"]
    assert scoped and all(i["actor"]["agency"] == "Riverside Mental Health" for i in scoped)

    page = api_as(person).get(f"/api/v1/people/{person.id}/access-log?limit=2").json
    assert len(page["items"]) == 2 and page["next_before_seq"]
    rest = (
        api_as(person)
        .get(f"/api/v1/people/{person.id}/access-log?before_seq={page['next_before_seq']}")
        .json["items"]
    )
    assert all(i["seq"] < page["next_before_seq"] for i in rest)


def test_brief(setting: dict[str, Any], api_as: Any, make: Any) -> None:
    person, worker = setting["person"], setting["worker"]
    make.entry(
        person,
        person,
        "risk",
        {
            "flags": [
                {"kind": "lone_working", "level": "low"},
                {"kind": "self_harm", "level": "medium"},
            ],
        },
    )
    make.entry(person, person, "medication", {"name": "Sertraline", "stopped_on": "2020-01-01"})
    grant(person, "agency", setting["agency"].id, ["risk", "medication", "workers", "story"])
    client = api_as(worker)
    first = client.get(f"/api/v1/people/{person.id}/brief?purpose=direct_support")
    assert first.status_code == 200, first.json
    body = first.json
    assert [a["level"] for a in body["alerts"]] == ["high", "medium", "low"]
    assert body["lead_worker"]["content"]["name"] == "Amara Okafor"
    assert [m["content"]["name"] for m in body["medication"]] == [
        "Methadone"
    ]  # stopped one left out
    assert body["preferences"] == []
    assert sorted(body["withheld"]) == ["preferences", "profile"]
    assert body["last_viewed_at"] is None
    assert len(body["changed_since_last_view"]) >= 4

    make.entry(person, person, "story", {"text": "Moved into my flat this week."})
    second = client.get(f"/api/v1/people/{person.id}/brief?purpose=direct_support").json
    assert second["last_viewed_at"] is not None
    assert [c["content"].get("text") for c in second["changed_since_last_view"]] == [
        "Moved into my flat this week."
    ]
    assert second["recent_story"][0]["content"]["text"] == "Moved into my flat this week."
    assert client.get(f"/api/v1/people/{person.id}/brief").status_code == 422
    assert (
        api_as(setting["stranger"])
        .get(f"/api/v1/people/{person.id}/brief?purpose=direct_support")
        .status_code
        == 403
    )


def test_caseload_and_blind_index_search(setting: dict[str, Any], api_as: Any, make: Any) -> None:
    person, worker = setting["person"], setting["worker"]
    other = make.person(
        name="Ciaran Doyle", preferred_name="Ciaran", date_of_birth=date(2004, 8, 2)
    )
    client = api_as(worker)
    assert client.get("/api/v1/people").json["items"] == []
    grant(person, "agency", setting["agency"].id, ["story"])
    grant(other, "agency", setting["agency"].id, ["risk"], state="revoked")
    items = client.get("/api/v1/people").json["items"]
    assert items == [{"id": person.id, "preferred_name": "Jess", "date_of_birth": "1992-03-14"}]

    found = client.get("/api/v1/people?name=jessica%20HARTLEY&date_of_birth=1992-03-14").json
    assert [p["id"] for p in found["items"]] == [person.id]
    assert (
        client.get("/api/v1/people?name=Jessica%20Hartley&date_of_birth=1992-03-15").json["items"]
        == []
    )
    assert client.get("/api/v1/people?name=Ciaran%20Doyle").json["items"] == []
    assert client.get("/api/v1/people?date_of_birth=1992-03-14").status_code == 422
    assert api_as(person).get("/api/v1/people").status_code == 403
    # The contributor's caseload includes the people they help.
    mine = api_as(setting["contributor"]).get("/api/v1/people").json["items"]
    assert [p["id"] for p in mine] == [person.id]
