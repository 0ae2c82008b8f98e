"""Admins' pages: agencies, staff accounts, MDT forums. Admins never read record content."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from .. import db
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity import accounts, directory
from ..identity.models import Staff
from ..identity.passwords import MIN_PASSWORD_LENGTH
from ..mdt import operations as mdt
from ..mdt.operations import FORUM_NAME_MAX, MEMBER_ROLES
from ..vocabulary import AgencyKind, Role, mixes_duties
from . import bp
from .common import current_actor, staff_with
from .plain import Check, Field

AGENCY_FIELDS = (
    Field(
        "name",
        lazy_gettext("Name"),
        required=lazy_gettext("Enter the agency’s name"),
        max_length=accounts.AGENCY_NAME_MAX,
    ),
    Field(
        "kind",
        lazy_gettext("Kind"),
        kind="choice",
        required=lazy_gettext("Choose what kind of service it is"),
        choose=lazy_gettext("Choose what kind of service it is"),
    ),
)


@bp.route("/admin", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_home() -> ResponseReturnValue:
    check = Check(AGENCY_FIELDS)
    values = {"name": "", "kind": ""}
    if request.method == "POST":
        name = check.text(request.form, "name")
        kind = check.choice(request.form, "kind", [k.value for k in AgencyKind])
        values = {"name": name, "kind": check.values["kind"]}
        if check.ok:
            try:
                accounts.add_agency(current_actor(), name, kind)
            except Invalid as error:
                check.invalid(error)
            except Conflict:
                check.add("name", duplicate_agency())
            else:
                flash(gettext("Agency added."))
                return redirect(url_for("web.admin_home"))
    return render_template(
        "admin/agencies.html",
        agencies=directory.list_agencies(),
        kinds=[k.value for k in AgencyKind],
        errors=check.errors,
        values=values,
        max_name=accounts.AGENCY_NAME_MAX,
    )


def duplicate_agency() -> str:
    return str(
        gettext(
            "There is already an agency with this name. Use a different name, or use the "
            "agency that is already there."
        )
    )


STAFF_FIELDS = (
    Field(
        "username",
        lazy_gettext("Username"),
        required=lazy_gettext("Enter a username"),
        max_length=accounts.USERNAME_MAX,
    ),
    Field("name", lazy_gettext("Full name"), max_length=accounts.STAFF_NAME_MAX),
    Field(
        "password",
        lazy_gettext("First password"),
        kind="password",
        required=lazy_gettext("Enter a first password"),
        min_length=MIN_PASSWORD_LENGTH,
    ),
    Field(
        "agency_id",
        lazy_gettext("Agency"),
        kind="choice",
        required=lazy_gettext("Choose an agency"),
        choose=lazy_gettext("Choose an agency"),
    ),
    Field(
        "roles",
        lazy_gettext("Roles"),
        kind="choice",
        required=lazy_gettext("Choose at least one role"),
        choose=lazy_gettext("Choose at least one role"),
    ),
    Field(
        "scheme_wide",
        lazy_gettext("Whole scheme"),
        kind="choice",
        choose=lazy_gettext(
            "Only a DPO can see the whole scheme’s log: untick this, or choose DPO"
        ),
    ),
)


def mixed_duties_message() -> str:
    return str(
        gettext(
            "Choose reading roles (caseworker, MDT chair) or oversight roles "
            "(DPO, admin), not both. Someone who needs both needs two accounts."
        )
    )


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_staff() -> ResponseReturnValue:
    actor = current_actor()
    check = Check(STAFF_FIELDS)
    values: dict[str, object] = {"roles": []}
    agencies = directory.list_agencies()
    if request.method == "POST":
        username = check.text(request.form, "username")
        name = check.text(request.form, "name")
        password = check.text(request.form, "password", strip=False)
        agency_id = check.choice(request.form, "agency_id", [a.id for a in agencies])
        roles = check.choices(request.form, "roles", [r.value for r in Role])
        scheme_wide = request.form.get("scheme_wide") == "yes"
        if scheme_wide and Role.DPO.value not in roles:
            check.add("scheme_wide", check.fields["scheme_wide"].choose)
        mixed = mixes_duties([r for r in roles if r in {x.value for x in Role}])
        values = {
            "username": username,
            "name": name,
            "agency_id": check.values["agency_id"],
            "roles": roles,
            "scheme_wide": scheme_wide,
        }
        if mixed and not check.ok:
            check.add("roles", mixed_duties_message())
        if check.ok:
            # A mixed set of roles goes to the domain, which refuses it and logs the try.
            try:
                accounts.add_staff(
                    actor,
                    username=username,
                    password=password,
                    agency_id=agency_id,
                    roles=roles,
                    name=name or None,
                    scheme_wide=scheme_wide,
                )
            except Invalid as error:
                if mixed:
                    check.add("roles", mixed_duties_message())
                check.invalid(error)
            except NotFound:
                check.add("agency_id", check.fields["agency_id"].choose)
            except Conflict:
                check.add("username", gettext("That username is taken. Try another one."))
            else:
                flash(gettext("Staff account added."))
                return redirect(url_for("web.admin_staff"))
    return render_template(
        "admin/staff.html",
        staff=directory.list_staff(actor),
        current_staff_id=actor.id,
        agencies=agencies,
        agency_names={a.id: a.name for a in agencies},
        roles=[r.value for r in Role],
        errors=check.errors,
        values=values,
        max_username=accounts.USERNAME_MAX,
        max_name=accounts.STAFF_NAME_MAX,
        min_password=MIN_PASSWORD_LENGTH,
    )


@bp.route("/admin/staff/<uuid:staff_id>/<any(disable, enable):change>", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_staff_status(staff_id: Any, change: str) -> ResponseReturnValue:
    """Disable or enable a staff account: a page that asks first, then does it on POST.
    An admin's own account cannot be disabled (the domain refuses it, and logs the try)."""
    actor = current_actor()
    staff = db.session.get(Staff, str(staff_id))
    if staff is None:
        abort(404)
    own = change == "disable" and staff.id == actor.id
    if request.method == "POST":
        try:
            if change == "disable":
                accounts.disable_staff(actor, staff.id)
                done = gettext(
                    "%(name)s’s account is disabled. They are signed out and their tokens no "
                    "longer work.",
                    name=staff.name,
                )
            else:
                accounts.enable_staff(actor, staff.id)
                done = gettext(
                    "%(name)s’s account is enabled. They can sign in again.", name=staff.name
                )
        except Forbidden:
            return render_template(
                "admin/staff_status.html", staff=staff, change=change, own=True
            ), 403
        except Conflict:
            done = (
                gettext("%(name)s’s account was already disabled.", name=staff.name)
                if change == "disable"
                else gettext("%(name)s’s account was already enabled.", name=staff.name)
            )
        flash(done)
        return redirect(url_for("web.admin_staff"))
    return render_template("admin/staff_status.html", staff=staff, change=change, own=own)


FORUM_FIELDS = (
    Field(
        "name",
        lazy_gettext("Name"),
        required=lazy_gettext("Enter the MDT forum’s name"),
        max_length=FORUM_NAME_MAX,
    ),
    Field(
        "agency_ids",
        lazy_gettext("Member agencies"),
        kind="choice",
        required=lazy_gettext("Choose at least one member agency"),
        choose=lazy_gettext("Choose at least one member agency"),
    ),
)
MEMBER_FIELDS = (
    Field(
        "forum_id",
        lazy_gettext("Forum"),
        kind="choice",
        required=lazy_gettext("Choose a forum"),
        choose=lazy_gettext("Choose a forum"),
    ),
    Field(
        "staff_id",
        lazy_gettext("Worker"),
        kind="choice",
        required=lazy_gettext("Choose a worker from one of the forum’s agencies"),
        choose=lazy_gettext("Choose a worker from one of the forum’s agencies"),
    ),
    Field(
        "role",
        lazy_gettext("Role in the forum"),
        kind="choice",
        required=lazy_gettext("Choose member or chair"),
        choose=lazy_gettext("Choose member or chair"),
    ),
)


@bp.route("/admin/forums", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_forums() -> ResponseReturnValue:
    actor = current_actor()
    agencies = directory.list_agencies()
    forums = directory.list_forums()
    staff = directory.list_staff(actor)
    member_form = request.form.get("form") == "member"
    check = Check(MEMBER_FIELDS if member_form else FORUM_FIELDS)
    values: dict[str, Any] = {"name": "", "agency_ids": []}
    if request.method == "POST":
        if member_form:
            forum_id = check.choice(request.form, "forum_id", [f.id for f in forums])
            staff_id = check.choice(request.form, "staff_id", [s.id for s in staff])
            role = check.choice(request.form, "role", MEMBER_ROLES)
            values.update(check.values)
            chosen = next((s for s in staff if s.id == staff_id), None)
            if role == "chair" and chosen and Role.MDT_CHAIR.value not in chosen.roles:
                check.add(
                    "role",
                    gettext(
                        "Only a worker with the MDT chair role can chair a forum. Choose "
                        "member, or first give them the MDT chair role."
                    ),
                )
            done = gettext("Member added.")
        else:
            name = check.text(request.form, "name")
            agency_ids = check.choices(request.form, "agency_ids", [a.id for a in agencies])
            values = {"name": name, "agency_ids": agency_ids}
            done = gettext("MDT forum added.")
        if check.ok:
            try:
                if member_form:
                    mdt.add_member(actor, forum_id, staff_id, role)
                else:
                    mdt.create_forum(actor, name, agency_ids)
            except Invalid as error:
                check.invalid(error)
            except NotFound:
                check.add("forum_id", check.fields["forum_id"].choose)
            except Conflict:
                if member_form:
                    check.add("staff_id", gettext("This worker is already in this forum"))
                else:
                    check.add(
                        "name",
                        gettext(
                            "There is already an MDT forum with this name. Use a different name."
                        ),
                    )
            else:
                flash(done)
                return redirect(url_for("web.admin_forums"))
    return render_template(
        "admin/forums.html",
        forums=forums,
        agencies=agencies,
        agency_names={a.id: a.name for a in agencies},
        staff=staff,
        errors=check.errors,
        values=values,
        member_form=member_form,
        max_name=FORUM_NAME_MAX,
    )
