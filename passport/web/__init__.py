"""Server-rendered pages (Jinja, GOV.UK Frontend) over the same domain code as the API.

The views are split by audience (auth, person, caseworker, mdt, dpo, admin); each one parses the
form, calls the same domain function the API calls, and renders. No rules live here: what a
signed-in user may read or change is decided by the domain on every request.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, g, request, send_from_directory
from flask.typing import ResponseReturnValue
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

HERE = Path(__file__).parent
STATIC = HERE / "static"
# GOV.UK Frontend's fonts and images, copied from node_modules by scripts/install; its CSS
# refers to them at /assets/.
GOVUK_ASSETS = STATIC / "govuk" / "assets"

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/web-static")
bp.jinja_loader = ChoiceLoader(
    [
        FileSystemLoader(HERE / "templates"),
        PrefixLoader(
            {
                "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                # The MDT summary's person part, shared with its print view and PDF.
                "mdt_print": PackageLoader("passport.mdt", "templates"),
            }
        ),
    ]
)


@bp.route("/assets/<path:filename>")
def govuk_assets(filename: str) -> ResponseReturnValue:
    return send_from_directory(GOVUK_ASSETS, filename, max_age=86400)


def init_app(app: Flask) -> None:
    from . import (  # noqa: F401
        admin,
        assisted,
        auth,
        caseworker,
        circle,
        disputes,
        dpo,
        emergency,
        entries,
        errors,
        i18n,
        mdt,
        notifications,
        person,
        registration,
        representatives,
        rights,
        security,
    )

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)

    @app.before_request
    def _fresh_request_state() -> None:
        # In production each request has its own app context (and `g`); the tests reuse one
        # context across requests, so forget the previous request's user and CSRF token.
        if request.blueprint == "web":
            g.pop("_login_user", None)
            g.pop("csrf_token", None)

    app.register_blueprint(bp)


@bp.app_context_processor
def _template_context() -> dict[str, object]:
    from urllib.parse import urlencode

    from flask_babel import get_locale

    from ..vocabulary import Role
    from .common import template_helpers
    from .notifications import unread_messages

    def current_lang() -> str:
        return str(get_locale() or "en")

    def lang_url(code: str) -> str:
        args = {k: v for k, v in request.args.items() if k != "lang"}
        return request.path + "?" + urlencode({**args, "lang": code})

    return {
        "current_lang": current_lang,
        "lang_url": lang_url,
        "Role": Role,
        "unread_messages": unread_messages,
        **template_helpers(),
    }


@bp.route("/about")
def about() -> ResponseReturnValue:
    from flask import current_app, render_template

    from ..rights import processing

    # The privacy notice, from what the code does (passport.rights.processing): the same
    # sentences as the subject access pack, translated from the same catalogue.
    return render_template(
        "about.html",
        notice=processing,
        years=current_app.config["PASSPORT_SETTINGS"].retention_years,
    )
