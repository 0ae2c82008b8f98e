"""Every page's GET route answers arbitrary query strings with a page, never a 500, for every
kind of user (issue 12, item 6). A route with a path parameter this file cannot fill fails the
test, so a new page is fuzzed from the day it is added."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import AnyConverter

from passport.consent.emergency import open_emergency
from passport.consent.grants import revoke_grant
from passport.mdt import operations
from passport.rights import operations as rights

from .factories import SAMPLE_CONTENT, Factory, forum, forum_member, grant, representative
from .web_helpers import sign_in, sign_in_with_code

# Values that have crashed pages before: numbers past any column, dates past any calendar,
# control characters, broken percent-escapes, very long text.
NASTY = [
    "99999999999999999999999",
    "9" * 5000,
    "-1",
    "0",
    "9999-12-31",
    "99999-01-01",
    "2026-02-30",
    "\x00",
    "%ff",
    b"\xed\xa0\x80",  # a lone surrogate, as the bytes a browser could send
    b"\xff\xfe",
    "x" * 3000,
    "",
    " ",
    "../../etc/passwd",
    "//evil.example",
]
# Every query argument a page reads (request.args in passport/web), and a few it does not.
ARGS = [
    "after",
    "before",
    "since",
    "until",
    "since-day",
    "since-month",
    "since-year",
    "until-day",
    "until-month",
    "until-year",
    "person_id",
    "actor_id",
    "action",
    "outcome",
    "purpose",
    "name",
    "date_of_birth",
    "lang",
    "next",
    "done",
    "page",
    "limit",
]
SKIP_ENDPOINTS = {"web.static", "web.govuk_assets"}  # files, not pages


def page_scene(make: Factory) -> tuple[dict[str, str], dict[str, Any]]:
    """The data every page needs, and a value for every path parameter of every page: also
    what tests/e2e/test_narrow_screens.py loads each page with, as each role. Returns
    (path values, the signed-in users by role)."""
    housing = make.agency("Riverside Housing First", "housing")
    worker = make.staff("caseworker", agency=housing, name="Amara Okafor")
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    dpo = make.staff("dpo", agency=housing, scheme_wide=True)
    admin = make.staff("admin", agency=housing)
    jess = make.person(registered_by=worker)
    entries = {s.value: make.entry(jess, jess, s, c) for s, c in SAMPLE_CONTENT.items()}
    shared = grant(jess, "agency", housing.id, ["risk", "story"])
    board = forum("Riverside MDT", [housing])
    forum_member(board, chair, "chair")
    forum_member(board, worker, "member")
    meeting = operations.create_meeting(chair, board.id, date.today(), "December", [])
    # On the agenda: Jess, with an open action (its buttons), and Sam, who has since stopped
    # sharing with the MDT (the "no longer agrees" notice).
    grant(jess, "mdt", board.id, ["risk", "medication"], purpose="mdt")
    operations.add_to_agenda(chair, meeting.id, jess.id)
    operations.add_action(
        chair, meeting.id, jess.id, worker.id, "Book a <b>GP</b> visit", date.today() + timedelta(7)
    )
    sam = make.person(name="Sam Leaver", preferred_name="Sam")
    left = grant(sam, "mdt", board.id, ["risk"], purpose="mdt")
    operations.add_to_agenda(chair, meeting.id, sam.id)
    revoke_grant(sam, sam.id, left.id, None)
    make.commit()
    access = open_emergency(worker, jess.id, "Collapsed at the hub, paramedics asking", 4)
    make.commit()
    # Data-protection rights: a subject access request and an erasure request, both waiting.
    sar = rights.record_subject_access_request(dpo, jess.id, "Letter from Jess", date.today())
    erasure = rights.request_erasure(jess, jess.id, "I want to start again")
    make.commit()
    # Jess's sister helps her; a legal representative waits for the DPO.
    sister, helping = representative(jess, access="help", name="Ann Byrne")
    representative(jess, recorded_by=worker, legal_basis="deputy", name="Gwen Morgan")
    values = {
        "person_id": jess.id,
        "entry_id": entries["story"].id,
        "grant_id": shared.id,
        "forum_id": board.id,
        "meeting_id": meeting.id,
        "access_id": access.id,
        "staff_id": worker.id,
        "step": "who",
        "section": "risk",
        "change": "disable",  # the admin's disable/enable confirmation page
        "sar_id": sar.id,
        "req_id": erasure.id,
        "representation_id": helping.id,
    }
    users = {
        "person": jess,
        "caseworker": worker,
        "chair": chair,
        "representative": sister,
        "dpo": dpo,
        "admin": admin,
    }
    return values, users


@pytest.fixture
def scene(make: Factory, app: Flask) -> dict[str, Any]:
    values, users = page_scene(make)
    clients: dict[str, FlaskClient] = {"nobody": app.test_client()}
    for role in ("person", "caseworker", "chair", "representative"):
        clients[role] = app.test_client()
        sign_in(clients[role], users[role])
    for role in ("dpo", "admin"):
        clients[role] = app.test_client()
        sign_in_with_code(clients[role], users[role])
    return {"values": values, "clients": clients, "until": date.today() + timedelta(days=1)}


def _page_paths(app: Flask, values: dict[str, str]) -> list[str]:
    """Every page's GET path, filled from `values`; fails on a parameter it cannot fill."""
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if "GET" not in (rule.methods or ()):
            continue
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: give the fuzz scene a value for {sorted(missing)}"
        given = {k: values[k] for k in rule.arguments}
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter) and given[name] not in converter.items:
                given[name] = sorted(converter.items)[0]  # a route for only some sections
        paths.append(rule.build(given, append_unknown=False)[1])
    return sorted(paths)


def _answered(client: FlaskClient, path: str, query: dict[str, Any]) -> None:
    response = client.get(path, query_string=urlencode(query))
    assert response.status_code < 500, f"{path}?{query} gave {response.status_code}"
    assert b"Traceback" not in response.get_data()


def test_every_page_survives_known_bad_values(app: Flask, scene: dict[str, Any]) -> None:
    paths = _page_paths(app, scene["values"])
    assert len(paths) > 30  # the control: the pages were found
    for path in paths:
        slow = path.endswith(".pdf")
        for role, client in scene["clients"].items():
            for value in NASTY[:3] if slow else NASTY:
                _answered(client, path, {name: value for name in ARGS})


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_page_survives_arbitrary_query_strings(
    app: Flask, scene: dict[str, Any], data: st.DataObject
) -> None:
    paths = [p for p in _page_paths(app, scene["values"]) if not p.endswith(".pdf")]
    path = data.draw(st.sampled_from(paths), label="path")
    role = data.draw(st.sampled_from(sorted(scene["clients"])), label="role")
    query = data.draw(
        st.dictionaries(
            st.sampled_from(ARGS) | st.text(max_size=8),
            st.sampled_from(NASTY) | st.text(max_size=40) | st.integers().map(str),
            max_size=5,
        ),
        label="query",
    )
    _answered(scene["clients"][role], path, query)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-02-30", "since-day"),
        ("until=9999-12-31", "until-day"),
        ("since-day=31&since-month=2&since-year=2026", "since-day"),
        ("until-day=1&until-month=1&until-year=9999", "until-day"),
        ("since-day=1&since-month=1", "since-day"),
        ("person_id=99999999999999999999999", "person_id"),
        ("after=99999999999999999999999", "after"),
        ("action=record.nonsense", "action"),
    ],
)
def test_a_log_filter_that_cannot_be_read_is_named_not_dropped(
    scene: dict[str, Any], query: str, field: str
) -> None:
    response = scene["clients"]["dpo"].get(f"/dpo/log?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert f'href="#{field}"' in page
    assert "No events match." in page  # nothing was searched


def test_a_readable_log_filter_still_searches(scene: dict[str, Any]) -> None:
    page = scene["clients"]["dpo"].get("/dpo/log?since=2000-01-01").get_data(as_text=True)
    assert "There is a problem" not in page
    assert "<td" in page


def test_an_overflowing_looked_cursor_starts_from_the_newest(scene: dict[str, Any]) -> None:
    client = scene["clients"]["person"]
    newest = client.get("/me/looked").get_data(as_text=True)
    overflow = client.get("/me/looked?before=99999999999999999999999")
    assert overflow.status_code == 200
    assert overflow.get_data(as_text=True).count("<li") == newest.count("<li")
