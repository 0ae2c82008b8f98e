"""MDT pages for chairs and members: my MDTs, a forum's meetings, a meeting's agenda, the
shared summary (on screen, printable and PDF) and actions.

An MDT (multi-disciplinary team) is a meeting of services working together. Every rule is the
domain's (passport.mdt): membership, chairing, consent for the agenda and the summary. These
views only parse forms, call it, and render. A refusal from below becomes the 403 page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext, lazy_gettext

from .. import db
from ..errors import Conflict, ConsentRequired, Invalid
from ..identity.actor import Actor
from ..identity.models import Staff
from ..mdt import operations, printing, summary
from ..mdt.models import ForumMember, Meeting
from ..records import views
from ..unit_of_work import reads_only
from ..vocabulary import Role
from . import bp
from .common import current_actor, day, refusal_detail, staff_with
from .plain import Check, Field, example_day

STAFF = (Role.CASEWORKER, Role.MDT_CHAIR, Role.DPO, Role.ADMIN)
STATUSES = ("done", "dropped", "open")
TITLE_MAX = 200
ACTION_TEXT_MAX = 2000

MEETING_FIELDS = (
    Field(
        "held_on",
        lazy_gettext("Date of the meeting"),
        kind="date",
        required=lazy_gettext("Enter the date of the meeting"),
    ),
    Field("title", lazy_gettext("Title"), max_length=TITLE_MAX),
)
AGENDA_FIELDS = (
    Field(
        "person_id",
        lazy_gettext("Person"),
        kind="choice",
        required=lazy_gettext("Choose a person to add"),
        choose=lazy_gettext("Choose a person to add"),
    ),
)
ACTION_FIELDS = (
    Field(
        "person_id",
        lazy_gettext("Who it is for"),
        kind="choice",
        required=lazy_gettext("Choose who the action is for"),
        choose=lazy_gettext("Choose who the action is for"),
    ),
    Field(
        "owner_staff_id",
        lazy_gettext("Who will do it"),
        kind="choice",
        required=lazy_gettext("Choose who will do it, from the MDT's members"),
        choose=lazy_gettext("Choose who will do it, from the MDT's members"),
    ),
    Field(
        "text",
        lazy_gettext("What they will do"),
        required=lazy_gettext("Say what will be done"),
        max_length=ACTION_TEXT_MAX,
    ),
    Field(
        "due_on",
        lazy_gettext("The date it is due"),
        kind="date",
        required=lazy_gettext("Enter the date it is due"),
    ),
)


# -- reads the pages need (names only; consent decided by the domain) ---------------------


def _members(forum_id: str) -> list[tuple[Staff, str]]:
    return operations.members_of(forum_id)


def _shared_with_forum(actor: Actor, forum_id: str) -> dict[str, dict[str, Any]]:
    """People the actor may name at this forum: in their caseload (decided by the consent
    decision point) and with a live `mdt` grant to this forum."""
    return {
        p["id"]: p
        for p in views.caseload(actor)
        if operations.live_mdt_grant(p["id"], forum_id) is not None
    }


def _agenda(actor: Actor, meeting: Meeting) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """(people on the agenda who still agree to share, how many no longer do, everyone who
    could be added). Nobody is named without their live agreement."""
    shared = _shared_with_forum(actor, meeting.forum_id)
    on_agenda = operations.agenda_person_ids(meeting.id)
    named = [shared[p] for p in on_agenda if p in shared]
    could_add = {pid: p for pid, p in shared.items() if pid not in set(on_agenda)}
    return named, len(on_agenda) - len(named), could_add


def _meeting_for_member(meeting_id: Any) -> tuple[Meeting, ForumMember]:
    meeting = operations.get_meeting(str(meeting_id))
    return meeting, operations.require_member(current_actor(), meeting.forum_id)


# -- my MDTs and a forum's meetings --------------------------------------------------------


@bp.route("/mdt")
@staff_with(*STAFF)
def my_mdts() -> ResponseReturnValue:
    actor = current_actor()
    forums = []
    for forum in operations.forums_for(actor):
        member = operations.membership(actor, forum.id)
        if member is not None:  # an admin is shown all forums by the domain: only seats here
            forums.append((forum, member.role))
    return render_template("mdt/my_mdts.html", forums=forums)


@bp.route("/mdt/forums/<uuid:forum_id>", methods=["GET", "POST"])
@staff_with(*STAFF)
def mdt_forum(forum_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    forum = operations.get_forum(str(forum_id))
    member = operations.require_member(actor, forum.id)
    check = Check(MEETING_FIELDS)
    if request.method == "POST":
        first, last = operations.meeting_day_bounds()
        held_on = check.date(request.form, "held_on", first=first, last=last)
        title = check.text(request.form, "title")
        if check.ok and held_on is not None:
            try:
                meeting = operations.create_meeting(actor, forum.id, held_on, title or None, [])
            except Invalid as error:
                check.invalid(error)
            else:
                flash(gettext("Meeting scheduled."))
                return redirect(url_for("web.mdt_meeting", meeting_id=meeting.id))
    return render_template(
        "mdt/forum.html",
        forum=forum,
        role=member.role,
        meetings=operations.meetings_of(actor, forum.id),
        members=_members(forum.id),
        errors=check.errors,
        values=check.values,
        example=example_day(14),
        max_title=TITLE_MAX,
    )


# -- a meeting: the agenda -------------------------------------------------------------------


@bp.route("/mdt/meetings/<uuid:meeting_id>", methods=["GET", "POST"])
@staff_with(*STAFF)
def mdt_meeting(meeting_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    meeting, member = _meeting_for_member(meeting_id)
    forum = operations.get_forum(meeting.forum_id)
    check = Check(AGENDA_FIELDS)
    status = 200
    if request.method == "POST":
        person_id = check.text(request.form, "person_id")
        if check.ok:
            try:
                operations.add_to_agenda(actor, meeting.id, person_id)
            except ConsentRequired as refusal:
                # The domain's own plain message; the person is not named.
                check.add("person_id", refusal_detail(refusal)[0])
                status = 403
            except Invalid as error:
                check.invalid(error)
            except Conflict:
                check.add("person_id", gettext("This person is already on the agenda"))
            else:
                flash(gettext("Added to the agenda."))
                return redirect(url_for("web.mdt_meeting", meeting_id=meeting.id))
    named, not_sharing, could_add = _agenda(actor, meeting)
    return (
        render_template(
            "mdt/meeting.html",
            forum=forum,
            meeting=meeting,
            role=member.role,
            agenda=named,
            not_sharing=not_sharing,
            could_add=sorted(
                could_add.values(), key=lambda p: (p["preferred_name"] or "").casefold()
            ),
            errors=check.errors,
        ),
        status,
    )


# -- the shared summary ------------------------------------------------------------------------


@bp.route("/mdt/meetings/<uuid:meeting_id>/summary")
@reads_only
@staff_with(*STAFF)
def mdt_summary(meeting_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    data = summary.build_summary(actor, str(meeting_id), fmt="page")
    member = operations.require_member(actor, data["meeting"]["forum"]["id"])
    return render_template(
        "mdt/summary.html", summary=data, meeting=data["meeting"], role=member.role
    )


def _printed_by(actor: Actor) -> str:
    staff = db.session.get(Staff, actor.id)
    return f"{actor.name} ({staff.agency.name})" if staff else actor.name


def _locale() -> str:
    """The page's language (`?lang=cy`, remembered, or the browser's): the print view and
    the PDF follow it."""
    return str(get_locale() or "en")


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def _print_policy(html: str) -> str:
    """The print view carries its own stylesheet inline (it is also the PDF's source), so
    its policy allows exactly that stylesheet, by hash, and nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() + "'"
        for block in _STYLE.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src {hashes}" if hashes else "style-src 'none'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@bp.route("/mdt/meetings/<uuid:meeting_id>/summary/print")
@reads_only
@staff_with(*STAFF)
def mdt_summary_print(meeting_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    data = summary.build_summary(actor, str(meeting_id), fmt="html")
    html = printing.render_html(data, _printed_by(actor), db.utcnow(), _locale())
    return Response(
        html,
        mimetype="text/html",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": _print_policy(html)},
    )


@bp.route("/mdt/meetings/<uuid:meeting_id>/summary.pdf")
@reads_only
@staff_with(*STAFF)
def mdt_summary_pdf(meeting_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    data = summary.build_summary(actor, str(meeting_id), fmt="pdf")
    pdf = printing.render_pdf(data, _printed_by(actor), db.utcnow(), _locale())
    filename = f"mdt-summary-{data['meeting']['held_on'].isoformat()}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


# -- actions ------------------------------------------------------------------------------------


@bp.route("/mdt/meetings/<uuid:meeting_id>/actions/new", methods=["GET", "POST"])
@staff_with(*STAFF)
def mdt_add_action(meeting_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    meeting = operations.get_meeting(str(meeting_id))
    operations.require_chair(actor, meeting.forum_id)
    forum = operations.get_forum(meeting.forum_id)
    named, _, _ = _agenda(actor, meeting)
    members = _members(forum.id)
    check = Check(ACTION_FIELDS)
    status = 200
    check.values["person_id"] = request.args.get("person_id", "")
    if request.method == "POST":
        # Who it is for and who does it are the domain's to decide (refusals logged there).
        person_id = check.text(request.form, "person_id")
        owner = check.text(request.form, "owner_staff_id")
        text = check.text(request.form, "text")
        first, last = operations.due_day_bounds()
        due_on = check.date(
            request.form,
            "due_on",
            first=first,
            last=last,
            too_early=gettext("The date it is due must be today or in the future"),
            too_late=gettext("The date it is due must be %(last)s or earlier", last=day(last)),
        )
        if check.ok and due_on is not None:
            try:
                operations.add_action(actor, meeting.id, person_id, owner, text, due_on)
            except ConsentRequired as refusal:
                check.add("person_id", refusal_detail(refusal)[0])
                status = 403
            except Invalid as error:
                check.invalid(error)  # an owner not of this MDT is refused (and logged) below
            else:
                flash(gettext("Action added."))
                return redirect(url_for("web.mdt_summary", meeting_id=meeting.id))
    return (
        render_template(
            "mdt/add_action.html",
            forum=forum,
            meeting=meeting,
            agenda=named,
            members=members,
            errors=check.errors,
            values=check.values,
            example=example_day(14),
            max_text=ACTION_TEXT_MAX,
        ),
        status,
    )


@bp.route("/mdt/actions/<uuid:action_id>", methods=["POST"])
@staff_with(*STAFF)
def mdt_action_status(action_id: Any) -> ResponseReturnValue:
    status = request.form.get("status", "")
    if status not in STATUSES:
        abort(400)
    back = "summary" if request.form.get("back") == "summary" else "mine"
    if status == "dropped" and request.form.get("confirmed") != "yes":
        # Dropping cannot be undone on these pages: ask first.
        try:
            action = operations.action_to_change(current_actor(), str(action_id))
        except ConsentRequired:
            abort(403)
        return render_template("mdt/confirm_drop.html", action=action, back=back)
    action = operations.set_action_status(current_actor(), str(action_id), status)
    flash(gettext("Action marked done.") if status == "done" else gettext("Action updated."))
    if request.form.get("back") == "summary":
        return redirect(url_for("web.mdt_summary", meeting_id=action.meeting_id))
    return redirect(url_for("web.my_actions"))


@bp.route("/mdt/actions")
@staff_with(*STAFF)
def my_actions() -> ResponseReturnValue:
    actor = current_actor()
    actions = operations.my_actions(actor)
    names: dict[str, str] = {}
    if actions:
        names = {p["id"]: p["preferred_name"] for p in views.caseload(actor)}
    forum_names = {f.id: f.name for f in operations.forums_for(actor)}
    return render_template(
        "mdt/my_actions.html",
        open_actions=[a for a in actions if a.status == "open"],
        closed_actions=[a for a in actions if a.status != "open"],
        names=names,
        forum_names=forum_names,
    )
