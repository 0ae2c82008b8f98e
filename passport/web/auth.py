"""Signing in and out, the second factor (TOTP), and the account page.

Wrong passwords are throttled (Flask-Limiter), counting only real failures — a wrong
username or password — never an attempt that was itself refused with 429 (so hammering a
locked form does not extend the lock), an empty form, or a page that failed. Three counts,
all over 15 minutes:

- per (address, username) pair, 5 failures: the guesser at one address is stopped on the
  account they are guessing, and nobody else is: at a hostel or hub where everyone shares
  one address, the other residents still sign in;
- per username, from every address, 10 failures: guessing one account from many addresses
  is stopped too (its owner then waits out the window, wherever they are);
- per address, 100 failures across all usernames: a much higher ceiling, only against one
  address trying a few passwords on many accounts (spraying).

Second-factor codes (5 per account being signed in) and a person's passphrase on a worker's
device (web.assisted) count failures the same way, never a 429; set-up codes
(web.registration and the API's /account/setup) count only refused codes, per username and
per address.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import segno
from flask import (
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import login_user
from markupsafe import Markup, escape

from .. import audit
from ..config import Settings
from ..errors import Invalid
from ..identity import setup_codes, totp
from ..identity.accounts import AccountDisabled, actor_for_account, authenticate
from ..identity.actor import Actor
from ..vocabulary import Action, Outcome
from . import bp
from .common import current_actor, home_for, signed_in
from .session_auth import SessionUser, end_session, renew_session_id, start_signed_in_session

limiter = Limiter(key_func=get_remote_address)

PENDING_SECONDS = 600
DEFAULT_LIMITS = {
    "WEB_LOGIN_PAIR_LIMIT": "5 per 15 minutes",  # failures per (address, username)
    "WEB_LOGIN_LIMIT": "10 per 15 minutes",  # failures per username, from any address
    "WEB_LOGIN_ADDRESS_LIMIT": "100 per 15 minutes",  # failures per address: spraying only
    "WEB_CODE_LIMIT": "5 per 15 minutes",  # wrong second-factor codes per account
    # Wrong set-up codes, like sign-in: per username, and per address (pages and API).
    "SETUP_LIMIT": "5 per 15 minutes",
    "SETUP_ADDRESS_LIMIT": "50 per 15 minutes",
}


def init_app(app: Flask) -> None:
    settings: Settings = app.config["PASSPORT_SETTINGS"]
    for name, value in DEFAULT_LIMITS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage_uri)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)


def _limit(name: str) -> Any:
    return lambda: current_app.config[name]


def failed(response: Any) -> bool:
    """Whether a POST to a throttled form counts as a failure: anything but a redirect
    (success), and never a 429 (an attempt the throttle itself refused)."""
    return bool(response.status_code not in (302, 429))


_LOGIN_FAILED = "passport.login_failed"


def _login_failed(_response: Any) -> bool:
    # Set by the sign-in view on a wrong username or password. Kept in this request's own
    # environ, not `g` (the app context can outlive a request, and a 429 never runs the view).
    return bool(request.environ.get(_LOGIN_FAILED, False))


def _form_username() -> str:
    return request.form.get("username", "").strip().casefold()


def _username_key() -> str:
    # The username may be someone's name: only a digest goes to the limiter's storage.
    return "login:" + hashlib.sha256(_form_username().encode()).hexdigest()


def _pair_key() -> str:
    pair = f"{get_remote_address()}\0{_form_username()}"
    return "login-pair:" + hashlib.sha256(pair.encode()).hexdigest()


def _pending_key() -> str:
    pending = session.get("pending_login") or {}
    return "code:" + hashlib.sha256(str(pending.get("id", "")).encode()).hexdigest()


def _safe_next(value: str | None) -> str | None:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def _start_session(actor: Actor, second_factor: bool = False) -> ResponseReturnValue:
    lang = session.get("lang")
    next_page = _safe_next(session.get("next"))
    # A new session at sign-in, under a new id (the old one is deleted on the server, so a
    # planted id is worth nothing): nothing carried over but the language.
    renew_session_id()
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(SessionUser(actor))
    start_signed_in_session()
    session["second_factor"] = second_factor
    if actor.is_person and (replaced_on := setup_codes.take_replaced_notice(actor.id)):
        flash(replaced_notice(replaced_on), "notice")
    return redirect(next_page or home_for(actor))


def replaced_notice(replaced_on: datetime) -> str:
    return str(
        gettext(
            "On %(day)s a worker gave you a new set-up code, so your old passphrase stopped "
            "working. If you did not ask for this, tell a worker you trust.",
            day=format_date(replaced_on, "d MMMM"),
        )
    )


def _pending_actor() -> Actor | None:
    pending = session.get("pending_login")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    kind, _, account_id = str(pending.get("id", "")).partition(":")
    return actor_for_account(kind, account_id)


@bp.route("/")
def start() -> ResponseReturnValue:
    from flask_login import current_user

    if current_user.is_authenticated:
        return redirect(home_for(current_actor()))
    return redirect(url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _limit("WEB_LOGIN_PAIR_LIMIT"),
    methods=["POST"],
    key_func=_pair_key,
    deduct_when=_login_failed,
    scope="login-pair",
)
@limiter.limit(
    _limit("WEB_LOGIN_LIMIT"),
    methods=["POST"],
    key_func=_username_key,
    deduct_when=_login_failed,
    scope="login-username",
)
@limiter.limit(
    _limit("WEB_LOGIN_ADDRESS_LIMIT"),
    methods=["POST"],
    key_func=get_remote_address,
    deduct_when=_login_failed,
    scope="login-address",
)
def login() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    username = ""
    if request.method == "GET":
        if next_page := _safe_next(request.args.get("next")):
            session["next"] = next_page
        return render_template("auth/login.html", errors=errors, username=username)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username:
        errors["username"] = gettext("Enter your username")
    if not password:
        errors["password"] = gettext("Enter your password")
    if errors:
        return render_template("auth/login.html", errors=errors, username=username), 200
    try:
        actor = authenticate(username, password)
    except AccountDisabled:
        errors["username"] = gettext(
            "This account has been turned off. Ask an administrator at your organisation."
        )
        return render_template("auth/login.html", errors=errors, username=username), 200
    if actor is None:
        request.environ[_LOGIN_FAILED] = True
        errors["password"] = gettext("Your username or password is not right. Try again.")
        return render_template("auth/login.html", errors=errors, username=username), 200
    if totp.is_enabled(actor) or totp.required_for(actor):
        session["pending_login"] = {
            "id": f"{actor.kind.value}:{actor.id}",
            "at": time.time(),
        }
        if totp.is_enabled(actor):
            return redirect(url_for("web.login_code"))
        session["new_totp_secret"] = totp.new_secret()
        return redirect(url_for("web.login_set_up_code"))
    return _start_session(actor)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    _limit("WEB_CODE_LIMIT"), methods=["POST"], key_func=_pending_key, deduct_when=failed
)
def login_code() -> ResponseReturnValue:
    actor = _pending_actor()
    if actor is None:
        return redirect(url_for("web.login"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        if totp.check(actor, request.form.get("code", "")):
            session.pop("pending_login", None)
            return _start_session(actor, second_factor=True)
        errors["code"] = gettext("That code is not right. Check your app and try again.")
    return render_template("auth/code.html", errors=errors)


def _set_up(actor: Actor, after: str) -> ResponseReturnValue:
    secret = session.get("new_totp_secret") or totp.new_secret()
    session["new_totp_secret"] = secret
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            totp.enable(actor, secret, request.form.get("code", ""))
        except Invalid:
            errors["code"] = gettext("That code is not right. Check your app and try again.")
        else:
            session.pop("new_totp_secret", None)
            if after == "login":
                session.pop("pending_login", None)
                return _start_session(actor, second_factor=True)
            session["second_factor"] = True
            return redirect(url_for("web.account", done="two-step"))
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    uri = totp.provisioning_uri(actor, secret, "Passport")
    return render_template(
        "auth/set_up_code.html",
        errors=errors,
        secret=grouped,
        required=after == "login",
        uri=uri,
        qr=_qr_code(uri, gettext("QR code for setting up two-step sign-in")),
    )


def _qr_code(text: str, label: str) -> Markup:
    """`text` as a QR code, inline SVG (the policy allows no inline script or style, and
    needs neither), named for screen readers; the key is also shown as text."""
    svg = segno.make(text, error="m").svg_inline(scale=5, border=4, svgclass="passport-qr")
    named = f'<svg role="img" aria-label="{escape(label)}" focusable="false"'
    return Markup(svg.replace("<svg", named, 1))  # noqa: S704 (segno's SVG, our escaped label)


@bp.route("/login/set-up-code", methods=["GET", "POST"])
@limiter.limit(
    _limit("WEB_CODE_LIMIT"), methods=["POST"], key_func=_pending_key, deduct_when=failed
)
def login_set_up_code() -> ResponseReturnValue:
    actor = _pending_actor()
    if actor is None or totp.is_enabled(actor):
        return redirect(url_for("web.login"))
    return _set_up(actor, "login")


@bp.route("/account")
@signed_in
def account() -> ResponseReturnValue:
    actor = current_actor()
    return render_template(
        "auth/account.html",
        enabled=totp.is_enabled(actor),
        required=totp.required_for(actor),
        done=request.args.get("done"),
    )


@bp.route("/account/two-step", methods=["GET", "POST"])
@signed_in
def account_two_step() -> ResponseReturnValue:
    actor = current_actor()
    if totp.is_enabled(actor):
        return redirect(url_for("web.account"))
    return _set_up(actor, "account")


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    from flask_login import current_user

    if current_user.is_authenticated:
        actor = current_actor()
        audit.record(
            actor=actor.as_event(),
            action=Action.AUTH_LOGOUT,
            outcome=Outcome.ALLOWED,
            person_id=actor.id if actor.is_person else None,
        )
    end_session()  # the server forgets this session: a copy of the cookie is now worthless
    return redirect(url_for("web.login", signed_out=1))
