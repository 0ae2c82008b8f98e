"""Bad input is a 4xx in plain words, never a 500: one test per class of input that a fuzzing
review found crashing the API (issue 12, item 6)."""

from __future__ import annotations

import pytest

DEEP = "[" * 1000 + "]" * 1000
HUGE = "9" * 5000


@pytest.fixture
def jess(make):
    return make.person()


def _story(person):
    return f"/api/v1/people/{person.id}/sections/story/entries"


def _assert_malformed(response, words):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "/problems/malformed-request"
    assert words in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_json_nested_a_thousand_deep_is_refused_even_without_a_token(client):
    response = client.post("/api/v1/people", data=DEEP, content_type="application/json")
    _assert_malformed(response, "nested too deeply")


def test_json_nested_a_thousand_deep_is_refused_with_a_token(api_as, jess):
    response = api_as(jess).post(_story(jess), data=DEEP, content_type="application/json")
    _assert_malformed(response, "nested too deeply")


def test_json_deeper_than_any_payload_but_parseable_is_refused(api_as, jess):
    body = '{"content": ' + "[" * 40 + "]" * 40 + "}"
    response = api_as(jess).post(_story(jess), data=body, content_type="application/json")
    _assert_malformed(response, "more than 32 levels")


def test_a_lone_surrogate_in_sealed_text_is_refused_and_nothing_is_stored(api_as, jess):
    api = api_as(jess)
    body = '{"content": {"text": "before \\ud800 after"}}'
    response = api.post(_story(jess), data=body, content_type="application/json")
    _assert_malformed(response, "not valid Unicode")
    passport = api.get(f"/api/v1/people/{jess.id}/passport").get_json()
    assert passport["sections"]["story"] == []


def test_a_lone_surrogate_in_a_key_is_refused(api_as, jess):
    body = '{"content": {"\\udfff": "x"}}'
    response = api_as(jess).post(_story(jess), data=body, content_type="application/json")
    _assert_malformed(response, "not valid Unicode")


def test_a_proper_surrogate_pair_is_kept(api_as, jess):
    api = api_as(jess)
    body = '{"content": {"text": "a hug \\ud83e\\udd17"}}'
    response = api.post(_story(jess), data=body, content_type="application/json")
    assert response.status_code == 201
    assert response.get_json()["content"]["text"] == "a hug \U0001f917"


def test_a_five_thousand_digit_integer_is_refused(api_as, jess):
    body = '{"content": {"flags": [], "ndt": {"housing": ' + HUGE + "}}}"
    response = api_as(jess).post(
        f"/api/v1/people/{jess.id}/sections/risk/entries",
        data=body,
        content_type="application/json",
    )
    _assert_malformed(response, "number too long")


def test_ordinary_malformed_json_is_still_a_plain_400(api_as, jess):
    response = api_as(jess).post(_story(jess), data='{"content": ', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["detail"] == "the request body is not valid JSON"


def test_since_without_a_timezone_is_read_as_utc(api_as, jess):
    api = api_as(jess)
    api.post(_story(jess), json={"content": {"text": "written today"}})
    early = api.get(f"/api/v1/people/{jess.id}/history?since=2000-01-01T00:00:00")
    assert early.status_code == 200
    assert any(i["section"] == "story" for i in early.get_json()["items"])
    late = api.get(f"/api/v1/people/{jess.id}/history?since=2999-01-01T00:00:00")
    assert late.status_code == 200
    assert late.get_json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "after_seq=99999999999999999999999",
        "limit=99999999999999999999999",
        "after_seq=" + HUGE,
        "since=9999-12-31T23:59:59Z&until=99999-01-01",
    ],
)
def test_overflowing_log_parameters_are_422(make, api_as, query):
    dpo = make.staff("dpo", scheme_wide=True)
    response = api_as(dpo).get(f"/api/v1/audit/events?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["type"] == "/problems/validation-error"


def test_an_overflowing_access_log_cursor_is_422(api_as, jess):
    response = api_as(jess).get(
        f"/api/v1/people/{jess.id}/access-log?before_seq=99999999999999999999999"
    )
    assert response.status_code == 422


def test_a_nul_character_is_refused_before_postgresql_sees_it(api_as, jess):
    """PostgreSQL cannot store NUL in text: a username with one was a 500 there."""
    body = '{"name": "Ann", "username": "ann\\u0000x", "access": "view"}'
    response = api_as(jess).post(
        f"/api/v1/people/{jess.id}/representatives", data=body, content_type="application/json"
    )
    _assert_malformed(response, "NUL character")
    listed = api_as(jess).get(f"/api/v1/people/{jess.id}/representatives").get_json()
    assert listed["items"] == []


def test_a_username_is_looked_up_without_its_nul_characters(client):
    from passport.identity.accounts import find_account, normalise_username

    assert normalise_username(" Ann\x00 ") == "ann"
    assert find_account("nobody\x00") is None  # no DataError on PostgreSQL
