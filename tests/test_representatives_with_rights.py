"""Representatives where they meet the other v1.1 parts: disputes, erasure, the subject access
pack and the person's inbox. A `help` representative speaks for the person (a dispute) but
never asks for erasure; a `view` one does neither; the person is told when someone can act
for them; the pack lists who acts for them."""

from __future__ import annotations

from datetime import date
from typing import Any

from passport.rights import operations as rights

from .factories import events_for, representative
from .test_disputes import STATEMENT, _dispute_url, w

__all__ = ["w"]


def test_a_help_representative_disputes_for_the_person_and_sees_the_restricted_entry(
    w: dict[str, Any], api_as: Any
) -> None:
    sister, _ = representative(w["jess"], access="help")
    response = api_as(sister).post(_dispute_url(w), {"statement": STATEMENT, "restrict": True})
    assert response.status_code == 201, response.json
    [event] = events_for(response, "record.dispute")
    assert event.outcome == "allowed"
    assert event.actor["kind"] == "representative"
    assert event.detail["on_behalf_of"] == w["jess"].id
    # She acts for Jess, so the entry Jess restricted is still hers to read, with the statement.
    passport = api_as(sister).get(f"/api/v1/people/{w['jess'].id}/passport")
    assert passport.status_code == 200, passport.json
    [risk] = passport.json["sections"]["risk"]
    assert risk["dispute"]["statement"] == STATEMENT
    # The agency reading through a grant does not see it.
    tom = api_as(w["tom"]).get(f"/api/v1/people/{w['jess'].id}/passport?purpose=direct_support")
    assert tom.status_code == 200
    assert tom.json["sections"].get("risk", []) == []


def test_a_view_representative_cannot_dispute(w: dict[str, Any], api_as: Any) -> None:
    reader, _ = representative(w["jess"], access="view")
    response = api_as(reader).post(_dispute_url(w), {"statement": STATEMENT})
    assert response.status_code == 403
    [event] = events_for(response, "record.dispute")
    assert (event.outcome, event.reason) == ("denied", "representative-power")


def test_no_representative_asks_for_erasure(w: dict[str, Any], api_as: Any) -> None:
    for access in ("help", "view"):
        rep, _ = representative(w["jess"], access=access, username=f"erase-{access}")
        response = api_as(rep).post(
            f"/api/v1/people/{w['jess'].id}/erasure-requests", {"reason": "start again"}
        )
        assert response.status_code == 403, (access, response.json)
        [event] = events_for(response, "rights.erasure_request")
        assert (event.outcome, event.reason) == ("denied", "representative-power")
    # The person still can.
    own = api_as(w["jess"]).post(f"/api/v1/people/{w['jess'].id}/erasure-requests", {})
    assert own.status_code == 201, own.json


def _told(api_as: Any, person: Any) -> list[str]:
    response = api_as(person).get("/api/v1/me/notifications")
    assert response.status_code == 200, response.json
    return [item["kind"] for item in response.json["items"]]


def test_the_person_is_told_someone_can_act_for_them(w: dict[str, Any], api_as: Any) -> None:
    representative(w["jess"], access="help")
    assert _told(api_as, w["jess"]).count("representative_added") == 1


def test_a_legal_representative_is_told_only_once_approved(
    w: dict[str, Any], make: Any, api_as: Any
) -> None:
    _, row = representative(w["jess"], recorded_by=w["amara"], legal_basis="deputy")
    assert "representative_added" not in _told(api_as, w["jess"])
    dpo = make.staff("dpo", agency=w["housing"], name="Dee Patel", scheme_wide=True)
    reviewed = api_as(dpo).post(
        f"/api/v1/audit/representatives/{row.id}/review",
        {"outcome": "approved", "notes": "Court order seen"},
    )
    assert reviewed.status_code == 200, reviewed.json
    assert _told(api_as, w["jess"]).count("representative_added") == 1


def test_the_subject_access_pack_lists_who_acts_for_the_person(
    w: dict[str, Any], make: Any, api_as: Any
) -> None:
    representative(w["jess"], access="help", name="Lorna Hartley")
    dpo = make.staff("dpo", agency=w["housing"], name="Dee Patel", scheme_wide=True)
    request = rights.record_subject_access_request(dpo, w["jess"].id, "Letter", date.today())
    make.commit()
    response = api_as(dpo).get(f"/api/v1/people/{w['jess'].id}/subject-access/{request.id}.json")
    assert response.status_code == 200, response.json
    [listed] = response.json["representatives"]
    assert (listed["name"], listed["access"], listed["status"]) == (
        "Lorna Hartley",
        "help",
        "active",
    )
