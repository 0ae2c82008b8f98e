"""Sign-in throttling: counted per (address, username), per username and per address, and
only real failures count. One guesser behind a hostel's shared address cannot lock out the
other residents; a 429 is never a failure, so hammering a locked form extends nothing; and
guessing one account from many addresses is still stopped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from passport.web.auth import DEFAULT_LIMITS, failed, limiter

from .factories import PASSWORD, Factory
from .web_helpers import csrf_from, username_of

HOSTEL = "203.0.113.7"  # one address for everyone staying there


@pytest.fixture(autouse=True)
def fresh_counts(ctx: Flask) -> Iterator[None]:
    limiter.reset()
    saved = {name: ctx.config[name] for name in DEFAULT_LIMITS}
    yield
    ctx.config.update(saved)
    limiter.reset()


def attempt(client: FlaskClient, username: str, password: str, address: str) -> Any:
    """One sign-in through the real form, from `address`."""
    environ = {"REMOTE_ADDR": address}
    html = client.get("/login", environ_base=environ).get_data(as_text=True)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(html)},
        environ_base=environ,
    )


def guess(ctx: Flask, username: str, address: str, times: int) -> list[int]:
    guesser = ctx.test_client()
    return [
        attempt(guesser, username, "a-wrong-guess-123", address).status_code for _ in range(times)
    ]


def test_the_defaults(ctx: Flask) -> None:
    assert ctx.config["WEB_LOGIN_PAIR_LIMIT"] == "5 per 15 minutes"
    assert ctx.config["WEB_LOGIN_LIMIT"] == "10 per 15 minutes"
    assert ctx.config["WEB_LOGIN_ADDRESS_LIMIT"] == "100 per 15 minutes"


def test_a_guesser_at_the_hostel_does_not_lock_out_the_others(ctx: Flask, make: Factory) -> None:
    target, neighbour = make.person(), make.person()
    statuses = guess(ctx, username_of(target), HOSTEL, 30)
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    # Another resident, same address, signs in straight away.
    response = attempt(ctx.test_client(), username_of(neighbour), PASSWORD, HOSTEL)
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    # The guessed account is only locked for that address: its owner elsewhere gets in.
    away = attempt(ctx.test_client(), username_of(target), PASSWORD, "198.51.100.20")
    assert away.status_code == 302


def test_the_locked_pair_stays_locked_even_with_the_right_password(
    ctx: Flask, make: Factory
) -> None:
    target = make.person()
    guess(ctx, username_of(target), HOSTEL, 5)
    response = attempt(ctx.test_client(), username_of(target), PASSWORD, HOSTEL)
    assert response.status_code == 429
    assert "Too many tries" in response.get_data(as_text=True)


def test_throttled_attempts_are_not_counted(ctx: Flask, make: Factory) -> None:
    # Small limits make the point quickly: a pair is locked after 3, the address after 6.
    ctx.config.update(
        WEB_LOGIN_PAIR_LIMIT="3 per 15 minutes",
        WEB_LOGIN_LIMIT="4 per 15 minutes",
        WEB_LOGIN_ADDRESS_LIMIT="6 per 15 minutes",
    )
    target, neighbour = make.person(), make.person()
    statuses = guess(ctx, username_of(target), HOSTEL, 40)
    assert statuses.count(200) == 3 and statuses.count(429) == 37
    # Had the 37 refusals counted, the address (6) and the username (4) would be locked.
    assert attempt(ctx.test_client(), username_of(neighbour), PASSWORD, HOSTEL).status_code == 302
    elsewhere = attempt(ctx.test_client(), username_of(target), PASSWORD, "198.51.100.20")
    assert elsewhere.status_code == 302


def test_the_per_username_limit_holds_across_addresses(ctx: Flask, make: Factory) -> None:
    target = make.person()
    # Ten addresses, one wrong guess each: no pair is near its limit...
    for n in range(10):
        assert guess(ctx, username_of(target), f"192.0.2.{n + 1}", 1) == [200]
    # ...but the account has had its 10: from an eleventh address, even the right
    # password waits.
    response = attempt(ctx.test_client(), username_of(target), PASSWORD, "192.0.2.99")
    assert response.status_code == 429
    # Other accounts are not touched.
    other = make.person()
    assert attempt(ctx.test_client(), username_of(other), PASSWORD, "192.0.2.99").status_code == 302


def test_spraying_many_accounts_from_one_address_meets_the_ceiling(
    ctx: Flask, make: Factory
) -> None:
    ctx.config.update(WEB_LOGIN_ADDRESS_LIMIT="4 per 15 minutes")
    people = [make.person() for _ in range(5)]
    for person in people[:4]:
        assert guess(ctx, username_of(person), HOSTEL, 1) == [200]
    assert attempt(ctx.test_client(), username_of(people[4]), PASSWORD, HOSTEL).status_code == 429
    # The ceiling is the address's: the same person elsewhere signs in.
    assert (
        attempt(ctx.test_client(), username_of(people[4]), PASSWORD, "198.51.100.9").status_code
        == 302
    )


def test_only_wrong_passwords_count_not_empty_forms(ctx: Flask, make: Factory) -> None:
    target = make.person()
    client = ctx.test_client()
    for _ in range(12):  # a form sent without a password: asked again, never counted
        assert attempt(client, username_of(target), "", HOSTEL).status_code == 200
    assert attempt(client, username_of(target), PASSWORD, HOSTEL).status_code == 302


def test_a_success_does_not_count(ctx: Flask, make: Factory) -> None:
    target = make.person()
    for _ in range(12):
        browser = ctx.test_client()
        assert attempt(browser, username_of(target), PASSWORD, HOSTEL).status_code == 302


def test_the_shared_rule_for_other_throttled_forms() -> None:
    # Second-factor codes and a person's passphrase on a worker's device use this rule.
    assert failed(Response(status=200)) is True  # the form again, with an error
    assert failed(Response(status=422)) is True
    assert failed(Response(status=302)) is False  # it worked
    assert failed(Response(status=429)) is False  # refused by the throttle: not a failure


def test_wrong_second_factor_codes_are_throttled(ctx: Flask, make: Factory) -> None:
    import pyotp

    from .web_helpers import sign_in, sign_in_with_code

    dpo = make.staff("dpo")
    secret = sign_in_with_code(ctx.test_client(), dpo)
    browser = ctx.test_client()
    sign_in(browser, dpo)
    page = browser.get("/login/code").get_data(as_text=True)
    token = csrf_from(page)
    wrong = [
        browser.post("/login/code", data={"code": "000000", "csrf_token": token}).status_code
        for _ in range(8)
    ]
    assert wrong[:5] == [200] * 5 and set(wrong[5:]) == {429}
    right = browser.post(
        "/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}
    )
    assert right.status_code == 429
