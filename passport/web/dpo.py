"""The data protection officer's pages: the access log with filters, the break-glass review
queue, and the log's integrity with its last signed checkpoint. DPOs never read content."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from ..audit import operations as audit_operations
from ..consent import emergency
from ..errors import Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.directory import names_of
from ..vocabulary import Action, Outcome, Role
from . import bp
from .common import current_actor, log_cursor, staff_with

PAGE = 50
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(9999, 12, 30)  # the day after it must still be a date


def _day_start(value: str) -> datetime | None:
    """The start of a day given as YYYY-MM-DD; None for anything else (the caller says so)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        return None
    return datetime.combine(day, time(), tzinfo=UTC)


@bp.route("/dpo/log")
@staff_with(Role.DPO)
def dpo_log() -> ResponseReturnValue:
    actor = current_actor()
    args = request.args
    filters = {k: args.get(k, "").strip() for k in ("person_id", "actor_id", "action", "outcome")}
    errors: dict[str, str] = {}
    since = _day_start(args.get("since", "").strip())
    until = _day_start(args.get("until", "").strip())
    for name, parsed in (("since", since), ("until", until)):
        if args.get(name, "").strip() and parsed is None:
            errors[name] = gettext("Enter a real day, for example 2027-03-03")
    if filters["action"] and filters["action"] not in {a.value for a in Action}:
        errors["action"] = gettext("Choose an action from the list")
        filters["action"] = ""
    if filters["outcome"] and filters["outcome"] not in {o.value for o in Outcome}:
        errors["outcome"] = gettext("Choose an outcome from the list")
        filters["outcome"] = ""
    # Newest first; "after" (the old, oldest-first cursor) is still read and bounded.
    before = log_cursor(args.get("before", "").strip() or "0")
    if before is None:
        errors["before"] = gettext("That page of the log does not exist: start from the first")
    if log_cursor(args.get("after", "").strip() or "0") is None:
        errors["after"] = gettext("That page of the log does not exist: start from the first")
    where = audit_operations.EventFilter(
        person_id=filters["person_id"] or None,
        actor_id=filters["actor_id"] or None,
        action=filters["action"] or None,
        outcome=filters["outcome"] or None,
        since=since,
        until=until + timedelta(days=1) if until else None,
    )
    # A filter that cannot be read is named, and nothing is searched: a search that quietly
    # dropped it would show the DPO events they did not ask for as if they had.
    items: list[Any] = []
    next_before: int | None = None
    if not errors:
        items, next_before = audit_operations.search_newest_first(
            actor, where, before_seq=before or None, limit=PAGE
        )
    staff_names, agency_names = names_of(
        {str(e["actor"].get("id")) for e in items if (e["actor"] or {}).get("kind") == "staff"},
        {str(e["actor"]["agency_id"]) for e in items if (e["actor"] or {}).get("agency_id")},
    )
    query = {k: v for k, v in args.items() if k not in ("after", "before") and v}
    return render_template(
        "dpo/log.html",
        items=items,
        next_before=next_before,
        staff_names=staff_names,
        agency_names=agency_names,
        filters=filters,
        since=args.get("since", ""),
        until=args.get("until", ""),
        actions=[a.value for a in Action],
        outcomes=[o.value for o in Outcome],
        query=query,
        errors=errors,
    )


@bp.route("/dpo/emergency")
@staff_with(Role.DPO)
def dpo_emergency() -> ResponseReturnValue:
    items = emergency.review_queue(current_actor(), None)
    waiting = [i for i in items if i.review is None]
    done = [i for i in items if i.review is not None]
    return render_template("dpo/emergency.html", waiting=waiting, done=done)


@bp.route("/dpo/emergency/<uuid:access_id>", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_review(access_id: Any) -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    values = {"outcome": "", "notes": ""}
    if request.method == "POST":
        values = {
            "outcome": request.form.get("outcome", ""),
            "notes": request.form.get("notes", "").strip(),
        }
        if values["outcome"] not in emergency.REVIEW_OUTCOMES:
            errors["outcome"] = gettext("Choose whether the emergency access was justified")
        if not values["notes"]:
            errors["notes"] = gettext("Write a note about your decision")
        if not errors:
            try:
                emergency.review(actor, str(access_id), values["outcome"], values["notes"])
            except Invalid as error:
                errors["outcome"] = error.detail
            except Forbidden:
                # Their own break-glass (logged by the domain): the page below says who may.
                return render_template(
                    "dpo/review.html", item=_queued(actor, access_id), errors={}, values=values
                ), 403
            else:
                flash(gettext("Review saved."))
                return redirect(url_for("web.dpo_emergency"))
    item = _queued(actor, access_id)
    return render_template("dpo/review.html", item=item, errors=errors, values=values)


def _queued(actor: Actor, access_id: Any) -> emergency.EmergencyItem:
    item = next((i for i in emergency.review_queue(actor, None) if i.id == str(access_id)), None)
    if item is None:
        raise NotFound("there is no such emergency access for you to review")
    return item


@bp.route("/dpo/integrity", methods=["GET", "POST"])
@staff_with(Role.DPO)
def dpo_integrity() -> ResponseReturnValue:
    actor = current_actor()
    result: Any = None
    if request.method == "POST":
        result = audit_operations.verify_log(actor)
    last: dict[str, Any] | None = None
    after: int | None = 0
    while after is not None:  # pages of checkpoints, oldest first: keep the newest
        page, after = audit_operations.list_checkpoints(actor, after_seq=after)
        last = page[-1] if page else last
    return render_template("dpo/integrity.html", result=result, last=last)
