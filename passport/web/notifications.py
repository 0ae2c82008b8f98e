"""Messages: everyone's inbox (people, staff, and representatives once they exist), marking
them read, and — for the person — how they want to be told besides the inbox."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_login import current_user

from ..errors import Invalid, NotFound
from ..notifications import inbox, preferences
from ..notifications.outbox import channels
from . import bp
from .common import current_actor, person_only, signed_in

CHANNELS = ("inbox", "sms", "email", "letter")


def unread_messages() -> int:
    """For the header: the signed-in account's unread messages (one indexed count)."""
    if not current_user.is_authenticated:
        return 0
    return inbox.unread_count(current_actor())


@bp.route("/me/messages")
@signed_in
def messages() -> ResponseReturnValue:
    actor = current_actor()
    try:
        page = inbox.messages(actor, request.args.get("after") or None, 20)
    except Invalid:
        page = inbox.messages(actor, None, 20)  # a cursor we never gave: start at the newest
    return render_template("messages/inbox.html", items=page.items, next_cursor=page.next_cursor)


@bp.route("/me/messages/<uuid:notification_id>/read", methods=["POST"])
@signed_in
def message_read(notification_id: object) -> ResponseReturnValue:
    try:
        inbox.mark_read(current_actor(), str(notification_id))
    except NotFound:
        abort(404)
    return redirect(url_for("web.messages"))


@bp.route("/me/messages/read-all", methods=["POST"])
@signed_in
def messages_read_all() -> ResponseReturnValue:
    if inbox.mark_all_read(current_actor()):
        flash(gettext("All your messages are marked as read."))
    return redirect(url_for("web.messages"))


@bp.route("/me/messages/how", methods=["GET", "POST"])
@person_only
def message_choice() -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    chosen = preferences.current(actor)
    form = {
        "channel": chosen.channel,
        "phone": chosen.phone or "",
        "email": chosen.email or "",
        "address": "\n".join(chosen.address),
        "fuller_inbox": chosen.fuller_inbox,
    }
    if request.method == "POST":
        form = {
            "channel": request.form.get("channel", ""),
            "phone": request.form.get("phone", ""),
            "email": request.form.get("email", ""),
            "address": request.form.get("address", ""),
            "fuller_inbox": request.form.get("fuller_inbox") == "yes",
        }
        try:
            preferences.choose(
                actor,
                str(form["channel"]),
                phone=str(form["phone"]),
                email=str(form["email"]),
                address=str(form["address"]).splitlines(),
                fuller_inbox=bool(form["fuller_inbox"]),
                language=str(get_locale() or "en"),
            )
        except Invalid as error:
            errors = {key: _plain(key) for key in error.errors or {}}
        else:
            flash(gettext("Saved. This is how we will tell you when something happens."))
            return redirect(url_for("web.messages"))
    return render_template(
        "messages/choice.html",
        form=form,
        errors=errors,
        sending=bool(channels.enabled),
    )


def _plain(field: str) -> str:
    words: dict[str, str] = {
        "channel": gettext("Choose how you want to be told"),
        "phone": gettext("Enter a UK mobile number, like 07700 900123"),
        "email": gettext("Enter an email address, like name@example.com"),
        "address": gettext("Enter the address on 3 to 7 lines, with the postcode on the last line"),
    }
    return words.get(field) or gettext("Check this answer")
