"""Caseworkers' pages: my caseload, the pre-visit brief, and break-glass emergency access
(assisted consent is in passport.web.assisted). Reads go through passport.records.views."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from ..config import Settings
from ..consent import emergency
from ..consent.caseload import caseload as covered
from ..errors import ConsentRequired, Invalid
from ..records import views, writing
from ..unit_of_work import reads_only
from ..vocabulary import Purpose, Role, mixes_duties
from . import bp
from .common import current_actor, refusal_detail, staff_with
from .emergency import access_ends
from .plain import Check, Field


@bp.route("/caseload")
@reads_only
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
@reads_only
@staff_with(Role.CASEWORKER, Role.MDT_CHAIR)
def brief(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    purpose = request.args.get("purpose") or Purpose.DIRECT_SUPPORT.value
    try:
        data = views.brief(actor, str(person_id), purpose)
    except ConsentRequired as refusal:
        detail, detail_lang = refusal_detail(refusal)
        return (
            render_template(
                "caseworker/not_shared.html",
                person_id=str(person_id),
                detail=detail,
                detail_lang=detail_lang,
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


# Assisted consent (the person is present): passport.web.assisted.


REASON_MAX = 2000  # as the API (passport.api.schemas)
EMERGENCY_FIELDS = (
    Field(
        "reason",
        lazy_gettext("Why it is an emergency"),
        required=lazy_gettext("Say why this is an emergency"),
        min_length=emergency.MIN_REASON_LENGTH,
        max_length=REASON_MAX,
        short=lazy_gettext(
            "Say why this is an emergency, in at least %(n)s characters",
            n=emergency.MIN_REASON_LENGTH,
        ),
    ),
)


@bp.route("/people/<uuid:person_id>/emergency", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def emergency_access(person_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    settings: Settings = current_app.config["PASSPORT_SETTINGS"]
    check = Check(EMERGENCY_FIELDS)
    reason = ""
    if request.method == "POST":
        reason = check.text(request.form, "reason")
        if check.ok:
            try:
                emergency.open_emergency(
                    actor, str(person_id), reason, settings.emergency_access_hours
                )
            except Invalid as error:
                check.invalid(error)
            else:
                return redirect(url_for("web.brief", person_id=person_id, purpose="emergency"))
    return render_template(
        "caseworker/emergency.html",
        person_id=str(person_id),
        errors=check.errors,
        reason=reason,
        min_reason=emergency.MIN_REASON_LENGTH,
        max_reason=REASON_MAX,
        hours=settings.emergency_access_hours,
    )
