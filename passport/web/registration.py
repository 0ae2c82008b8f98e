"""Registering a person, with the person there, in a few short pages; giving a new set-up
code; and `/account/setup`, where the person chooses their own passphrase with their code.

The registration pages keep no state on the server or in the session: every page carries the
answers given so far as hidden fields, so a step with an error loses nothing. The set-up code
is put in the session only between registering and the page that shows it, which takes it out:
it is shown once, and reloading that page does not show it again.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from flask_limiter.util import get_remote_address

from .. import db
from ..consent.grants import is_contributor
from ..errors import Conflict, ConsentRequired, Invalid
from ..identity import directory, setup_codes
from ..identity.accounts import find_account, normalise_username
from ..identity.actor import Actor
from ..identity.passwords import MIN_PASSWORD_LENGTH
from ..records import views
from ..records.content import person_identity
from ..records.operations import add_entry, register_person
from ..vocabulary import Action, Purpose, Role, Section
from . import bp
from .auth import limiter
from .common import current_actor, staff_with
from .plain import Check, Field, date_in_past, read_date

STEPS = ("name", "username", "worker", "check")
FIELDS = (
    "name",
    "preferred_name",
    "date_of_birth-day",
    "date_of_birth-month",
    "date_of_birth-year",
    "username",
    "worker",
    "worker_staff_id",
    "to_check",
)
WORKER_CHOICES = ("me", "other", "nobody")
SHOWN_KEY = "setup_code_to_show"


# -- registering a person -------------------------------------------------------------------


def _values(form: Any) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in FIELDS}


NAME_MAX = 200  # as the profile section's schema
EARLIEST_BIRTH = date(1900, 1, 1)
NAME_FIELDS = (
    Field(
        "name",
        lazy_gettext("Their full name"),
        required=lazy_gettext("Enter their full name"),
        max_length=NAME_MAX,
    ),
    Field(
        "preferred_name",
        lazy_gettext("The name they like to be called"),
        max_length=NAME_MAX,
    ),
    Field("date_of_birth", lazy_gettext("Date of birth"), kind="date"),
)


def _date_of_birth(values: dict[str, str]) -> date | None:
    return read_date(values, "date_of_birth")[1]


def _check_name(values: dict[str, str]) -> dict[str, str]:
    check = Check(NAME_FIELDS)
    check.text(values, "name")
    check.text(values, "preferred_name")
    yesterday = db.utcnow().date() - timedelta(days=1)
    check.date(
        values,
        "date_of_birth",
        first=EARLIEST_BIRTH,
        last=yesterday,
        too_late=date_in_past(NAME_FIELDS[2].label),
    )
    return check.errors


USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,99}$")


def _check_username(values: dict[str, str]) -> dict[str, str]:
    username = normalise_username(values["username"])
    values["username"] = username
    if not username:
        return {"username": gettext("Enter a username")}
    if not USERNAME_PATTERN.match(username):
        return {
            "username": gettext(
                "A username has 3 to 100 letters or numbers, with no spaces (it can have . - or _)"
            )
        }
    if find_account(username) is not None:
        return {"username": gettext("That username is taken. Try another one.")}
    return {}


def _check_worker(values: dict[str, str], caseworkers: list[Any]) -> dict[str, str]:
    if values["worker"] not in WORKER_CHOICES:
        return {"worker": gettext("Choose who is their worker")}
    if values["worker"] == "other" and values["worker_staff_id"] not in {c.id for c in caseworkers}:
        return {"worker_staff_id": gettext("Choose a worker at your agency")}
    return {}


def _check(step: str, values: dict[str, str], caseworkers: list[Any]) -> dict[str, str]:
    if step == "name":
        return _check_name(values)
    if step == "username":
        return _check_username(values)
    if step == "worker":
        return _check_worker(values, caseworkers)
    return {}


def suggest_username(values: dict[str, str]) -> str:
    """A short username from the name they like to be called (or their first name) that
    nobody has yet: letters only, with a number if that is needed to make it free."""
    words = (values["preferred_name"] or values["name"]).split()
    base = re.sub(r"[^a-z]", "", words[0].lower()) if words else ""
    base = (base or "person")[:20]
    if len(base) < 3:
        base = base + "abc"[: 3 - len(base)]
    if find_account(base) is None:
        return base
    for n in range(2, 1000):
        if find_account(f"{base}{n}") is None:
            return f"{base}{n}"
    return base + db.new_id()[:6]


def _render(step: str, values: dict[str, str], errors: dict[str, str], **extra: Any) -> str:
    actor = current_actor()
    context: dict[str, Any] = {
        "name_max": NAME_MAX,
        "step": step,
        "values": values,
        "errors": errors,
        "carried": [f for f in FIELDS if f not in _fields_of(step)],
        "caseworkers": directory.caseworkers_at(actor),
        "me": actor,
        **extra,
    }
    if step == "username" and not values["username"] and not errors:
        context["suggestion"] = suggest_username(values)
    if step == "check":
        context["date_of_birth"] = _date_of_birth(values)
        context["worker_name"] = _worker_name(values, context["caseworkers"], actor)
    return render_template(f"caseworker/register_{step}.html", **context)


def _fields_of(step: str) -> tuple[str, ...]:
    return {
        "name": (
            "name",
            "preferred_name",
            "date_of_birth-day",
            "date_of_birth-month",
            "date_of_birth-year",
        ),
        "username": ("username",),
        "worker": ("worker", "worker_staff_id"),
    }.get(step, ())


def _worker_name(values: dict[str, str], caseworkers: list[Any], actor: Actor) -> str | None:
    if values["worker"] == "me":
        return actor.name
    if values["worker"] == "other":
        return next((c.name for c in caseworkers if c.id == values["worker_staff_id"]), None)
    return None


@bp.route("/people/register", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def register() -> ResponseReturnValue:
    """A caseworker registers a person with the person there: their name and date of birth,
    a username, who their worker is, a check of the answers, then their set-up code."""
    if request.method == "GET":
        return _render("name", _values({}), {})
    values = _values(request.form)
    step = request.form.get("step", "")
    if step not in STEPS:
        abort(400)
    caseworkers = directory.caseworkers_at(current_actor())
    change = request.form.get("change", "")
    if step == "check" and change in STEPS[:-1]:
        return _render(change, {**values, "to_check": "1"}, {})
    errors = _check(step, values, caseworkers)
    if errors:
        return _render(step, values, errors)
    if step != "check":
        following = "check" if values["to_check"] else STEPS[STEPS.index(step) + 1]
        return _render(following, values, {})
    for earlier in STEPS[:-1]:  # the carried answers are checked again before anything is made
        if errors := _check(earlier, values, caseworkers):
            return _render(earlier, values, errors)
    return _register(values, caseworkers)


def _register(values: dict[str, str], caseworkers: list[Any]) -> ResponseReturnValue:
    actor = current_actor()
    try:
        person, out = register_person(
            actor,
            name=values["name"],
            preferred_name=values["preferred_name"] or None,
            date_of_birth=_date_of_birth(values),
            username=values["username"],
        )
    except Conflict:
        taken = gettext("That username is taken. Try another one.")
        return _render("username", values, {"username": taken})
    except Invalid:
        return _render("name", values, {"name": gettext("Check their name and date of birth")})
    worker = _worker_entry(values, caseworkers, actor)
    if worker is not None:
        add_entry(actor, person.id, Section.WORKERS, worker)
    _keep_code_for_showing(person.id, out["setup_code"], out["setup_code_expires_at"])
    return redirect(url_for("web.setup_code_given", person_id=person.id))


def _worker_entry(
    values: dict[str, str], caseworkers: list[Any], actor: Actor
) -> dict[str, Any] | None:
    today = db.utcnow().date().isoformat()
    if values["worker"] == "me":
        return {
            "name": actor.name,
            "agency_id": actor.agency_id,
            "staff_id": actor.id,
            "is_lead": True,
            "since": today,
        }
    if values["worker"] == "other":
        chosen = next(c for c in caseworkers if c.id == values["worker_staff_id"])
        return {
            "name": chosen.name,
            "agency_id": chosen.agency_id,
            "staff_id": chosen.id,
            "is_lead": True,
            "since": today,
        }
    return None


# -- showing a set-up code, once ------------------------------------------------------------


def _keep_code_for_showing(person_id: str, code: str, expires_at: datetime) -> None:
    session[SHOWN_KEY] = {
        "person_id": person_id,
        "code": code,
        "expires_at": expires_at.isoformat(),
    }


@bp.route("/people/<uuid:person_id>/setup-code/given")
@staff_with(Role.CASEWORKER)
def setup_code_given(person_id: Any) -> ResponseReturnValue:
    """The code, big and printable, shown this once: the session forgets it now."""
    kept = session.pop(SHOWN_KEY, None)
    shown = kept if isinstance(kept, dict) and kept.get("person_id") == str(person_id) else None
    response = current_app.make_response(
        render_template(
            "caseworker/register_done.html",
            person_id=str(person_id),
            code=shown["code"] if shown else None,
            expires_at=datetime.fromisoformat(shown["expires_at"]) if shown else None,
            setup_url=url_for("web.account_setup", _external=True),
            may_give_code=setup_codes.may_issue(current_actor(), str(person_id)) is not None,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- giving a new set-up code (getting back in) ---------------------------------------------


def _identity_for(actor: Actor, person_id: str) -> dict[str, Any] | None:
    """Who the page is about, as this worker may see them; the look is logged like any read."""
    try:
        decisions = views.decide_all(
            actor,
            person_id,
            Purpose.DIRECT_SUPPORT,
            Action.RECORD_VIEW,
            detail={"page": "setup-code"},
        )
    except ConsentRequired:
        return None
    return person_identity(decisions)


@bp.route("/people/<uuid:person_id>/setup-code", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def new_setup_code(person_id: Any) -> ResponseReturnValue:
    """A contributor or the lead worker gives the person a new set-up code, with them there.
    The page says first that their old passphrase will stop working."""
    actor = current_actor()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("present") != "yes":
            errors["present"] = gettext(
                "Only give a new set-up code with the person here with you, asking for it"
            )
        else:
            code, expires_at = setup_codes.issue(actor, str(person_id))  # refuses, and logs
            _keep_code_for_showing(str(person_id), code, expires_at)
            return redirect(url_for("web.setup_code_given", person_id=person_id))
    if setup_codes.may_issue(actor, str(person_id)) is None:
        abort(403)
    return render_template(
        "caseworker/new_setup_code.html",
        person_id=str(person_id),
        person=_identity_for(actor, str(person_id)),
        errors=errors,
    )


def may_give_setup_code(person_id: str, brief: dict[str, Any] | None = None) -> bool:
    """For the brief's links: a contributor, or the lead worker named in the brief they read."""
    actor = current_actor()
    if is_contributor(actor, person_id):
        return True
    lead = (brief or {}).get("lead_worker")
    return lead is not None and str(lead.content.get("staff_id")) == actor.id


@bp.app_context_processor
def _registration_helpers() -> dict[str, Any]:
    return {"may_give_setup_code": may_give_setup_code}


# -- the person chooses their passphrase ----------------------------------------------------


def _setup_username_key() -> str:
    username = normalise_username(request.form.get("username", ""))
    return "setup:" + hashlib.sha256(username.encode()).hexdigest()


def _setup_refused(_response: Any) -> bool:
    # Read by both limits below: set by the view for this request only.
    return bool(g.get("setup_code_refused", False))


PASSPHRASE_TOO_SHORT = lazy_gettext(
    "Your passphrase must have at least %(n)s letters, numbers or spaces", n=MIN_PASSWORD_LENGTH
)
SETUP_FIELDS = (
    Field("username", lazy_gettext("Username"), required=lazy_gettext("Enter your username")),
    Field(
        "setup_code", lazy_gettext("Set-up code"), required=lazy_gettext("Enter your set-up code")
    ),
    Field(
        "password",
        lazy_gettext("Your new passphrase"),
        kind="password",
        required=PASSPHRASE_TOO_SHORT,
        min_length=MIN_PASSWORD_LENGTH,
        short=PASSPHRASE_TOO_SHORT,
    ),
    Field("password_confirm", lazy_gettext("Type your new passphrase again")),
)


@bp.route("/account/setup", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SETUP_LIMIT"],
    methods=["POST"],
    key_func=_setup_username_key,
    deduct_when=_setup_refused,
    scope="setup",
)
@limiter.limit(
    lambda: current_app.config["SETUP_ADDRESS_LIMIT"],
    methods=["POST"],
    key_func=get_remote_address,
    deduct_when=_setup_refused,
    scope="setup-address",
)
def account_setup() -> ResponseReturnValue:
    """No sign-in: the username, the set-up code, and a new passphrase twice."""
    g.setup_code_refused = False
    check = Check(SETUP_FIELDS)
    values = {"username": "", "setup_code": ""}
    if request.method == "POST":
        values = {
            "username": check.text(request.form, "username"),
            "setup_code": check.text(request.form, "setup_code"),
        }
        password = check.text(request.form, "password", strip=False)
        confirm = request.form.get("password_confirm", "")
        if password and not check.has_error("password") and password != confirm:
            check.add(
                "password_confirm",
                gettext("The two passphrases are not the same. Type it again."),
            )
        if check.ok:
            try:
                setup_codes.complete_setup(values["username"], values["setup_code"], password)
            except setup_codes.SetupCodeRefused:
                g.setup_code_refused = True
                check.add(
                    "setup_code",
                    gettext(
                        "That set-up code is not right, was used already or has run out. "
                        "Check it, or ask a worker for a new one."
                    ),
                )
            except Invalid as error:
                check.invalid(error)
            else:
                flash(gettext("Your passphrase is ready. Sign in with it now."))
                return redirect(url_for("web.login"))
    errors = check.errors
    return render_template(
        "auth/setup.html", errors=errors, values=values, min_length=MIN_PASSWORD_LENGTH
    )
