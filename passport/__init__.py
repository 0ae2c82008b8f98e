"""Passport: a person-owned information-sharing record."""

from __future__ import annotations

import logging

from flask import Flask

from . import audit, db, logs
from .config import Settings
from .crypto import LocalKeyring, data_keys


def create_app(settings: Settings | None = None) -> Flask:
    """The app factory: settings validated, database bound, keys loaded, routes registered."""
    settings = settings or Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__, instance_path=str(settings.home))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PASSPORT_SETTINGS=settings,
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
    )
    logs.configure()

    app.extensions["passport_engine"] = db.make_engine(settings.database_url)
    # A database away at start-up is not refused: it may be starting too. Say so plainly;
    # /readyz answers 503 and requests get 503 until it answers, then all recovers.
    unreachable = db.unreachable_reason(app.extensions["passport_engine"])
    if unreachable:
        logging.getLogger("passport").warning(
            "%s: starting anyway; /readyz and every request answer 503 until it can", unreachable
        )
    app.extensions["passport_keyring"] = LocalKeyring(settings.keyring_path)
    activate(app)

    from . import api, unit_of_work, web
    from .api import health
    from .cli import register_commands
    from .web import session_auth

    health.init_app(app)  # first: its after-request hook then runs last, seeing the status
    unit_of_work.init_app(app)
    session_auth.init_app(app)
    api.init_app(app)
    web.init_app(app)  # the pages: after the API, so their error pages apply to pages only
    for blueprint in app.blueprints.values():
        if blueprint.url_prefix and blueprint.url_prefix.startswith("/api/"):
            session_auth.csrf.exempt(blueprint)  # bearer tokens only: no cookies, no CSRF
    register_commands(app)
    return app


def activate(app: Flask) -> None:
    """Point the process-wide session and data keys at this app's database and key provider.

    One app per process is the normal case; tests that build a second app call this to switch
    back and forth."""
    settings: Settings = app.config["PASSPORT_SETTINGS"]
    db.bind(app.extensions["passport_engine"])
    data_keys.configure(app.extensions["passport_keyring"], settings.data_key_cache_seconds)
    audit.configure(settings)
