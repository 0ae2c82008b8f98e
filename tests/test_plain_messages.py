"""Plain messages everywhere (issue 14, item 5): every form on the pages says what to do, all
at once, in page order, in the error summary and on the field, in English and Welsh; no
validator wording reaches a page; admin names are bounded and duplicates refused; dates are
day/month/year inputs that keep what was typed. The messages come from passport.web.plain."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from passport import db
from passport.consent.emergency import open_emergency
from passport.errors import Conflict, Invalid
from passport.identity.accounts import AGENCY_NAME_MAX, add_agency, add_staff
from passport.identity.actor import SYSTEM
from passport.identity.models import Agency, Staff
from passport.mdt import operations
from passport.mdt.models import Forum
from passport.records.disputed import NOTES_MAX
from passport.web import plain

from .factories import PASSWORD, Factory, forum, forum_member
from .test_web_disputes import _say_wrong, w  # noqa: F401 (w is a fixture)
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code

# marshmallow's default messages, and our domain's written like them: none may reach a page.
VALIDATOR_WORDING = [
    "Missing data for required field",
    "Field may not be null",
    "Length must be",
    "Longer than maximum length",
    "Shorter than minimum length",
    "Must be one of",
    "Must be equal to",
    "Not a valid",
    "Must not be empty",
    "Unknown field",
    "Invalid value",
    "Must be greater",
    "Must be less",
    "Unknown agency",
    "Give at least one",
    "Name at least one",
    "cannot be formatted",
    "String does not match",
    "One or more of the choices",
]
TODAY = date.today()


def summary(page: str) -> list[tuple[str, str]]:
    """The error summary: (the id each message links to, the message), in order."""
    found = re.search(r'govuk-error-summary__list">(.*?)</ul>', page, re.S)
    if not found:
        return []
    return [
        (href, html_lib.unescape(text).strip())
        for href, text in re.findall(r'<a href="#([^"]+)">(.*?)</a>', found.group(1), re.S)
    ]


def on_fields(page: str) -> dict[str, str]:
    """The messages beside the fields, by the id of their field."""
    out = {}
    for field_id, text in re.findall(
        r'<p id="([^"]+)-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">[^<]*</span>(.*?)</p>',
        page,
        re.S,
    ):
        out[field_id] = html_lib.unescape(text).strip()
    return out


def assert_plain(page: str, expected_ids: list[str]) -> list[str]:
    """Every error at once, in page order, each also on its field, in plain words."""
    listed = summary(page)
    assert [href for href, _ in listed] == expected_ids, listed
    fields = on_fields(page)
    for href, text in listed:
        # A date's error sits on its fieldset (id "<name>"), linked to the day box.
        field = href.removesuffix("-day") if href.endswith("-day") else href
        assert fields.get(field) == text, (href, text, fields)
        assert text and text[0].isupper(), text
    for words in VALIDATOR_WORDING:
        assert words not in page, words
    # The fields come in the same order on the page as in the summary.
    positions = [page.index(f'id="{href}"') for href in expected_ids if f'id="{href}"' in page]
    assert positions == sorted(positions)
    return [text for _, text in listed]


def in_both_languages(
    client: FlaskClient, page_path: str, send: Callable[[], Any], expected_ids: list[str]
) -> None:
    """The same refusal in English and in Welsh: the same fields, in the same order, and none
    of the English sentences left on the Welsh page."""
    # The test client shares one app context, on which Flask-Babel caches the language.
    refresh()
    english_page = send().get_data(as_text=True)
    english = assert_plain(english_page, expected_ids)
    refresh()
    client.get(page_path + ("&" if "?" in page_path else "?") + "lang=cy")
    refresh()
    welsh_page = send().get_data(as_text=True)
    assert '<html lang="cy"' in welsh_page
    welsh = assert_plain(welsh_page, expected_ids)
    for sentence in english:
        assert sentence not in welsh, sentence
    refresh()
    client.get(page_path + ("&" if "?" in page_path else "?") + "lang=en")
    refresh()


# -- the one place: validator messages in plain words ---------------------------------------


SPEC = plain.Field("name", "Name", required="Enter a name", max_length=200)


@pytest.mark.parametrize(
    ("message", "value", "expected"),
    [
        ("Missing data for required field.", None, "Enter a name"),
        ("Field may not be null.", None, "Enter a name"),
        ("Must not be empty.", "", "Enter a name"),
        ("Longer than maximum length 200.", "x" * 201, "Name must be 200 characters or fewer"),
        (
            "Length must be between 1 and 20000.",
            "x" * 20001,
            "Name must be 20000 characters or fewer",
        ),
        ("Length must be between 1 and 20000.", "", "Enter a name"),
        ("Shorter than minimum length 10.", "short", "Name must be 10 characters or more"),
        ("Must be one of: housing, health, mental_health.", "x", "Choose name from the list"),
        (
            "Not a valid email address.",
            "x",
            "Enter an email address in the correct format, like name@example.com",
        ),
        ("Not a valid date.", "x", "Name must be a real date, for example 27 3 2027"),
        ("Not a valid integer.", "x", "Name must be a whole number"),
        (
            "Must be between 2026-01-01 and 2026-12-31.",
            "x",
            "Name must be between 1 January 2026 and 31 December 2026",
        ),
        ("Something nobody foresaw.", "x", "Check name"),
    ],
)
def test_validator_messages_become_plain_sentences(
    ctx: Flask, message: str, value: str | None, expected: str
) -> None:
    with ctx.test_request_context("/"):
        assert plain.sentence(SPEC, message, value) == expected


def test_errors_come_in_page_order_whatever_order_they_were_found(ctx: Flask) -> None:
    with ctx.test_request_context("/"):
        check = plain.Check(
            [plain.Field("a", "A", required="Enter A"), plain.Field("b", "B", kind="date")]
        )
        check.add("b", "Second")
        check.add("form", "About the whole form")
        check.add("a", "First")
        check.add("a", "Not kept: one message a field")
        assert list(check.errors.items()) == [
            ("form", "About the whole form"),
            ("a", "First"),
            ("b-day", "Second"),
        ]


def test_a_domain_refusal_is_put_on_its_field_in_plain_words(ctx: Flask) -> None:
    with ctx.test_request_context("/"):
        check = plain.Check(
            [SPEC, plain.Field("kind", "Kind", kind="choice", choose="Choose a kind")]
        )
        check.invalid(
            Invalid(
                "no",
                {
                    "kind": ["Must be one of: housing, health."],
                    "content.name": ["Longer than maximum length 200."],
                },
            )
        )
        assert check.errors == {
            "name": "Name must be 200 characters or fewer",
            "kind": "Choose a kind",
        }


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    day=st.text(max_size=6) | st.integers(-5, 40).map(str),
    month=st.text(max_size=6) | st.integers(-5, 15).map(str),
    year=st.text(max_size=8) | st.integers(-10, 99999).map(str),
)
def test_a_date_input_is_a_day_or_a_plain_error_and_keeps_what_was_typed(
    ctx: Flask, day: str, month: str, year: str
) -> None:
    with ctx.test_request_context("/"):
        spec = plain.Field("held_on", "Date of the meeting", kind="date", required="Enter the date")
        check = plain.Check([spec])
        typed = {"held_on-day": day, "held_on-month": month, "held_on-year": year}
        value = check.date(typed, "held_on", first=date(2000, 1, 1), last=date(2100, 1, 1))
        for part in ("day", "month", "year"):
            assert check.values[f"held_on-{part}"] == typed[f"held_on-{part}"].strip()
        if value is None:
            assert list(check.errors) == ["held_on-day"]
            assert check.errors["held_on-day"].startswith(("Enter the date", "Date of the meeting"))
        else:
            assert check.ok and date(2000, 1, 1) <= value <= date(2100, 1, 1)
            assert (value.day, value.month, value.year) == (int(day), int(month), int(year))


# -- admin: limits and duplicates ----------------------------------------------------------


@pytest.fixture
def admin(client: FlaskClient, make: Factory) -> Any:
    actor = make.staff("admin")
    sign_in_with_code(client, actor)
    return actor


def test_agency_form_errors_at_once_in_order_in_both_languages(
    client: FlaskClient, admin: Any
) -> None:
    def send() -> Any:
        return post_form(client, "/admin", {"name": "", "kind": "nonsense"})

    in_both_languages(client, "/admin", send, ["name", "kind"])
    too_long = post_form(client, "/admin", {"name": "x" * 100_000, "kind": "housing"})
    page = too_long.get_data(as_text=True)
    assert assert_plain(page, ["name"]) == ["Name must be 100 characters or fewer"]
    assert "Up to 100 characters." in page  # the hint states the rule
    assert 'value="x' in page  # what was typed is kept


def test_duplicate_agency_names_are_refused_whatever_the_case_or_spacing(
    client: FlaskClient, admin: Any, make: Factory
) -> None:
    make.agency("Riverside Housing First", "housing")
    before = db.session.scalar(select(func.count()).select_from(Agency))
    page = post_form(
        client, "/admin", {"name": "  riverside   HOUSING first ", "kind": "housing"}
    ).get_data(as_text=True)
    assert assert_plain(page, ["name"])[0].startswith("There is already an agency with this name")
    assert db.session.scalar(select(func.count()).select_from(Agency)) == before
    with pytest.raises(Conflict):
        add_agency(SYSTEM, "RIVERSIDE HOUSING FIRST", "health")
    with pytest.raises(Invalid) as long_name:
        add_agency(SYSTEM, "x" * (AGENCY_NAME_MAX + 1), "housing")
    assert long_name.value.errors == {"name": ["Longer than maximum length 100."]}
    added = post_form(client, "/admin", {"name": "Riverside Housing Second", "kind": "housing"})
    assert added.status_code == 302  # the control: a different name is fine


def test_agency_add_on_the_command_line_refuses_a_duplicate(fresh_app: Flask) -> None:
    runner = CliRunner()
    cli = fresh_app.cli
    first = runner.invoke(cli, ["agency", "add", "Hope Housing", "--kind", "housing"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, ["agency", "add", "hope  housing", "--kind", "housing"])
    assert again.exit_code != 0 and "already an agency called" in again.output
    long = runner.invoke(cli, ["agency", "add", "x" * 101, "--kind", "housing"])
    assert long.exit_code != 0 and "Longer than maximum length 100" in long.output


def test_staff_form_errors_at_once_in_order_with_hints_that_match(
    client: FlaskClient, admin: Any
) -> None:
    def send() -> Any:
        return post_form(
            client,
            "/admin/staff",
            {
                "username": "u" * 101,
                "name": "n" * 101,
                "password": "short",
                "agency_id": "not-an-agency",
                "scheme_wide": "yes",
            },
        )

    in_both_languages(
        client,
        "/admin/staff",
        send,
        ["username", "name", "password", "agency_id", "roles", "scheme_wide"],
    )
    page = send().get_data(as_text=True)
    assert "Password must be" not in page
    assert "First password must be 10 characters or more" in page
    assert "At least 10 characters." in page  # the hint is the rule
    assert db.session.scalar(select(Staff).where(Staff.name == "n" * 101)) is None
    with pytest.raises(Invalid):
        add_staff(
            SYSTEM,
            username="fine",
            password=PASSWORD,
            agency_id=admin.agency_id,
            roles=["caseworker"],
            name="n" * 101,
        )


def test_duplicate_and_overlong_forum_names_are_refused_on_the_page_and_the_api(
    client: FlaskClient, admin: Any, make: Factory, api_as: Any
) -> None:
    housing = make.agency("Hillside Housing", "housing")
    forum("Riverside MDT", [housing])

    def send() -> Any:
        return post_form(client, "/admin/forums", {"form": "forum", "name": ""})

    in_both_languages(client, "/admin/forums", send, ["name", "agency_ids"])
    same = post_form(
        client,
        "/admin/forums",
        {"form": "forum", "name": "riverside  mdt", "agency_ids": [housing.id]},
    ).get_data(as_text=True)
    assert assert_plain(same, ["name"])[0].startswith("There is already an MDT forum")
    assert f'value="{housing.id}" checked' in same  # the ticked agencies are kept
    api = api_as(admin)
    assert (
        api.post(
            "/api/v1/mdts", json={"name": "RIVERSIDE MDT", "agency_ids": [housing.id]}
        ).status_code
        == 409
    )
    assert (
        api.post("/api/v1/mdts", json={"name": "x" * 101, "agency_ids": [housing.id]}).status_code
        == 422
    )
    assert db.session.scalar(select(func.count()).select_from(Forum)) == 1
    with pytest.raises(Invalid):
        operations.create_forum(admin, "x" * 101, [housing.id])


# -- MDT: meeting and action dates -----------------------------------------------------------


@pytest.fixture
def mdt(client: FlaskClient, make: Factory) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    board = forum("Riverside MDT", [housing])
    forum_member(board, chair, "chair")
    meeting = operations.create_meeting(chair, board.id, TODAY, "December", [])
    make.commit()
    sign_in(client, chair)
    return {"forum": board, "meeting": meeting, "chair": chair}


def test_meeting_form_date_input_round_trips_and_errors_in_order(
    client: FlaskClient, mdt: dict[str, Any]
) -> None:
    path = f"/mdt/forums/{mdt['forum'].id}"
    form = {"held_on-day": "31", "held_on-month": "2", "held_on-year": "2027", "title": "t" * 201}

    def send() -> Any:
        return post_form(client, path, form)

    in_both_languages(client, path, send, ["held_on-day", "title"])
    page = send().get_data(as_text=True)
    for name, value in (("day", "31"), ("month", "2"), ("year", "2027")):
        assert f'name="held_on-{name}" type="text" value="{value}"' in page
    assert "Date of the meeting must be a real date" in page
    old = post_form(
        client, path, {"held_on-day": "1", "held_on-month": "1", "held_on-year": "1900"}
    )
    assert "Date of the meeting must be between" in old.get_data(as_text=True)
    soon = TODAY + timedelta(days=10)
    made = post_form(
        client,
        path,
        {
            "held_on-day": str(soon.day),
            "held_on-month": str(soon.month),
            "held_on-year": str(soon.year),
        },
    )
    assert made.status_code == 302


def test_action_form_errors_at_once_in_order_and_no_past_due_date(
    client: FlaskClient, mdt: dict[str, Any]
) -> None:
    path = f"/mdt/meetings/{mdt['meeting'].id}/actions/new"

    def send() -> Any:
        return post_form(client, path, {"text": "x" * 2001, "due_on-day": "3"})

    in_both_languages(client, path, send, ["person_id", "owner_staff_id", "text", "due_on-day"])
    page = send().get_data(as_text=True)
    assert "The date it is due must include a day, a month and a year" in page
    assert 'name="due_on-day" type="text" value="3"' in page
    past = TODAY - timedelta(days=1)
    late = post_form(
        client,
        path,
        {
            "due_on-day": str(past.day),
            "due_on-month": str(past.month),
            "due_on-year": str(past.year),
        },
    ).get_data(as_text=True)
    assert "The date it is due must be today or in the future" in late


# -- the DPO's pages -----------------------------------------------------------------------


@pytest.fixture
def dpo_scene(client: FlaskClient, make: Factory) -> dict[str, Any]:
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    dpo = make.staff("dpo", agency=agency)
    person = make.person()
    access = open_emergency(worker, person.id, "Collapsed at the day centre, unresponsive", 4)
    make.commit()
    sign_in_with_code(client, dpo)
    return {"access": access}


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        (
            "person_id=nonsense&action=record.nonsense&since-day=99&since-month=1&since-year=2026",
            ["person_id", "action", "since-day"],
        ),
        ("until-day=1&until-month=1&until-year=9999&actor_id=1", ["actor_id", "until-day"]),
        ("since=9999-12-31&until=2026-02-30", ["since-day", "until-day"]),
        (
            "since-day=3&since-month=3&since-year=2026&until-day=2&until-month=3&until-year=2026",
            ["until-day"],
        ),
        ("after=99999999999999999999999", ["after"]),
        ("before=-1", ["before"]),
    ],
)
def test_log_filters_are_bounded_and_named_on_the_form(
    client: FlaskClient, dpo_scene: dict[str, Any], query: str, ids: list[str]
) -> None:
    path = f"/dpo/log?{query}"
    refresh()
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    listed = summary(page)
    assert [href for href, _ in listed] == ids
    assert "No events match." in page  # nothing was searched
    for words in VALIDATOR_WORDING:
        assert words not in page
    refresh()
    welsh = client.get(path + "&lang=cy").get_data(as_text=True)
    assert [href for href, _ in summary(welsh)] == ids
    assert not {t for _, t in listed} & {t for _, t in summary(welsh)}
    refresh()
    client.get("/dpo/log?lang=en")
    refresh()


def test_log_date_filters_round_trip_and_search(
    client: FlaskClient, dpo_scene: dict[str, Any]
) -> None:
    week_ago = TODAY - timedelta(days=7)
    query = f"since-day={week_ago.day}&since-month={week_ago.month}&since-year={week_ago.year}"
    page = client.get(f"/dpo/log?{query}").get_data(as_text=True)
    assert "There is a problem" not in page and "<td" in page
    assert f'name="since-day" type="text" value="{week_ago.day}"' in page
    assert f'name="since-year" type="text" value="{week_ago.year}"' in page
    # Older links (since=YYYY-MM-DD) still read, shown in the three boxes.
    old = client.get(f"/dpo/log?since={week_ago.isoformat()}").get_data(as_text=True)
    assert "There is a problem" not in old
    assert f'name="since-month" type="text" value="{week_ago.month}"' in old


def test_review_form_errors_in_order_in_both_languages(
    client: FlaskClient, dpo_scene: dict[str, Any]
) -> None:
    path = f"/dpo/emergency/{dpo_scene['access'].id}"

    def send() -> Any:
        return post_form(client, path, {"outcome": "maybe", "notes": "n" * 2001})

    in_both_languages(client, path, send, ["outcome", "notes"])
    assert "Notes must be 2000 characters or fewer" in send().get_data(as_text=True)


# -- caseworkers: emergency, registration ----------------------------------------------------


def test_emergency_forms_say_what_to_do(client: FlaskClient, make: Factory) -> None:
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency)
    person = make.person()
    sign_in(client, worker)
    path = f"/people/{person.id}/emergency"

    def reason() -> Any:
        return post_form(client, path, {"reason": "help"})

    in_both_languages(client, path, reason, ["reason"])
    page = reason().get_data(as_text=True)
    assert "Say why this is an emergency, in at least 10 characters" in page
    assert "in 10 to 2000 characters" in page  # the hint is the rule

    def search() -> Any:
        return post_form(
            client,
            "/emergency/find",
            {
                "name": "",
                "date_of_birth-day": "14",
                "date_of_birth-month": "3",
                "date_of_birth-year": "2999",
            },
        )

    in_both_languages(client, "/emergency/find", search, ["name", "date_of_birth-day"])
    kept = search().get_data(as_text=True)
    assert "Their date of birth must be in the past" in kept
    assert 'name="date_of_birth-year" type="text" value="2999"' in kept


def test_registration_name_step_errors_at_once_and_keeps_the_date(
    client: FlaskClient, make: Factory
) -> None:
    worker = make.staff("caseworker")
    sign_in(client, worker)
    page = client.get("/people/register").get_data(as_text=True)

    def send() -> Any:
        return client.post(
            "/people/register",
            data={
                "csrf_token": csrf_from(page),
                "step": "name",
                "name": "",
                "preferred_name": "p" * 201,
                "date_of_birth-day": "3",
                "date_of_birth-month": "13",
                "date_of_birth-year": "1983",
            },
        )

    in_both_languages(
        client, "/people/register", send, ["name", "preferred_name", "date_of_birth-day"]
    )
    kept = send().get_data(as_text=True)
    assert "Date of birth must be a real date" in kept
    assert 'name="date_of_birth-month" type="text" value="13"' in kept


# -- the person's own forms -------------------------------------------------------------------


def test_an_entry_form_errors_at_once_in_page_order(client: FlaskClient, make: Factory) -> None:
    jess = make.person()
    sign_in(client, jess)
    path = "/me/medication/new"

    def send() -> Any:
        return post_form(
            client,
            path,
            {
                "name": "",
                "dose": "d" * 201,
                "started_on-day": "31",
                "started_on-month": "2",
                "started_on-year": "2026",
                "stopped_on-day": "1",
            },
        )

    in_both_languages(client, path, send, ["name", "dose", "started_on-day", "stopped_on-day"])


# -- no validator wording on any form ----------------------------------------------------------


def test_no_form_shows_validator_wording_for_empty_huge_or_wrong_values(
    client: FlaskClient, make: Factory, mdt: dict[str, Any]
) -> None:
    """Every form a chair, an admin and a person can reach, sent empty, huge and wrong
    values: every answer is a page (never a 500) with no validator wording on it."""
    forms = {
        f"/mdt/forums/{mdt['forum'].id}": [
            "held_on",
            "held_on-day",
            "held_on-month",
            "held_on-year",
            "title",
        ],
        f"/mdt/meetings/{mdt['meeting'].id}": ["person_id"],
        f"/mdt/meetings/{mdt['meeting'].id}/actions/new": [
            "person_id",
            "owner_staff_id",
            "text",
            "due_on",
            "due_on-day",
            "due_on-month",
            "due_on-year",
        ],
    }
    values = ["", " ", "x" * 30_000, "99999999999999999999999", "-1", "9999-12-31", "<b>x</b>"]

    def scan(client: FlaskClient, path: str, names: list[str], extra: dict[str, str]) -> None:
        for value in values:
            response = post_form(client, path, {**extra, **{n: value for n in names}})
            assert response.status_code < 500, (path, value)
            page = response.get_data(as_text=True)
            for words in VALIDATOR_WORDING:
                assert words not in page, (path, value, words)

    for path, names in forms.items():
        scan(client, path, names, {})
    post_form(client, "/logout", {}, page="/mdt")
    admin = make.staff("admin")
    sign_in_with_code(client, admin)
    scan(client, "/admin", ["name", "kind"], {})
    scan(client, "/admin/staff", ["username", "name", "password", "agency_id", "roles"], {})
    scan(client, "/admin/forums", ["name", "agency_ids"], {"form": "forum"})
    scan(client, "/admin/forums", ["forum_id", "staff_id", "role"], {"form": "member"})
    post_form(client, "/logout", {}, page="/admin")
    jess = make.person()
    sign_in(client, jess)
    for section, names in {
        "profile": [
            "name",
            "preferred_name",
            "pronouns",
            "date_of_birth-day",
            "date_of_birth-year",
        ],
        "story": ["title", "text", "occurred_on-day", "occurred_on-month", "occurred_on-year"],
        "risk": ["flags-0-kind", "flags-0-level", "flags-0-detail", "summary", "ndt-housing"],
        "medication": ["name", "dose", "started_on-day", "started_on-month", "started_on-year"],
        "workers": ["name", "email", "phone", "agency_id", "staff_id", "since-day"],
        "preferences": ["contact-0-method", "contact-0-detail", "interpreter", "goals"],
    }.items():
        scan(client, f"/me/{section}/new", names, {})


def test_the_set_up_page_says_every_problem_at_once(client: FlaskClient) -> None:
    def send() -> Any:
        return post_form(client, "/account/setup", {"password": "short"})

    in_both_languages(client, "/account/setup", send, ["username", "setup_code", "password"])
    page = send().get_data(as_text=True)
    assert "at least 10 letters, numbers or spaces" in page
    assert "At least 10 letters, numbers or spaces" in page  # the hint is the rule
    differ = post_form(
        client,
        "/account/setup",
        {
            "username": "jess",
            "setup_code": "ACDE-FGHJ",
            "password": "a" * 12,
            "password_confirm": "b",
        },
    ).get_data(as_text=True)
    assert [href for href, _ in summary(differ)] == ["password_confirm"]


def test_the_dispute_answer_says_every_problem_at_once(w: dict[str, Any]) -> None:  # noqa: F811
    """The author's agency answers "it is wrong": a bad choice and overlong notes together."""
    _say_wrong(w, restrict=False)
    amara = w["clients"]["amara"]
    answer = f"/people/{w['jess'].id}/entries/{w['entry'].id}/answer"

    def send() -> Any:
        return post_form(amara, answer, {"outcome": "maybe", "notes": "n" * (NOTES_MAX + 1)})

    in_both_languages(amara, answer, send, ["outcome", "notes"])
    page = send().get_data(as_text=True)
    assert f"Notes for the person must be {NOTES_MAX} characters or fewer" in page
    assert f"Up to {NOTES_MAX} characters." in page  # the hint is the rule
