"""Caseworkers' pages: my caseload, the pre-visit brief, assisted consent (the person is
present), and break-glass emergency access. Reads go through passport.records.views."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from .. import db
from ..config import Settings
from ..consent import emergency, grants
from ..consent.caseload import caseload as covered
from ..errors import ConsentRequired, Invalid
from ..identity import directory
from ..records import views, writing
from ..vocabulary import GRANTABLE_PURPOSES, Purpose, Role, mixes_duties
from . import bp
from .common import current_actor, staff_with
from .emergency import access_ends
from .person import SHAREABLE, _field_errors

ASSISTED = ["verbal", "written", "interpreter"]


@bp.route("/caseload")
@staff_with(Role.CASEWORKER)
def caseload() -> ResponseReturnValue:
    actor = current_actor()
    name = request.args.get("name", "").strip() or None
    people = views.caseload(actor, name)
    purposes = {person_id: purpose.value for person_id, purpose in covered(actor)}
    return render_template(
        "caseworker/caseload.html",
        people=people,
        purposes=purposes,
        name=name,
        mixed_duties=mixes_duties(actor.roles),
    )


@bp.route("/people/<uuid:person_id>/brief")
@staff_with(Role.CASEWORKER, Role.MDT_CHAIR)
def brief(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    purpose = request.args.get("purpose") or Purpose.DIRECT_SUPPORT.value
    try:
        data = views.brief(actor, str(person_id), purpose)
    except ConsentRequired as refusal:
        return (
            render_template(
                "caseworker/not_shared.html",
                person_id=str(person_id),
                detail=refusal.detail,
                purpose=purpose,
            ),
            403,
        )
    live = emergency.live_access(actor, str(person_id)) if purpose == "emergency" else None
    writable = [s.value for s in writing.writable_sections(actor, str(person_id))]
    return render_template(
        "caseworker/brief.html",
        brief=data,
        person_id=str(person_id),
        purpose=purpose,
        emergency_ends=access_ends(live.expires_at) if live else None,
        writable=writable,
    )


@bp.route("/people/<uuid:person_id>/consent/new", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def assisted_consent(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    agencies = directory.list_agencies()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"sections": [], "purpose": "direct_support"}
    if request.method == "POST":
        values = {
            "agency_id": request.form.get("agency_id", ""),
            "sections": request.form.getlist("sections"),
            "purpose": request.form.get("purpose", ""),
            "expires_on": request.form.get("expires_on", ""),
            "method": request.form.get("method", ""),
            "notes": request.form.get("notes", "").strip(),
            "present": request.form.get("present") == "yes",
        }
        if not values["present"]:
            errors["present"] = gettext(
                "Only record this with the person here with you, agreeing to it"
            )
        if values["method"] not in ASSISTED:
            errors["method"] = gettext("Choose how the person told you")
        try:
            expires_on = date.fromisoformat(values["expires_on"])
        except ValueError:
            errors["expires_on"] = gettext("Enter the last day, for example 2027-03-03")
            expires_on = db.utcnow().date() + timedelta(days=1)
        if not errors:
            try:
                grants.create_grant(
                    actor,
                    str(person_id),
                    grantee_type="agency",
                    grantee_id=values["agency_id"],
                    sections=values["sections"],
                    purpose=values["purpose"],
                    expires_on=expires_on,
                    method=values["method"],
                    notes=values["notes"] or None,
                )
            except Invalid as error:
                errors = _field_errors(error)
            else:
                flash(gettext("Recorded. The person can see this on their passport."))
                return redirect(url_for("web.caseload"))
    return render_template(
        "caseworker/assisted_consent.html",
        person_id=str(person_id),
        agencies=agencies,
        errors=errors,
        values=values,
        shareable=SHAREABLE,
        purposes=[p.value for p in GRANTABLE_PURPOSES if p is not Purpose.MDT],
        methods=ASSISTED,
    )


@bp.route("/people/<uuid:person_id>/emergency", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def emergency_access(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    settings: Settings = current_app.config["PASSPORT_SETTINGS"]
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        try:
            emergency.open_emergency(actor, str(person_id), reason, settings.emergency_access_hours)
        except Invalid:
            errors["reason"] = gettext(
                "Say why this is an emergency, in at least %(n)s characters",
                n=emergency.MIN_REASON_LENGTH,
            )
        else:
            return redirect(url_for("web.brief", person_id=person_id, purpose="emergency"))
    return render_template(
        "caseworker/emergency.html",
        person_id=str(person_id),
        errors=errors,
        reason=reason,
        hours=settings.emergency_access_hours,
    )
