"""Sign-in pages: sessions, CSRF, throttling, the second factor, headers, language."""

from __future__ import annotations

import re

import pyotp
import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from passport.languages import preferred
from passport.web.auth import limiter

from .factories import Factory
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code, username_of


def test_pages_need_sign_in(client: FlaskClient) -> None:
    for path in ["/me", "/me/sharing", "/caseload", "/dpo/log", "/admin", "/account"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_login_page_has_the_contract_fields(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert csrf_from(html)


def test_person_signs_in_and_out(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    response = sign_in(client, person)
    assert response.headers["Location"] == "/me"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/me").status_code == 200
    out = post_form(client, "/logout", {}, page="/me")
    assert out.status_code == 302
    assert client.get("/me").status_code == 302


def test_wrong_password_is_refused_plainly(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    response = post_form(
        client, "/login", {"username": username_of(person), "password": "wrong-password-123"}
    )
    assert response.status_code == 200
    assert "not right" in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302


def test_a_form_without_csrf_token_is_refused(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    response = client.post("/login", data={"username": username_of(person), "password": "x"})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    sign_in(client, person)
    assert client.post("/logout").status_code == 400


def test_repeated_failures_are_throttled(client: FlaskClient, make: Factory) -> None:
    limiter.reset()
    person = make.person()
    html = client.get("/login").get_data(as_text=True)
    token = csrf_from(html)
    bad = {"username": username_of(person), "password": "not-the-password", "csrf_token": token}
    statuses = [client.post("/login", data=bad).status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert "Too many tries" in client.post("/login", data=bad).get_data(as_text=True)
    # Another person at the same hub computer can still sign in.
    other = make.person()
    assert sign_in(client, other).status_code == 302
    limiter.reset()


def test_dpo_and_admin_must_set_up_a_second_factor(client: FlaskClient, make: Factory) -> None:
    for role, home in (("dpo", "/dpo/log"), ("admin", "/admin")):
        staff = make.staff(role)
        response = sign_in(client, staff)
        assert response.headers["Location"] == "/login/set-up-code"
        assert client.get(home).status_code == 302  # not signed in until the code is given
        page = client.get("/login/set-up-code").get_data(as_text=True)
        wrong = client.post(
            "/login/set-up-code", data={"code": "000000", "csrf_token": csrf_from(page)}
        )
        assert wrong.status_code == 200 and "not right" in wrong.get_data(as_text=True)
        post_form(client, "/logout", {}, page="/login")


def test_set_up_page_shows_the_key_as_a_qr_code_named_for_screen_readers(
    client: FlaskClient, make: Factory
) -> None:
    sign_in(client, make.staff("dpo"))
    page = client.get("/login/set-up-code").get_data(as_text=True)
    key = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S).group(0)  # type: ignore[union-attr]
    assert 'role="img"' in svg and 'aria-label="QR code for setting up two-step sign-in"' in svg
    # The code holds the very key shown as text: the same modules as a QR of its otpauth URI.
    expected = segno.make(
        pyotp.TOTP(key).provisioning_uri(name="Passport", issuer_name="Passport"), error="m"
    )
    path = re.search(r' d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    assert path == re.search(r' d="([^"]+)"', expected.svg_inline()).group(1)  # type: ignore[union-attr]
    other = segno.make(
        pyotp.TOTP(pyotp.random_base32()).provisioning_uri(name="Passport"), error="m"
    )
    assert path != re.search(r' d="([^"]+)"', other.svg_inline()).group(1)  # type: ignore[union-attr]
    refresh()  # the test's app context outlives requests, and Flask-Babel caches the locale on it
    welsh = client.get("/login/set-up-code?lang=cy").get_data(as_text=True)
    assert 'aria-label="Cod QR ar gyfer gosod mewngofnodi dau gam"' in welsh


def test_second_factor_code_at_each_sign_in(client: FlaskClient, make: Factory) -> None:
    dpo = make.staff("dpo")
    secret = sign_in_with_code(client, dpo)
    assert client.get("/dpo/log").status_code == 200
    post_form(client, "/logout", {}, page="/dpo/log")
    assert sign_in(client, dpo).headers["Location"] == "/login/code"
    page = client.get("/login/code").get_data(as_text=True)
    bad = client.post("/login/code", data={"code": "123456", "csrf_token": csrf_from(page)})
    assert bad.status_code == 200
    good = client.post(
        "/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)}
    )
    assert good.status_code == 302 and good.headers["Location"] == "/dpo/log"
    assert client.get("/dpo/log").status_code == 200


def test_totp_secret_is_sealed_not_stored_plainly(client: FlaskClient, make: Factory) -> None:
    from passport import db
    from passport.identity.models import Staff

    admin = make.staff("admin")
    secret = sign_in_with_code(client, admin)
    stored = db.session.get(Staff, admin.id)
    assert stored is not None and stored.totp_secret
    assert secret.encode() not in stored.totp_secret


def test_second_factor_is_offered_to_people(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    assert "Set up two-step sign-in" in client.get("/account").get_data(as_text=True)
    page = client.get("/account/two-step").get_data(as_text=True)
    import re

    key = re.search(r'id="secret">([A-Z2-7 ]+)<', page)
    assert key
    done = client.post(
        "/account/two-step",
        data={
            "code": pyotp.TOTP(key.group(1).replace(" ", "")).now(),
            "csrf_token": csrf_from(page),
        },
    )
    assert done.status_code == 302
    post_form(client, "/logout", {}, page="/me")
    assert sign_in(client, person).headers["Location"] == "/login/code"


def test_security_headers_on_every_page(client: FlaskClient, make: Factory) -> None:
    for path in ["/login", "/about", "/no-such-page"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_no_inline_script_or_style(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    for path in ["/login", "/me", "/me/sharing"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert "<script " not in html.replace('<script type="module" src=', "")


def test_unknown_page_is_a_friendly_404_but_the_api_keeps_problem_json(
    client: FlaskClient,
) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_language_switch_is_remembered(client: FlaskClient) -> None:
    welsh = client.get("/login?lang=cy").get_data(as_text=True)
    assert 'lang="cy"' in welsh and "Mewngofnodi" in welsh
    assert 'lang="cy"' in client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in client.get("/login?lang=en").get_data(as_text=True)


def test_a_browser_preferring_regional_english_gets_english(client: FlaskClient) -> None:
    html = client.get("/login", headers={"Accept-Language": "en-GB, cy;q=0.5"})
    assert 'lang="en"' in html.get_data(as_text=True)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-GB, cy;q=0.5", "en"),
        ("cy-GB, en;q=0.5", "cy"),
        ("fr, cy;q=0.8, en;q=0.7", "cy"),
        ("fr", "en"),
        ("", "en"),
        ("cy;q=0, en-US", "en"),
    ],
)
def test_preferred_language_follows_the_clients_order(header: str, language: str) -> None:
    assert preferred(parse_accept_header(header, LanguageAccept)) == language


def test_accept_language_picks_welsh(app: Flask, client: FlaskClient) -> None:
    html = client.get("/login", headers={"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"})
    assert 'lang="cy"' in html.get_data(as_text=True)
