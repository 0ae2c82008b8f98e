"""Passport: a person-owned information-sharing record."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Engine

from . import audit, db, logs, notifications
from .audit import checkpoints
from .config import Settings
from .crypto import create_key_material, data_keys, open_key_provider


def create_app(settings: Settings | None = None, *, initialise_keys: bool = False) -> Flask:
    """The app factory: settings validated, keys opened, database bound, routes registered.

    Fail safe: a key store that cannot be used (a missing, empty or corrupt keyring or audit
    signing key, an unreachable token, a refused PIN, a missing key) raises `ConfigError`
    naming it, before anything is written. Only `initialise_keys` (`passport init-db`, and
    the tests' fixtures, which build the way it does) creates key material, and only where
    there is none and the database holds nothing sealed or signed under it."""
    settings = settings or Settings.from_env()
    engine = db.make_engine(settings.database_url)
    created: list[str] = []
    try:
        if initialise_keys:
            settings.home.mkdir(parents=True, exist_ok=True)
            created += create_key_material(settings, data_exists=_holds_rows(engine, "data_keys"))
            created += checkpoints.SigningKey.create_missing(
                settings.signing_key_path,
                checkpoints_exist=_holds_rows(engine, "audit_checkpoints"),
            )
        key_provider = open_key_provider(settings)
        checkpoints.load_signing_key(settings.signing_key_path)
    except Exception:
        engine.dispose()
        raise
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

    app.extensions["passport_engine"] = engine
    # A database away at start-up is not refused: it may be starting too. Say so plainly;
    # /readyz answers 503 and requests get 503 until it answers, then all recovers.
    unreachable = db.unreachable_reason(engine)
    if unreachable:
        logging.getLogger("passport").warning(
            "%s: starting anyway; /readyz and every request answer 503 until it can", unreachable
        )
    app.extensions["passport_key_provider"] = key_provider
    app.extensions["passport_keys_created"] = created
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
    data_keys.configure(app.extensions["passport_key_provider"], settings.data_key_cache_seconds)
    audit.configure(settings)
    notifications.configure(settings.notify_channels)


def _holds_rows(engine: Engine, table: str) -> bool:
    """Whether the database already has rows in `table` (False before the first init-db)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(table):
            return False
        rows = Table(table, MetaData())
        return connection.execute(select(1).select_from(rows).limit(1)).first() is not None
