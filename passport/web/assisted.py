"""Assisted consent on the worker's pages, with the person beside them: the worker records who
may see which of the sections the person trusted them with, then hands the device to the
person, who confirms it with their own passphrase (or is asked when they next sign in).

The form is offered only to contributors (the domain refuses everyone else again), names the
person by their preferred name, offers the person's own duration choices
(passport.web.person.DURATIONS) and never the recording worker as grantee.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from .. import audit, db
from ..consent import grants
from ..consent.decision import GrantStatus, grant_status
from ..consent.models import Grant
from ..errors import Forbidden, Invalid, NotFound
from ..identity.accounts import actor_for_person
from ..identity.actor import Actor
from ..identity.directory import list_agencies
from ..identity.models import Person
from ..identity.passwords import verify_password
from ..records import views
from ..records.content import person_identity
from ..vocabulary import Action, Outcome, Purpose, Reason, Role, Section
from . import bp
from .auth import failed, limiter
from .circle import recorded_sentence
from .common import current_actor, staff_with
from .errors import error_page
from .person import DURATION_NAMES, DURATIONS, SHAREABLE
from .plain import Check, Field, in_page_order, too_long

METHODS = ["verbal", "written", "interpreter"]
PURPOSES = [Purpose.DIRECT_SUPPORT.value, Purpose.REFERRAL.value]
# Every choice of the person's own flow, shortest first; each purpose allows its own.
DAY_CHOICES = sorted(
    {code: days for choices in DURATIONS.values() for code, days in choices}.items(),
    key=lambda item: item[1],
)
DEFAULT_CONFIRM_LIMIT = "5 per 15 minutes"  # wrong passphrases per person


@bp.app_template_global()
def may_record_assisted(person_id: str) -> bool:
    """For the brief's links: only a worker the person chose as a contributor records."""
    return grants.may_record_assisted(current_actor(), str(person_id))


def _refused() -> ResponseReturnValue:
    return error_page(
        403,
        title=gettext("You cannot record this"),
        detail=gettext(
            "You can record who can see someone's information only if they chose you to help "
            "with their passport, and only for the parts they chose you for."
        ),
    )


def _preferred_name(actor: Actor, person_id: str, sections: list[str]) -> str:
    """The person's preferred name, as any worker reading their record sees it (the look is
    logged like every read)."""
    decisions = views.decide_all(
        actor,
        person_id,
        Purpose.DIRECT_SUPPORT,
        Action.RECORD_VIEW,
        sections=tuple(Section(s) for s in sections),
        detail={"page": "assisted-consent"},
    )
    return str(person_identity(decisions)["preferred_name"] or "")


def _days_error(purpose: str) -> str:
    if purpose == Purpose.REFERRAL.value:
        return str(gettext("Sharing for a referral can last 1 month or 3 months"))
    return str(gettext("Sharing to support them can last 3 months, 6 months or 1 year"))


@bp.route("/people/<uuid:person_id>/consent/new", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def assisted_consent(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    person_id = str(person_id)
    delegated = grants.delegated_sections(actor, person_id)
    if not grants.may_record_assisted(actor, person_id):
        return _refused()
    name = _preferred_name(actor, person_id, delegated)
    workers = grants.grantable_workers(excluding=actor.id)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"sections": [], "purpose": "", "grantee_type": "agency"}
    if request.method == "POST":
        values = {
            "grantee_type": request.form.get("grantee_type", ""),
            "agency_id": request.form.get("agency_id", ""),
            "staff_id": request.form.get("staff_id", ""),
            "sections": request.form.getlist("sections"),
            "purpose": request.form.get("purpose", ""),
            "days": request.form.get("days", ""),
            "method": request.form.get("method", ""),
            "notes": request.form.get("notes", "").strip(),
            "present": request.form.get("present") == "yes",
        }
        errors = _check(values)
        if not errors:
            grantee_id = values["agency_id" if values["grantee_type"] == "agency" else "staff_id"]
            days = dict(DURATIONS[values["purpose"]])[values["days"]]
            try:
                grant = grants.create_grant(
                    actor,
                    person_id,
                    grantee_type=values["grantee_type"],
                    grantee_id=grantee_id,
                    sections=values["sections"],
                    purpose=values["purpose"],
                    expires_on=db.utcnow().date() + timedelta(days=days),
                    method=values["method"],
                    notes=values["notes"] or None,
                )
            except Forbidden:
                errors["sections"] = gettext("Choose only parts the person chose you to help with")
            except Invalid as error:
                errors = _domain_errors(error, values, actor)
            else:
                return redirect(
                    url_for("web.assisted_confirm", person_id=person_id, grant_id=grant.id)
                )
    return render_template(
        "caseworker/assisted_consent.html",
        person_id=person_id,
        name=name,
        agencies=list_agencies(),
        workers=workers,
        errors=errors,
        values=values,
        sections=[s for s in SHAREABLE if s in delegated],
        purposes=PURPOSES,
        day_choices=[code for code, _ in DAY_CHOICES],
        duration_names=DURATION_NAMES,
        methods=METHODS,
    )


def _check(values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if values["grantee_type"] == "agency":
        if not values["agency_id"]:
            errors["agency_id"] = gettext("Choose which service can see it")
    elif values["grantee_type"] == "staff":
        if not values["staff_id"]:
            errors["staff_id"] = gettext("Choose which worker can see it")
    else:
        errors["grantee_type"] = gettext("Choose a service or a named worker")
    if not values["sections"]:
        errors["sections"] = gettext("Choose what they can see")
    if values["purpose"] not in DURATIONS:
        errors["purpose"] = gettext("Choose why they can see it")
    elif values["days"] not in dict(DURATIONS[values["purpose"]]):
        errors["days"] = _days_error(values["purpose"])
    if values["method"] not in METHODS:
        errors["method"] = gettext("Choose how the person told you")
    if len(values["notes"]) > NOTES_MAX:
        errors["notes"] = too_long(ASSISTED_FIELDS[-2].label, NOTES_MAX)
    if not values["present"]:
        errors["present"] = gettext(
            "Only record this with the person here with you, agreeing to it"
        )
    return in_page_order(errors, [f.key for f in ASSISTED_FIELDS])


NOTES_MAX = 2000  # as the API (passport.api.schemas)
# The assisted-consent form's fields, in page order (passport.web.plain).
ASSISTED_FIELDS = (
    Field(
        "agency_id",
        lazy_gettext("Service"),
        kind="choice",
        choose=lazy_gettext("Choose which service can see it"),
    ),
    Field(
        "staff_id",
        lazy_gettext("Worker"),
        kind="choice",
        choose=lazy_gettext("Choose which worker can see it"),
    ),
    Field(
        "grantee_type",
        lazy_gettext("Who"),
        kind="choice",
        choose=lazy_gettext("Choose a service or a named worker"),
    ),
    Field(
        "sections",
        lazy_gettext("What they can see"),
        kind="choice",
        choose=lazy_gettext("Choose what they can see"),
    ),
    Field(
        "purpose",
        lazy_gettext("Why"),
        kind="choice",
        choose=lazy_gettext("Choose why they can see it"),
    ),
    Field(
        "days",
        lazy_gettext("How long"),
        kind="choice",
        choose=lazy_gettext("Choose how long they can see it"),
    ),
    Field(
        "method",
        lazy_gettext("How the person told you"),
        kind="choice",
        choose=lazy_gettext("Choose how the person told you"),
    ),
    Field("notes", lazy_gettext("Notes")),
    Field(
        "present",
        lazy_gettext("The person is here"),
        kind="choice",
        choose=lazy_gettext("Only record this with the person here with you, agreeing to it"),
    ),
)


def _domain_errors(error: Invalid, values: dict[str, Any], actor: Actor) -> dict[str, str]:
    if error.errors and "grantee.id" in error.errors:
        if values["grantee_type"] == "staff" and values["staff_id"] == actor.id:
            return {"staff_id": gettext("You cannot record consent that gives you access")}
        field = "agency_id" if values["grantee_type"] == "agency" else "staff_id"
        return {field: gettext("Choose one from the list")}
    check = Check(ASSISTED_FIELDS)
    check.values.update({k: v for k, v in values.items() if isinstance(v, str)})
    check.invalid(error, {"expires_on": "days", "starts_on": "days", "obtained.method": "method"})
    return check.errors


# -- "Ask <name> to confirm now": the person's own passphrase, on the worker's device --------


def _limit() -> str:
    return str(current_app.config.get("WEB_CONFIRM_LIMIT", DEFAULT_CONFIRM_LIMIT))


def _person_key() -> str:
    # Per person: their passphrase cannot be guessed faster by asking about many grants.
    person_id = str((request.view_args or {}).get("person_id", ""))
    return "confirm:" + hashlib.sha256(person_id.encode()).hexdigest()


def _recorded_by_me(actor: Actor, person_id: str, grant_id: str) -> Grant:
    grant = db.session.get(Grant, grant_id)
    if (
        grant is None
        or grant.person_id != person_id
        or (grant.recorded_by_kind, grant.recorded_by_id) != ("staff", actor.id)
    ):
        raise NotFound("there is no sharing you recorded with that id")
    return grant


@bp.route("/people/<uuid:person_id>/consent/<uuid:grant_id>/ask", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_person_key, deduct_when=failed)
@staff_with(Role.CASEWORKER)
def assisted_confirm(person_id: Any, grant_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    person_id = str(person_id)
    grant = _recorded_by_me(actor, person_id, str(grant_id))
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    delegated = grants.delegated_sections(actor, person_id)
    name = _preferred_name(actor, person_id, delegated) if delegated else ""
    state = "ask"
    if grant.confirmed_at is not None:
        state = "confirmed"
    elif grant_status(grant, db.utcnow().date()) in (GrantStatus.REVOKED, GrantStatus.EXPIRED):
        state = "stopped"
    elif not person.password_hash:
        state = "no_passphrase"
    errors: dict[str, str] = {}
    if request.method == "POST" and state == "ask":
        password = request.form.get("password", "")
        if verify_password(person.password_hash, password):
            grants.confirm_grant(
                actor_for_person(person), person_id, grant.id, "on_the_spot", witness_id=actor.id
            )
            flash(gettext("Thank you. %(name)s said it is right.", name=name))
            return redirect(url_for("web.brief", person_id=person_id))
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_CONFIRM,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=Reason.BAD_CREDENTIALS,
            detail={"grant_id": grant.id, "via": "on_the_spot"},
        )
        errors["password"] = gettext(
            "That passphrase is not right. %(name)s can try again, or say when they next sign in.",
            name=name,
        )
    return render_template(
        "caseworker/assisted_confirm.html",
        person_id=person_id,
        grant_id=grant.id,
        name=name,
        state=state,
        sentence=recorded_sentence(grant),
        errors=errors,
    )
