"""Saying an entry is wrong, and answering (issue 16): the person's three pages (what is wrong
and whether to hide it, check, done) and the author's agency's list of open disputes and its
answer page. Every read goes through passport.records.views; every change through
passport.records.disputes, the same functions as the API."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..records import disputes, views
from ..records.content import EntryView
from ..records.disputed import NOTES_MAX, STATEMENT_MAX
from ..vocabulary import Purpose, Role
from . import bp
from .common import current_actor, person_only, staff_with
from .plain import Check, Field

DRAFT = "dispute"  # the person's answers, kept in the session until the check page


def _find(sections: dict[str, list[EntryView]], entry_id: str) -> EntryView | None:
    return next((e for entries in sections.values() for e in entries if e.id == entry_id), None)


def _disputable(entry: EntryView | None) -> bool:
    return (
        entry is not None
        and entry.section != "profile"
        and entry.author.get("agency_id") is not None
        and (entry.dispute is None or entry.dispute.answer is not None)
    )


def _my_entry(entry_id: str) -> tuple[dict[str, Any], EntryView]:
    actor = current_actor()
    view = views.passport(actor, actor.id, None)
    entry = _find(view.sections, entry_id)
    if entry is None:
        abort(404)
    return view.person, entry


def _draft(entry_id: str) -> dict[str, Any]:
    state = session.get(DRAFT)
    return state if isinstance(state, dict) and state.get("entry_id") == entry_id else {}


STATEMENT_FIELDS = (
    Field(
        "statement",
        lazy_gettext("What is wrong"),
        required=lazy_gettext("Say what is wrong"),
        max_length=STATEMENT_MAX,
        long=lazy_gettext("Say what is wrong in %(n)s characters or fewer", n=STATEMENT_MAX),
    ),
)
ANSWER_FIELDS = (
    Field(
        "outcome",
        lazy_gettext("Your answer"),
        kind="choice",
        required=lazy_gettext("Say whether you corrected it or it stays as written"),
        choose=lazy_gettext("Say whether you corrected it or it stays as written"),
    ),
    Field("notes", lazy_gettext("Notes for the person"), max_length=NOTES_MAX),
)


@bp.route("/me/entries/<uuid:entry_id>/wrong", methods=["GET", "POST"])
@person_only
def dispute_start(entry_id: Any) -> ResponseReturnValue:
    """What is wrong, in the person's own words, and whether to hide it meanwhile."""
    person, entry = _my_entry(str(entry_id))
    if not _disputable(entry):
        return render_template("disputes/not_disputable.html", entry=entry), 409
    draft = _draft(str(entry_id))
    errors: dict[str, str] = {}
    statement = str(draft.get("statement", ""))
    restrict = bool(draft.get("restrict", False))
    if request.method == "POST":
        check = Check(STATEMENT_FIELDS)
        statement = check.text(request.form, "statement")
        restrict = request.form.get("restrict") == "yes"
        errors = check.errors
        if check.ok:
            session[DRAFT] = {
                "entry_id": str(entry_id),
                "statement": statement,
                "restrict": restrict,
            }
            return redirect(url_for("web.dispute_check", entry_id=entry_id))
    return render_template(
        "disputes/start.html",
        person=person,
        entry=entry,
        statement=statement,
        restrict=restrict,
        errors=errors,
        limit=STATEMENT_MAX,
    )


@bp.route("/me/entries/<uuid:entry_id>/wrong/check", methods=["GET", "POST"])
@person_only
def dispute_check(entry_id: Any) -> ResponseReturnValue:
    draft = _draft(str(entry_id))
    if not draft:
        return redirect(url_for("web.dispute_start", entry_id=entry_id))
    person, entry = _my_entry(str(entry_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        actor = current_actor()
        try:
            disputes.raise_dispute(
                actor, actor.id, str(entry_id), draft["statement"], bool(draft["restrict"])
            )
        except Conflict:
            errors["send"] = gettext(
                "You have already said this is wrong. Wait for the service to answer."
            )
        except Invalid:
            return redirect(url_for("web.dispute_start", entry_id=entry_id))
        else:
            session.pop(DRAFT, None)
            return redirect(url_for("web.dispute_done", entry_id=entry_id))
    return render_template(
        "disputes/check.html",
        person=person,
        entry=entry,
        statement=draft["statement"],
        restrict=bool(draft["restrict"]),
        errors=errors,
    )


@bp.route("/me/entries/<uuid:entry_id>/wrong/done")
@person_only
def dispute_done(entry_id: Any) -> ResponseReturnValue:
    person, entry = _my_entry(str(entry_id))
    if entry.dispute is None:
        return redirect(url_for("web.dispute_start", entry_id=entry_id))
    return render_template("disputes/done.html", person=person, entry=entry)


# -- the author's agency -------------------------------------------------------------------


@bp.route("/disputes")
@staff_with(Role.CASEWORKER)
def disputes_waiting() -> ResponseReturnValue:
    """Entries your service wrote that the person says are wrong, waiting for an answer."""
    return render_template("disputes/waiting.html", waiting=disputes.waiting_for(current_actor()))


@bp.route("/people/<uuid:person_id>/entries/<uuid:entry_id>/answer", methods=["GET", "POST"])
@staff_with(Role.CASEWORKER)
def dispute_answer(person_id: Any, entry_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    view = views.passport(actor, str(person_id), Purpose.DIRECT_SUPPORT.value)
    entry = _find(view.sections, str(entry_id))
    waiting = disputes.open_dispute(str(person_id), str(entry_id))
    if entry is None or waiting is None:
        return render_template("disputes/nothing_to_answer.html", person=view.person), 404
    if not disputes.may_answer(actor, waiting):
        abort(403)
    errors: dict[str, str] = {}
    outcome = request.form.get("outcome", "")
    notes = request.form.get("notes", "").strip()
    if request.method == "POST":
        # Every problem at once, in page order (passport.web.plain).
        check = Check(ANSWER_FIELDS)
        outcome = check.choice(request.form, "outcome", disputes.OUTCOMES)
        notes = check.text(request.form, "notes")
        if outcome == "upheld" and not notes:
            check.add("notes", gettext("Tell the person why it stays as written"))
        errors = check.errors
        if check.ok:
            try:
                disputes.answer_dispute(actor, str(person_id), str(entry_id), outcome, notes)
            except Forbidden:
                abort(403)
            except NotFound:
                abort(404)
            except Conflict as refusal:
                if "answered" in refusal.detail:
                    errors["outcome"] = gettext("Someone has answered this already.")
                else:
                    errors["outcome"] = gettext(
                        "Change the entry first, then come back and say you corrected it."
                    )
            else:
                flash(gettext("Your answer has been saved. The person can see it."))
                return redirect(url_for("web.disputes_waiting"))
    return render_template(
        "disputes/answer.html",
        person=view.person,
        person_id=str(person_id),
        entry=entry,
        outcome=outcome,
        notes=notes,
        errors=errors,
        limit=NOTES_MAX,
    )
