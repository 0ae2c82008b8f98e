"""The passport holder's pages: my passport, who can see my information (and stopping it in
one step), sharing with a service, who has looked, downloads. Writing in it (the story, what
works for me, every other section) is in web/entries.py.

Every read goes through passport.records.views (the consent decision point); every change
through the same domain functions as the API.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from .. import db
from ..consent import access_log, grants
from ..consent import circle as consent_circle
from ..consent.decision import grant_status
from ..errors import NotFound
from ..identity import directory
from ..records import disputed, views
from ..records.content import EntryView
from ..rights import operations as rights_operations
from . import bp, circle
from .common import SECTION_TITLES, current_actor, grant_sentence, log_cursor, person_only

SHAREABLE = ["story", "risk", "medication", "workers", "preferences", "profile"]
DURATIONS = {
    "direct_support": [("3m", 91), ("6m", 182), ("1y", 365)],
    "referral": [("1m", 30), ("3m", 90)],
}
DURATION_NAMES = {
    "1m": lazy_gettext("1 month"),
    "3m": lazy_gettext("3 months"),
    "6m": lazy_gettext("6 months"),
    "1y": lazy_gettext("1 year"),
}


# -- my passport ----------------------------------------------------------------------------


@bp.route("/me")
@person_only
def my_passport() -> ResponseReturnValue:
    # Sharing a worker recorded with the person is asked about first, one grant per page.
    if (question := circle.next_question()) is not None:
        return question
    actor = current_actor()
    view = views.passport(actor, actor.id, None)
    return render_template(
        "person/passport.html",
        person=view.person,
        sections=view.sections,
        order=["profile", "story", "preferences", "medication", "risk", "workers"],
    )


# -- who can see my information: passport.web.circle ----------------------------------------


# The guided "share with a service" flow: one question per page, answers kept in the session
# until the last page, where the person checks the sentence and shares.

SHARE_STEPS = ["who", "what", "why", "how-long", "check"]


def _share() -> dict[str, Any]:
    state = session.get("share")
    return state if isinstance(state, dict) else {}


def _save_share(**values: Any) -> None:
    state = _share()
    state.update(values)
    session["share"] = state


@bp.route("/me/sharing/new")
@person_only
def share_start() -> ResponseReturnValue:
    session.pop("share", None)
    return redirect(url_for("web.share_step", step="who"))


@bp.route("/me/sharing/new/<step>", methods=["GET", "POST"])
@person_only
def share_step(step: str) -> ResponseReturnValue:
    if step not in SHARE_STEPS:
        raise NotFound("there is no such page")
    state = _share()
    agencies = {a.id: a.name for a in directory.list_agencies()}
    errors: dict[str, str] = {}
    # Without the earlier answers, go back to the first question that is missing.
    needed = {"what": ["agency_id"], "why": ["agency_id", "sections"]}
    needed["how-long"] = [*needed["why"], "purpose"]
    needed["check"] = [*needed["how-long"], "days"]
    if any(key not in state for key in needed.get(step, [])):
        return redirect(url_for("web.share_step", step="who"))
    if request.method == "POST":
        if step == "who":
            agency_id = request.form.get("agency_id", "")
            if agency_id in agencies:
                _save_share(agency_id=agency_id)
                return redirect(url_for("web.share_step", step="what"))
            errors["agency_id"] = gettext("Choose who you want to share with")
        elif step == "what":
            chosen = [s for s in request.form.getlist("sections") if s in SHAREABLE]
            if chosen:
                _save_share(sections=chosen)
                return redirect(url_for("web.share_step", step="why"))
            errors["sections"] = gettext("Choose at least one thing to share")
        elif step == "why":
            purpose = request.form.get("purpose", "")
            if purpose in DURATIONS:
                _save_share(purpose=purpose)
                return redirect(url_for("web.share_step", step="how-long"))
            errors["purpose"] = gettext("Choose why you are sharing")
        elif step == "how-long":
            choice = dict(DURATIONS[state["purpose"]]).get(request.form.get("days", ""))
            if choice:
                _save_share(days=choice)
                return redirect(url_for("web.share_step", step="check"))
            errors["days"] = gettext("Choose how long they can see it")
        else:
            actor = current_actor()
            today = db.utcnow().date()
            grants.create_grant(
                actor,
                actor.id,
                grantee_type="agency",
                grantee_id=state["agency_id"],
                sections=state["sections"],
                purpose=state["purpose"],
                expires_on=today + timedelta(days=int(state["days"])),
                method="self",
            )
            session.pop("share", None)
            flash(
                gettext(
                    "Done. %(name)s can now see what you chose.", name=agencies[state["agency_id"]]
                )
            )
            return redirect(url_for("web.sharing"))
    today = db.utcnow().date()
    sentence = None
    if step == "check":
        sentence = grant_sentence(
            agencies.get(state["agency_id"], ""),
            state["sections"],
            state["purpose"],
            today,
            today + timedelta(days=int(state["days"])),
        )
    back = SHARE_STEPS[SHARE_STEPS.index(step) - 1] if step != "who" else None
    return render_template(
        f"person/share_{step.replace('-', '_')}.html",
        state=state,
        errors=errors,
        agencies=sorted(agencies.items(), key=lambda a: a[1].casefold()),
        shareable=SHAREABLE,
        durations=DURATIONS.get(state.get("purpose", ""), []),
        duration_names=DURATION_NAMES,
        sentence=sentence,
        back=url_for("web.share_step", step=back) if back else url_for("web.sharing"),
    )


# -- who has looked at my record ------------------------------------------------------------


@bp.route("/me/looked")
@person_only
def looked() -> ResponseReturnValue:
    actor = current_actor()
    # A cursor the log could not hold starts from the newest, as no cursor does.
    before = log_cursor(request.args.get("before"))
    page = access_log.looked_page(actor, actor.id, before_seq=before)
    return render_template(
        "person/looked.html",
        others=page.others,
        own=page.own,
        reads=access_log.READS,
        next_before=page.next_before_seq,
    )


# -- download -------------------------------------------------------------------------------


@bp.route("/me/download")
@person_only
def download() -> ResponseReturnValue:
    # Copies a data protection officer made for the person's subject access requests.
    actor = current_actor()
    copies = rights_operations.requests_for_person(actor, actor.id)
    return render_template("person/download.html", copies=copies)


def _entry_json(entry: EntryView) -> dict[str, Any]:
    return {
        "id": entry.id,
        "section": entry.section,
        "revision": entry.revision,
        "status": entry.status,
        "hidden": entry.hidden,
        "content": entry.content,
        "author": entry.author,
        "created_at": entry.created_at.isoformat(),
        "written_with_person": entry.written_with_person,
        "dispute": disputed.as_json(entry.dispute),
    }


@bp.route("/me/download/passport.json")
@person_only
def download_json() -> ResponseReturnValue:
    actor = current_actor()
    view = views.passport(actor, actor.id, None)
    body = {
        "person": view.person,
        "sections": {
            name: [_entry_json(e) for e in items] for name, items in view.sections.items()
        },
        "consents": [
            {
                "id": g.id,
                "grantee": grants.grantee_of(g).name,
                "sections": g.sections,
                "purpose": g.purpose,
                "starts_on": g.starts_on.isoformat(),
                "expires_on": g.expires_on.isoformat(),
                "status": grant_status(g, db.utcnow().date()),
                "receipt": g.receipt,
            }
            for g in grants.list_grants(actor, actor.id)
        ],
        "access_log": _whole_access_log(actor),
        "downloaded_on": date.today().isoformat(),
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={
            "Content-Disposition": "attachment; filename=my-passport.json",
            "Cache-Control": "no-store",
        },
    )


def _whole_access_log(actor: Any) -> list[dict[str, Any]]:
    """Every event in the person's access log (the API's view of it), newest first."""
    items: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = access_log.person_access_log(actor, actor.id, before_seq=before, limit=500)
        items.extend(page.items)
        if page.next_before_seq is None:
            return items
        before = page.next_before_seq


@bp.route("/me/download/passport.pdf")
@person_only
def download_pdf() -> ResponseReturnValue:
    from weasyprint import HTML

    actor = current_actor()
    view = views.passport(actor, actor.id, None)
    html = render_template(
        "person/passport_pdf.html",
        person=view.person,
        sections=view.sections,
        order=["profile", "story", "preferences", "medication", "risk", "workers"],
        titles=SECTION_TITLES,
        today=date.today(),
        can_see=[i for i in consent_circle.who_can_see(actor, actor.id) if i.live],
        looked=access_log.looked_page(actor, actor.id),
        reads=access_log.READS,
    )
    pdf = HTML(string=html, url_fetcher=_no_fetching).write_pdf()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": "attachment; filename=my-passport.pdf",
            "Cache-Control": "no-store",
        },
    )


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The PDF is built from this page alone: nothing is fetched from anywhere.
    raise ValueError("external resources are not fetched")
