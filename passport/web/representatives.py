"""Representatives on the pages.

- The person appoints someone (`view` or `help`, explained plainly), sees their set-up code
  once, and stops them from "Who can see my information" after a confirmation page.
- A representative signs in to their own home page, picks (and switches between) the people
  they act for, reads that person's passport and, with `help`, writes their story and what
  works (the same entry pages workers use) and manages their sharing: who can see, saying an
  assisted grant is right, stopping a grant.
- A caseworker contributor records a legal representative; a DPO reviews it.

No rules live here: the domain decides (and logs) everything, on every request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from .. import db
from ..consent import acting_as_person, circle, grants
from ..consent.decision import GrantStatus, grant_status
from ..consent.models import Grant
from ..db import utcnow
from ..errors import Conflict, Forbidden, Invalid
from ..identity.models import Staff
from ..records import views
from ..records.content import person_identity
from ..representatives import operations
from ..representatives.models import Representation
from ..vocabulary import Action, Power, Role, Section
from . import bp
from .common import (
    PURPOSE_NAMES,
    STAFF_SECTION_TITLES,
    _join,
    current_actor,
    day,
    person_only,
    representative_only,
    staff_with,
)

SHOWN_KEY = "representative_setup_code"  # in the session until the code page shows it once
ORDER = ["profile", "story", "preferences", "medication", "risk", "workers"]


def _errors(error: Invalid) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, messages in (error.errors or {}).items():
        out[key] = messages[0] if messages else error.detail
    return out or {"name": error.detail}


def _keep_code(row: Representation, code: str | None, expires_at: datetime | None) -> None:
    if code is not None and expires_at is not None:
        session[SHOWN_KEY] = {"id": row.id, "code": code, "expires_at": expires_at.isoformat()}


def _code_page(representation_id: str, back: str) -> ResponseReturnValue:
    """The set-up code, shown this once: the session forgets it now."""
    kept = session.pop(SHOWN_KEY, None)
    shown = kept if isinstance(kept, dict) and kept.get("id") == representation_id else None
    response = current_app.make_response(
        render_template(
            "representatives/code.html",
            code=shown["code"] if shown else None,
            expires_at=datetime.fromisoformat(shown["expires_at"]) if shown else None,
            setup_url=url_for("web.account_setup", _external=True),
            back=back,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the person appoints and stops ------------------------------------------------------------


@bp.route("/me/representatives/new", methods=["GET", "POST"])
@person_only
def appoint_representative() -> ResponseReturnValue:
    actor = current_actor()
    values = {"name": "", "username": "", "access": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        if not values["name"]:
            errors["name"] = gettext("Enter their name")
        if not values["username"]:
            errors["username"] = gettext("Choose a username for them")
        if values["access"] not in ("view", "help"):
            errors["access"] = gettext("Choose what they can do")
        if not errors:
            try:
                appointed = operations.appoint(actor, actor.id, **values)
            except Conflict:
                errors["username"] = gettext(
                    "That username is taken, or they already act for you. Choose another."
                )
            except Invalid as error:
                errors = _errors(error)
            else:
                row = appointed.representation
                _keep_code(row, appointed.setup_code, appointed.expires_at)
                flash(gettext("Done. %(name)s can now act for you.", name=row.account.name))
                if appointed.setup_code is None:
                    return redirect(url_for("web.sharing"))
                return redirect(url_for("web.representative_code", representation_id=row.id))
    return render_template("representatives/appoint.html", values=values, errors=errors)


@bp.route("/me/representatives/<uuid:representation_id>/code")
@person_only
def representative_code(representation_id: Any) -> ResponseReturnValue:
    return _code_page(str(representation_id), url_for("web.sharing"))


@bp.route("/me/representatives/<uuid:representation_id>/stop", methods=["GET", "POST"])
@person_only
def stop_representative(representation_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    row = operations.get_for_person(actor, actor.id, str(representation_id))
    name = row.account.name
    if row.ending is not None:
        flash(gettext("You already stopped this. %(name)s cannot act for you.", name=name))
        return redirect(url_for("web.sharing"))
    if request.method == "POST":
        operations.remove(actor, actor.id, row.id)
        flash(gettext("Done. %(name)s cannot act for you any more.", name=name))
        return redirect(url_for("web.sharing"))
    return render_template("representatives/stop.html", row=row, name=name)


# -- the representative's own pages -----------------------------------------------------------


def _acting(person_id: str, power: Power = Power.READ) -> None:
    if not acting_as_person(current_actor(), person_id, power).allowed:
        abort(403)


@bp.route("/represent")
@representative_only
def represent_home() -> ResponseReturnValue:
    people = operations.represented_by(current_actor())
    return render_template("representatives/home.html", people=people)


@bp.route("/represent/<uuid:person_id>")
@representative_only
def represent_passport(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    view = views.passport(actor, str(person_id), None)  # refuses (and logs) if not theirs
    helping = acting_as_person(actor, str(person_id), Power.WRITE).allowed
    return render_template(
        "representatives/passport.html",
        person=view.person,
        person_id=str(person_id),
        sections=view.sections,
        order=ORDER,
        helping=helping,
        others=operations.represents_anyone_else(actor, str(person_id)),
    )


def _sharing_sentence(item: circle.CircleItem) -> str:
    what = _join([str(STAFF_SECTION_TITLES[s]) for s in ORDER if s in item.sections])
    if item.kind == "representative":
        return str(gettext("%(who)s acts for them.", who=item.name))
    if item.kind == "contributor":
        return str(gettext("%(who)s can write: %(what)s.", who=item.name, what=what))
    return str(
        gettext(
            "%(who)s can see: %(what)s (%(why)s), until %(end)s.",
            who=item.name,
            what=what,
            why=str(PURPOSE_NAMES.get(item.purpose or "", item.purpose or "")),
            end=day(item.until),
        )
    )


@bp.route("/represent/<uuid:person_id>/sharing")
@representative_only
def represent_sharing(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    items = circle.who_can_see(actor, str(person_id))  # refuses (and logs) if not theirs
    helping = acting_as_person(actor, str(person_id), Power.SHARE).allowed
    rows = [
        {
            "sentence": _sharing_sentence(item),
            "grant_id": item.grant_id,
            "unconfirmed": item.grant_id is not None and item.confirmed is False,
        }
        for item in items
        if item.live or item.status == GrantStatus.PENDING
    ]
    return render_template(
        "representatives/sharing.html",
        rows=rows,
        person_id=str(person_id),
        person=_identity(str(person_id), "sharing"),
        helping=helping,
    )


def _identity(person_id: str, page: str) -> dict[str, Any]:
    """Who the page is about (preferred name and date of birth): a read of the profile only,
    logged like any other read, not of the whole passport."""
    decisions = views.decide_all(
        current_actor(), person_id, None, Action.RECORD_VIEW, (Section.PROFILE,), {"page": page}
    )
    return person_identity(decisions)


def _their_grant(person_id: str, grant_id: str) -> Grant:
    return grants.get_grant(current_actor(), person_id, grant_id)  # 403 unless `help`


def _recorded_sentence(grant: Grant, name: str) -> str:
    what = _join([str(STAFF_SECTION_TITLES[s]) for s in ORDER if s in grant.sections])
    return str(
        gettext(
            "A worker recorded that %(name)s agreed to share %(what)s with %(who)s (%(why)s), "
            "until %(end)s.",
            name=name,
            what=what,
            who=grants.grantee_of(grant).name,
            why=str(PURPOSE_NAMES.get(grant.purpose, grant.purpose)),
            end=day(grant.expires_on),
        )
    )


@bp.route("/represent/<uuid:person_id>/confirm/<uuid:grant_id>", methods=["GET", "POST"])
@representative_only
def represent_confirm(person_id: Any, grant_id: Any) -> ResponseReturnValue:
    """A `help` representative says, for the person, whether sharing a worker recorded is
    right: the same confirmation the person gives when they sign in."""
    actor = current_actor()
    _acting(str(person_id), Power.SHARE)
    grant = _their_grant(str(person_id), str(grant_id))
    person = _identity(str(person_id), "confirm")
    back = url_for("web.represent_sharing", person_id=person_id)
    live = grant_status(grant, utcnow().date()) in (GrantStatus.ACTIVE, GrantStatus.PENDING)
    if grant.confirmed_at is not None or not live:
        flash(gettext("This has already been answered."))
        return redirect(back)
    errors: dict[str, str] = {}
    if request.method == "POST":
        answer = request.form.get("answer", "")
        if answer == "yes":
            grants.confirm_grant(actor, str(person_id), grant.id, "signed_in")
            flash(gettext("Thank you. You said this is right."))
            return redirect(back)
        if answer == "no":
            grants.revoke_grant(actor, str(person_id), grant.id, None)
            flash(
                gettext(
                    "Done. %(name)s cannot see this any more.", name=grants.grantee_of(grant).name
                )
            )
            return redirect(back)
        errors["answer"] = gettext("Choose Yes or No, stop it")
    return render_template(
        "representatives/confirm.html",
        sentence=_recorded_sentence(grant, person.get("preferred_name") or ""),
        errors=errors,
        back=back,
    )


@bp.route("/represent/<uuid:person_id>/sharing/<uuid:grant_id>/stop", methods=["GET", "POST"])
@representative_only
def represent_stop_sharing(person_id: Any, grant_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    _acting(str(person_id), Power.SHARE)
    grant = _their_grant(str(person_id), str(grant_id))
    back = url_for("web.represent_sharing", person_id=person_id)
    name = grants.grantee_of(grant).name
    if grant.revocation is not None:
        flash(gettext("This was already stopped. %(name)s cannot see it.", name=name))
        return redirect(back)
    if request.method == "POST":
        grants.revoke_grant(actor, str(person_id), grant.id, None)
        flash(gettext("Done. %(name)s cannot see this any more.", name=name))
        return redirect(back)
    return render_template("representatives/stop_sharing.html", name=name, back=back)


# -- a caseworker records a legal representative ----------------------------------------------

LEGAL_FIELDS = ("name", "username", "legal_basis", "evidence", "access")


@bp.route("/people/<uuid:person_id>/representatives/legal", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def record_legal_representative(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    if not grants.is_contributor(actor, str(person_id)):
        abort(403)
    values = dict.fromkeys(LEGAL_FIELDS, "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in LEGAL_FIELDS}
        if not values["name"]:
            errors["name"] = gettext("Enter their name")
        if not values["username"]:
            errors["username"] = gettext("Choose a username for them")
        if values["legal_basis"] not in ("lpa", "deputy", "appointee"):
            errors["legal_basis"] = gettext("Choose why they can act for the person")
        if not values["evidence"]:
            errors["evidence"] = gettext("Write what you saw: the document and its reference")
        if values["access"] not in ("view", "help"):
            errors["access"] = gettext("Choose what they can do")
        if not errors:
            try:
                appointed = operations.record_legal(actor, str(person_id), **values)
            except Conflict:
                errors["username"] = gettext(
                    "That username is taken, or they already act for this person."
                )
            except Invalid as error:
                errors = _errors(error)
            else:
                row = appointed.representation
                _keep_code(row, appointed.setup_code, appointed.expires_at)
                flash(gettext("Recorded. A data protection officer must approve it first."))
                if appointed.setup_code is None:
                    return redirect(url_for("web.brief", person_id=person_id))
                return redirect(
                    url_for(
                        "web.legal_representative_code",
                        person_id=person_id,
                        representation_id=row.id,
                    )
                )
    return render_template(
        "representatives/legal.html", values=values, errors=errors, person_id=str(person_id)
    )


@bp.route("/people/<uuid:person_id>/representatives/<uuid:representation_id>/code")
@staff_with(Role.CASEWORKER)
def legal_representative_code(person_id: Any, representation_id: Any) -> ResponseReturnValue:
    return _code_page(str(representation_id), url_for("web.brief", person_id=person_id))


# -- the DPO reviews legal representatives -----------------------------------------------------


@bp.route("/dpo/representatives")
@staff_with(Role.DPO)
def dpo_representatives() -> ResponseReturnValue:
    actor = current_actor()
    waiting = operations.legal_queue(actor, False)
    done = operations.legal_queue(actor, True)
    return render_template("representatives/dpo_queue.html", waiting=waiting, done=done)


@bp.route("/dpo/representatives/<uuid:representation_id>", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_representative_review(representation_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    row = operations.legal_for_review(actor, str(representation_id))
    values = {"outcome": "", "notes": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        if values["outcome"] not in operations.REVIEW_OUTCOMES:
            errors["outcome"] = gettext("Choose whether to approve them")
        if not values["notes"]:
            errors["notes"] = gettext("Write a note about your decision")
        if not errors:
            try:
                operations.review(actor, row.id, values["outcome"], values["notes"])
            except Forbidden:
                status = 403  # their own recording (logged): the page says who may
            except Conflict as error:
                errors["outcome"] = error.detail
            else:
                flash(gettext("Review saved."))
                return redirect(url_for("web.dpo_representatives"))
    recorder = db_staff(row.recorded_by_id)
    return render_template(
        "representatives/dpo_review.html",
        row=row,
        recorder=recorder,
        evidence=operations.evidence_of(row),
        values=values,
        errors=errors,
        own=row.recorded_by_id == actor.id,
    ), status


def db_staff(staff_id: str) -> Staff | None:
    return db.session.get(Staff, staff_id)


@bp.app_context_processor
def _representative_helpers() -> dict[str, Any]:
    def is_contributor_here(person_id: str) -> bool:
        return grants.is_contributor(current_actor(), person_id)

    return {"is_contributor_here": is_contributor_here}
