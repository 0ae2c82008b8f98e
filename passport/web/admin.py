"""Admins' pages: agencies, staff accounts, MDT forums. Admins never read record content."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from .. import db
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity import accounts, directory
from ..identity.models import Staff
from ..vocabulary import AgencyKind, Role, mixes_duties
from . import bp
from .common import current_actor, staff_with
from .person import _field_errors


@bp.route("/admin", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_home() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values = {"name": "", "kind": ""}
    if request.method == "POST":
        values = {"name": request.form.get("name", ""), "kind": request.form.get("kind", "")}
        try:
            accounts.add_agency(current_actor(), values["name"], values["kind"])
        except Invalid as error:
            errors = _field_errors(error)
        else:
            flash(gettext("Agency added."))
            return redirect(url_for("web.admin_home"))
    return render_template(
        "admin/agencies.html",
        agencies=directory.list_agencies(),
        kinds=[k.value for k in AgencyKind],
        errors=errors,
        values=values,
    )


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_staff() -> ResponseReturnValue:
    actor = current_actor()
    errors: dict[str, str] = {}
    values: dict[str, object] = {"roles": []}
    if request.method == "POST":
        values = {
            "username": request.form.get("username", "").strip(),
            "name": request.form.get("name", "").strip(),
            "agency_id": request.form.get("agency_id", ""),
            "roles": request.form.getlist("roles"),
            "scheme_wide": request.form.get("scheme_wide") == "yes",
        }
        if not values["username"]:
            errors["username"] = gettext("Enter a username")
        if not errors:
            try:
                accounts.add_staff(
                    actor,
                    username=str(values["username"]),
                    password=request.form.get("password", ""),
                    agency_id=str(values["agency_id"]),
                    roles=list(request.form.getlist("roles")),
                    name=str(values["name"]) or None,
                    scheme_wide=bool(values["scheme_wide"]),
                )
            except (Invalid, NotFound, Conflict) as error:
                errors = (
                    _field_errors(error)
                    if isinstance(error, Invalid)
                    else {"username" if isinstance(error, Conflict) else "agency_id": error.detail}
                )
                if isinstance(error, Invalid) and mixes_duties(request.form.getlist("roles")):
                    errors["roles"] = gettext(
                        "Choose reading roles (caseworker, MDT chair) or oversight roles "
                        "(DPO, admin), not both. Someone who needs both needs two accounts."
                    )
            else:
                flash(gettext("Staff account added."))
                return redirect(url_for("web.admin_staff"))
    agencies = directory.list_agencies()
    return render_template(
        "admin/staff.html",
        staff=directory.list_staff(actor),
        current_staff_id=actor.id,
        agencies=agencies,
        agency_names={a.id: a.name for a in agencies},
        roles=[r.value for r in Role],
        errors=errors,
        values=values,
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


@bp.route("/admin/forums", methods=["GET", "POST"])
@staff_with(Role.ADMIN)
def admin_forums() -> ResponseReturnValue:
    from ..mdt import operations as mdt

    actor = current_actor()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.form.get("form") == "member":
                mdt.add_member(
                    actor,
                    request.form.get("forum_id", ""),
                    request.form.get("staff_id", ""),
                    request.form.get("role", "member"),
                )
                flash(gettext("Member added."))
            else:
                mdt.create_forum(
                    actor, request.form.get("name", "").strip(), request.form.getlist("agency_ids")
                )
                flash(gettext("MDT forum added."))
        except (Invalid, NotFound, Conflict) as error:
            errors = _field_errors(error) if isinstance(error, Invalid) else {"name": error.detail}
        else:
            return redirect(url_for("web.admin_forums"))
    agencies = directory.list_agencies()
    return render_template(
        "admin/forums.html",
        forums=directory.list_forums(),
        agencies=agencies,
        agency_names={a.id: a.name for a in agencies},
        staff=directory.list_staff(actor),
        errors=errors,
    )
