"""No edit is lost to a race (issue 12 item 5; API.md v1.1 "Running it").

Entry answers carry `ETag: "<revision>"`; PUT, retire and hide take `If-Match`. A stale
revision is a 412 problem+json `/problems/precondition-failed`, nothing is written, and the
refusal is logged (reason `stale-revision`). Two real writers at once, each with its own
session and real commits, sending the same If-Match: exactly one wins.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from passport import audit, db
from passport.audit.models import AuditEvent
from passport.errors import PreconditionFailed
from passport.records import writing
from passport.records.models import Revision
from passport.records.operations import retire_entry, revise_entry
from passport.vocabulary import Section

from .conftest import Api
from .factories import Factory, events_for
from .test_records_api import PROBLEM, assert_problem, events_of
from .web_helpers import csrf_from, revision_from, sign_in

STALE = "someone else changed this entry after you opened it: reload it to see their change"


def url(person: Any, section: str, entry_id: str | None = None, action: str = "") -> str:
    base = f"/api/v1/people/{person.id}/sections/{section}/entries"
    return base + (f"/{entry_id}" if entry_id else "") + (f"/{action}" if action else "")


def revisions_of(entry_id: str) -> int:
    return int(
        db.session.execute(
            select(func.count()).select_from(Revision).where(Revision.entry_id == entry_id)
        ).scalar_one()
    )


@pytest.fixture
def owner(make: Factory) -> Any:
    return make.person()


@pytest.fixture
def api(owner: Any, api_as: Any) -> Api:
    return api_as(owner)  # type: ignore[no-any-return]


@pytest.fixture
def entry(api: Api, owner: Any) -> dict[str, Any]:
    created = api.post(url(owner, "medication"), {"content": {"name": "Methadone"}})
    assert created.status_code == 201
    return dict(created.json)


# -- ETag on every entry answer -------------------------------------------------------------


def test_every_entry_answer_carries_its_revision_as_etag(api: Api, owner: Any) -> None:
    created = api.post(url(owner, "story"), {"content": {"text": "Slept at the hub."}})
    assert created.status_code == 201
    assert created.headers["ETag"] == '"1"'
    entry_id = created.json["id"]

    changed = api.put(url(owner, "story", entry_id), {"content": {"text": "At the hub."}})
    assert (changed.status_code, changed.headers["ETag"]) == (200, '"2"')
    assert changed.json["revision"] == 2

    hidden = api.post(url(owner, "story", entry_id, "hide"), {"hidden": True})
    assert (hidden.status_code, hidden.headers["ETag"]) == (200, '"3"')

    unchanged = api.post(url(owner, "story", entry_id, "hide"), {"hidden": True})
    assert (unchanged.status_code, unchanged.headers["ETag"]) == (200, '"3"')  # nothing written

    retired = api.post(url(owner, "story", entry_id, "retire"))
    assert (retired.status_code, retired.headers["ETag"]) == (200, '"4"')
    assert retired.json["status"] == "retired"


# -- If-Match on PUT ------------------------------------------------------------------------


def test_a_matching_if_match_changes_the_entry_and_gives_the_new_etag(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    response = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone", "dose": "60 mg"}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'
    assert response.json["content"]["dose"] == "60 mg"
    assert revisions_of(entry["id"]) == 2


def test_a_stale_if_match_is_412_and_writes_nothing(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    first = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone", "dose": "60 mg"}},
        headers={"If-Match": '"1"'},
    )
    assert first.status_code == 200
    late = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone", "dose": "30 mg"}},
        headers={"If-Match": '"1"'},
    )
    body = assert_problem(late, 412, "/problems/precondition-failed")
    assert body["detail"] == STALE
    assert "ETag" not in late.headers
    assert revisions_of(entry["id"]) == 2
    passport = api.get(f"/api/v1/people/{owner.id}/passport").json
    assert passport["sections"]["medication"][0]["content"]["dose"] == "60 mg"
    # The refusal is in the access log, like every refused write.
    [refusal] = [e for e in events_of(late) if e.outcome == "denied"]
    assert refusal.action == "record.write"
    assert refusal.reason == "stale-revision"
    assert refusal.detail == {
        "change": "revise",
        "entry_id": entry["id"],
        "revision": 2,
        "expected_revision": 1,
    }
    assert not [e for e in events_of(late) if e.action == "record.write" and e.outcome == "allowed"]


def test_a_weak_tag_names_the_same_revision_and_star_means_any(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    weak = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone", "dose": "60 mg"}},
        headers={"If-Match": 'W/"1"'},
    )
    assert (weak.status_code, weak.headers["ETag"]) == (200, '"2"')
    stale_weak = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone"}},
        headers={"If-Match": 'W/"1"'},
    )
    assert_problem(stale_weak, 412, "/problems/precondition-failed")
    star = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone", "dose": "40 mg"}},
        headers={"If-Match": "*"},
    )
    assert (star.status_code, star.headers["ETag"]) == (200, '"3"')
    never_a_revision = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone"}},
        headers={"If-Match": '"0"'},
    )
    assert_problem(never_a_revision, 412, "/problems/precondition-failed")
    assert revisions_of(entry["id"]) == 3


def test_without_if_match_the_change_applies_to_the_latest(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    response = api.put(url(owner, "medication", entry["id"]), {"content": {"name": "Lithium"}})
    assert (response.status_code, response.headers["ETag"]) == (200, '"2"')


@pytest.mark.parametrize(
    "header",
    [
        "1",  # no quotes
        '"one"',
        '"1", "2"',  # one tag only
        '"-1"',
        '"01"',
        '"' + "9" * 19 + '"',  # no giant numbers
        "",
        'W/"1',
        '"1" junk',
    ],
)
def test_a_malformed_if_match_is_400_and_writes_nothing(
    api: Api, owner: Any, entry: dict[str, Any], header: str
) -> None:
    response = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Lithium"}},
        headers={"If-Match": header},
    )
    body = assert_problem(response, 400, "/problems/malformed-request")
    assert "If-Match" in body["detail"]
    assert revisions_of(entry["id"]) == 1


# -- retire and hide ------------------------------------------------------------------------


def test_retire_and_hide_with_a_stale_revision_are_412(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    api.put(url(owner, "medication", entry["id"]), {"content": {"name": "Methadone", "dose": "1"}})
    stale = {"If-Match": '"1"'}
    retire = api.post(url(owner, "medication", entry["id"], "retire"), headers=stale)
    assert_problem(retire, 412, "/problems/precondition-failed")
    hide = api.post(url(owner, "medication", entry["id"], "hide"), {"hidden": True}, headers=stale)
    assert_problem(hide, 412, "/problems/precondition-failed")
    assert revisions_of(entry["id"]) == 2
    [refusal] = [e for e in events_of(hide) if e.outcome == "denied"]
    assert (refusal.reason, refusal.detail["change"]) == ("stale-revision", "hide")

    current = {"If-Match": '"2"'}
    hidden = api.post(
        url(owner, "medication", entry["id"], "hide"), {"hidden": True}, headers=current
    )
    assert (hidden.status_code, hidden.headers["ETag"]) == (200, '"3"')
    retired = api.post(url(owner, "medication", entry["id"], "retire"), headers={"If-Match": '"3"'})
    assert (retired.status_code, retired.headers["ETag"]) == (200, '"4"')


def test_a_stale_revision_of_a_retired_entry_is_412_not_409(
    api: Api, owner: Any, entry: dict[str, Any]
) -> None:
    api.post(url(owner, "medication", entry["id"], "retire"))
    late = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone"}},
        headers={"If-Match": '"1"'},
    )
    assert_problem(late, 412, "/problems/precondition-failed")
    # Sent with the retired revision's own ETag, the answer says why it cannot change.
    current = api.put(
        url(owner, "medication", entry["id"]),
        {"content": {"name": "Methadone"}},
        headers={"If-Match": '"2"'},
    )
    assert_problem(current, 409, "/problems/conflict")


def test_the_openapi_document_names_if_match_etag_and_412(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    path = spec["paths"]["/api/v1/people/{person_id}/sections/{section}/entries/{entry_id}"]
    put = path["put"]
    assert any(p["in"] == "header" and p["name"] == "If-Match" for p in put["parameters"])
    assert put["responses"]["412"] == {"$ref": "#/components/responses/PreconditionFailed"}
    assert "ETag" in put["responses"]["200"]["headers"]
    problem = spec["components"]["responses"]["PreconditionFailed"]
    assert PROBLEM in problem["content"]


# -- two real writers at once ---------------------------------------------------------------


def _person_with_medicine(app: Any) -> tuple[Any, str, str]:
    with app.app_context():
        person = Factory().person()
        token = Factory().token(person)
        entry = Factory().entry(person, person, Section.MEDICATION, {"name": "Methadone"})
        db.session.remove()
    return person, token, entry.id


def test_two_writers_with_the_same_if_match_over_http_one_wins(fresh_app: Any) -> None:
    person, token, entry_id = _person_with_medicine(fresh_app)
    start = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def write(dose: str) -> None:
        with fresh_app.app_context():
            api = Api(fresh_app.test_client(), token)
            start.wait(30)
            response = api.put(
                url(person, "medication", entry_id),
                {"content": {"name": "Methadone", "dose": dose}},
                headers={"If-Match": '"1"'},
            )
            statuses[dose] = response.status_code
            db.session.remove()

    threads = [threading.Thread(target=write, args=(d,)) for d in ("60 mg", "30 mg")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses.values()) == [200, 412]
    [winner] = [dose for dose, status in statuses.items() if status == 200]
    with fresh_app.app_context():
        assert revisions_of(entry_id) == 2
        passport = Api(fresh_app.test_client(), token).get(f"/api/v1/people/{person.id}/passport")
        assert passport.json["sections"]["medication"][0]["content"]["dose"] == winner
        db.session.remove()


@pytest.mark.parametrize("change", ["revise", "retire"])
def test_the_second_writer_waits_for_the_first_then_is_refused(fresh_app: Any, change: str) -> None:
    """The first writer holds its transaction open: the second waits (it does not finish
    meanwhile), then reads the first one's revision and is refused, writing nothing."""
    person, _, entry_id = _person_with_medicine(fresh_app)
    first_written = threading.Event()
    let_first_commit = threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with fresh_app.app_context():
            revise_entry(
                person,
                person.id,
                Section.MEDICATION,
                entry_id,
                {"name": "Methadone", "dose": "60 mg"},
                expected_revision=1,
            )
            first_written.set()
            let_first_commit.wait(30)
            db.session.commit()
            db.session.remove()

    def second() -> None:
        first_written.wait(30)
        with fresh_app.app_context():
            try:
                if change == "revise":
                    revise_entry(
                        person,
                        person.id,
                        Section.MEDICATION,
                        entry_id,
                        {"name": "Methadone", "dose": "30 mg"},
                        expected_revision=1,
                    )
                else:
                    retire_entry(
                        person, person.id, Section.MEDICATION, entry_id, expected_revision=1
                    )
                db.session.commit()
                outcome["second"] = "saved"
            except PreconditionFailed:
                db.session.commit()  # a refusal commits: its access-log event is kept
                outcome["second"] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_written.wait(30)
    threads[1].join(timeout=1.0)
    assert "second" not in outcome  # it waits for the first writer
    let_first_commit.set()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome == {"second": "refused"}
    with fresh_app.app_context():
        audit.integrate_all()
        assert revisions_of(entry_id) == 2
        refusals = db.session.execute(
            select(AuditEvent).where(AuditEvent.reason == "stale-revision")
        ).scalars()
        assert [e.detail["change"] for e in refusals] == [change]
        db.session.remove()


# -- the pages: the person's and the worker's alike -------------------------------------------

PAGE_STALE = (
    "Someone else changed this after you opened it. Their version is below; copy anything "
    "you need, then save again."
)
PAGE_GONE = "Someone else removed this after you opened it, so it cannot be changed."


def _circle(make: Factory, who: str) -> tuple[Any, Any, Any, Any, str]:
    """(person, the writer on the page, the other writer, the page's signed-in actor, base)."""
    worker = make.staff("caseworker", name="Tom Price")
    person = make.person(registered_by=worker)
    if who == "person":
        return person, person, worker, person, "/me"
    return person, worker, person, worker, f"/people/{person.id}"


def _html(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _latest(person: Any, section: Section, entry_id: str) -> Any:
    opened = writing.open_section(person, person.id, section)
    return opened.entry(entry_id)


@pytest.mark.parametrize("who", ["person", "contributor"])
def test_a_change_form_sent_after_someone_else_changed_the_entry_loses_nothing(
    client: Any, make: Factory, who: str
) -> None:
    person, _, other, me, base = _circle(make, who)
    entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone", "dose": "60 mg"})
    sign_in(client, me)
    form_url = f"{base}/medication/{entry.id}/change"
    opened_form = _html(client.get(form_url))
    assert revision_from(opened_form) == {"revision": "1"}

    # Meanwhile, someone else changes it.
    revise_entry(
        other,
        person.id,
        Section.MEDICATION,
        entry.id,
        {"name": "Methadone", "dose": "40 mg", "notes": "Dose cut at the clinic on Monday"},
    )
    make.commit()

    typed = {"name": "Methadone", "dose": "60 mg", "frequency": "Every morning"}
    sent = client.post(
        form_url, data={**typed, "csrf_token": csrf_from(opened_form), "revision": "1"}
    )
    assert sent.status_code == 200
    html = _html(sent)
    assert PAGE_STALE in html and 'class="govuk-error-summary"' in html
    assert 'href="#their-version"' in html and 'id="their-version"' in html
    # Their version is shown...
    assert "Dose cut at the clinic on Monday" in html and "40 mg" in html
    # ...and everything typed is kept in the form.
    assert 'value="Every morning"' in html and 'name="dose" type="text" value="60 mg"' in html
    # Nothing was overwritten; the refusal is logged.
    latest = _latest(person, Section.MEDICATION, entry.id)
    assert latest.revision == 2 and latest.content["dose"] == "40 mg"
    assert [e.reason for e in events_for(sent, "record.write") if e.outcome == "denied"] == [
        "stale-revision"
    ]
    # The form now carries their revision: saving again, having seen it, applies.
    assert revision_from(html) == {"revision": "2"}
    again = client.post(form_url, data={**typed, "csrf_token": csrf_from(html), "revision": "2"})
    assert again.status_code == 302, _html(again)
    latest = _latest(person, Section.MEDICATION, entry.id)
    assert latest.revision == 3 and latest.content["frequency"] == "Every morning"


def test_a_stale_form_with_a_field_error_shows_both(client: Any, make: Factory) -> None:
    person, _, other, me, base = _circle(make, "person")
    entry = make.entry(person, person, Section.STORY, {"text": "Two hostels."})
    sign_in(client, me)
    form_url = f"{base}/story/{entry.id}/change"
    page = _html(client.get(form_url))
    revise_entry(other, person.id, Section.STORY, entry.id, {"text": "Two hostels, then a flat."})
    make.commit()
    sent = client.post(
        form_url,
        data={"title": "Kept title", "text": "", "csrf_token": csrf_from(page), "revision": "1"},
    )
    html = _html(sent)
    assert sent.status_code == 200
    assert PAGE_STALE in html and "Write something in the story" in html
    assert "Two hostels, then a flat." in html and 'value="Kept title"' in html
    assert _latest(person, Section.STORY, entry.id).revision == 2


def test_a_form_without_the_revision_it_showed_never_saves_over(client: Any, make: Factory) -> None:
    person = make.person()
    entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone"})
    sign_in(client, person)
    form_url = f"/me/medication/{entry.id}/change"
    page = _html(client.get(form_url))
    for revision in ({}, {"revision": "one"}, {"revision": "9" * 40}):
        sent = client.post(
            form_url, data={"name": "Lithium", "csrf_token": csrf_from(page), **revision}
        )
        assert sent.status_code == 200 and PAGE_STALE in _html(sent)
    assert _latest(person, Section.MEDICATION, entry.id).revision == 1


@pytest.mark.parametrize("who", ["person", "contributor"])
def test_a_change_form_sent_after_someone_else_removed_the_entry(
    client: Any, make: Factory, who: str
) -> None:
    person, _, other, me, base = _circle(make, who)
    entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone"})
    sign_in(client, me)
    form_url = f"{base}/medication/{entry.id}/change"
    page = _html(client.get(form_url))
    retire_entry(other, person.id, Section.MEDICATION, entry.id)
    make.commit()
    sent = client.post(
        form_url,
        data={"name": "Methadone", "notes": "Typed notes", "csrf_token": csrf_from(page)}
        | revision_from(page),
    )
    assert sent.status_code == 200
    html = _html(sent)
    assert PAGE_GONE in html and "Typed notes" in html
    assert ">Save<" not in html  # nothing to save it over
    assert _latest(person, Section.MEDICATION, entry.id) is None


@pytest.mark.parametrize("who", ["person", "contributor"])
def test_remove_after_someone_else_changed_it_asks_again(
    client: Any, make: Factory, who: str
) -> None:
    person, _, other, me, base = _circle(make, who)
    entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone"})
    sign_in(client, me)
    remove_url = f"{base}/medication/{entry.id}/remove"
    page = _html(client.get(remove_url))
    revise_entry(other, person.id, Section.MEDICATION, entry.id, {"name": "Buprenorphine"})
    make.commit()
    sent = client.post(remove_url, data={"csrf_token": csrf_from(page), **revision_from(page)})
    assert sent.status_code == 200
    html = _html(sent)
    assert "Someone else changed this after you opened it." in html
    assert "Buprenorphine" in html and 'id="their-version"' in html
    assert _latest(person, Section.MEDICATION, entry.id).status == "current"
    assert [e.detail["change"] for e in events_for(sent) if e.reason == "stale-revision"] == [
        "retire"
    ]
    done = client.post(remove_url, data={"csrf_token": csrf_from(html), **revision_from(html)})
    assert done.status_code == 302
    assert _latest(person, Section.MEDICATION, entry.id) is None


def test_remove_after_someone_else_removed_it_says_so(client: Any, make: Factory) -> None:
    person, _, other, me, base = _circle(make, "contributor")
    entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone"})
    sign_in(client, me)
    remove_url = f"{base}/medication/{entry.id}/remove"
    page = _html(client.get(remove_url))
    retire_entry(other, person.id, Section.MEDICATION, entry.id)
    make.commit()
    sent = client.post(remove_url, data={"csrf_token": csrf_from(page), **revision_from(page)})
    assert sent.status_code == 302
    assert "Someone else removed this already." in _html(client.get(sent.headers["Location"]))


@pytest.mark.parametrize(
    ("who", "section", "content", "key"),
    [
        ("person", Section.MEDICATION, {"name": "Methadone"}, "stopped_on"),
        ("contributor", Section.MEDICATION, {"name": "Methadone"}, "stopped_on"),
        ("person", Section.WORKERS, {"name": "Amara Okafor"}, "until"),
        ("contributor", Section.WORKERS, {"name": "Amara Okafor"}, "until"),
    ],
)
def test_stop_or_mark_as_left_after_someone_else_changed_it(
    client: Any, make: Factory, who: str, section: Section, content: dict[str, Any], key: str
) -> None:
    person, _, other, me, base = _circle(make, who)
    entry = make.entry(person, person, section, content)
    sign_in(client, me)
    end_url = f"{base}/{section.value}/{entry.id}/end"
    page = _html(client.get(end_url))
    theirs = {**content, "phone": "07700 900456"} if section is Section.WORKERS else content
    if section is Section.MEDICATION:
        theirs = {**content, "dose": "20 mg"}
    revise_entry(other, person.id, section, entry.id, theirs)
    make.commit()
    day = {f"{key}-day": "2", f"{key}-month": "11", f"{key}-year": "2026"}
    sent = client.post(end_url, data={**day, "csrf_token": csrf_from(page), **revision_from(page)})
    assert sent.status_code == 200
    html = _html(sent)
    assert PAGE_STALE in html
    assert ("20 mg" if section is Section.MEDICATION else "07700 900456") in html
    assert 'value="11"' in html and 'value="2026"' in html  # the day typed is kept
    latest = _latest(person, section, entry.id)
    assert latest.revision == 2 and key not in latest.content
    done = client.post(end_url, data={**day, "csrf_token": csrf_from(html), **revision_from(html)})
    assert done.status_code == 302
    latest = _latest(person, section, entry.id)
    assert latest.revision == 3 and latest.content[key] == "2026-11-02"
    assert {k: latest.content[k] for k in theirs} == theirs  # their change is kept
