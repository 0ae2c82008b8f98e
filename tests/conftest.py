"""Test fixtures: a database built by the migrations, each test rolled back on a savepoint.

The same suite runs on SQLite (default) and PostgreSQL:
    PASSPORT_TEST_DATABASE=postgresql pytest
PostgreSQL is found at PASSPORT_TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1:5432);
each run creates its own database and drops it at the end. If PostgreSQL is asked for and is
not reachable, the run fails — it never silently skips.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from passport import activate, create_app, db
from passport.cli import MIGRATIONS, upgrade_database
from passport.config import Settings
from passport.db import PRIVATE_FILE_MODE

from .counting import statements_run
from .factories import Factory
from .softhsm import SoftHSM, skip_or_fail
from .softhsm import missing as softhsm_missing

BACKEND = os.environ.get("PASSPORT_TEST_DATABASE", "sqlite")
PG_SERVER_URL = os.environ.get(
    "PASSPORT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)


def pytest_report_header() -> str:
    return f"passport database backend: {BACKEND}"


E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The suite runs once per database. Tests marked `once`, and the browser journeys (they
    drive the same pages through Chromium that the page tests drive on both databases), run in
    the SQLite pass only, which keeps CI inside its time budget. They are deselected, not
    skipped, on PostgreSQL, so the report lists only what did not run for a reason."""
    if BACKEND != "postgresql":
        return
    kept, once = [], []
    for item in items:
        if item.get_closest_marker("once") or item.path.is_relative_to(E2E):
            once.append(item)
        else:
            kept.append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept


def create_pg_database(name: str, template: str | None = None) -> str:
    """A new, empty PostgreSQL database; with `template`, a copy of that one."""
    admin = create_engine(f"{PG_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    except Exception as error:
        pytest.exit(
            f"PostgreSQL was asked for (PASSPORT_TEST_DATABASE=postgresql) but is not reachable "
            f"at {PG_SERVER_URL}: {type(error).__name__}: {error}",
            returncode=3,
        )
    finally:
        admin.dispose()
    return f"{PG_SERVER_URL}/{name}"


def drop_pg_database(name: str) -> None:
    admin = create_engine(f"{PG_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def build_app(home: Path, database_url: str | None = None, **extra: str) -> Flask:
    """A Passport app on a fresh database at `database_url` (SQLite in `home` if None), built
    as `passport init-db` builds it: the only way that creates keys."""
    env = {
        "PASSPORT_HOME": str(home),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        **extra,
    }
    if database_url:
        env["PASSPORT_DATABASE_URL"] = database_url
    app = create_app(Settings.from_env(env), initialise_keys=True)
    app.config["TESTING"] = True
    with app.app_context():
        upgrade_database(app)
    return app


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    if BACKEND == "postgresql":
        name = f"passport_test_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
        yield url
        db.session.remove()
        for engine in _engines:
            engine.dispose()
        drop_pg_database(name)
    elif BACKEND == "sqlite":
        yield None
    else:
        raise pytest.UsageError(
            f"PASSPORT_TEST_DATABASE must be sqlite or postgresql, not {BACKEND}"
        )


_engines: list[Engine] = []


@pytest.fixture(autouse=True, scope="session")
def _hash_test_passwords_once() -> Iterator[None]:
    """argon2id is deliberately slow; tests create hundreds of accounts with one password, so
    hash it once (a real argon2id hash) and reuse it. Login tests still verify for real."""
    from passport.identity import accounts, passwords, setup_codes
    from passport.records import operations

    from .factories import PASSWORD

    real = passwords.hash_password
    once = real(PASSWORD)

    def cached(password: str) -> str:
        return once if password == PASSWORD else real(password)

    for module in (accounts, operations, setup_codes):
        module.hash_password = cached  # type: ignore[attr-defined]
    yield
    for module in (accounts, operations, setup_codes):
        module.hash_password = real  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Flask:
    home = tmp_path_factory.mktemp("passport-home")
    application = build_app(home, database_url)
    _engines.append(application.extensions["passport_engine"])

    return application


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHSM:
    """SoftHSM2 in a folder of this run's own: `softhsm.token(name)` makes a new token."""
    reason = softhsm_missing()
    if reason:
        skip_or_fail(reason)
    return SoftHSM(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database migrated to head that every `fresh_app` copies: on PostgreSQL a template
    database (CREATE DATABASE ... TEMPLATE), on SQLite a file. Running the migrations for each
    of the ~100 tests that need real commits cost one to three seconds each. The copy still
    goes through `build_app`, which finds it at head and adds the new home's log id, as
    `init-db` does on an existing schema."""
    if BACKEND == "postgresql":
        name = f"passport_template_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
        _migrate(url)
        yield name
        drop_pg_database(name)
    else:
        path = tmp_path_factory.mktemp("template") / "passport.db"
        _migrate(f"sqlite:///{path}")
        yield str(path)


def _migrate(url: str) -> None:
    engine = create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")
    engine.dispose()  # a template cannot be copied while anyone is connected to it


@pytest.fixture
def fresh_app(tmp_path: Path, app: Flask, migrated_template: str) -> Iterator[Flask]:
    """A second app on its own new database where commits are real (for concurrency,
    durability and tamper tests). Same backend as the run. The session app is re-activated
    afterwards."""
    name = None
    url = None
    if BACKEND == "postgresql":
        name = f"passport_fresh_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name, template=migrated_template)
    else:
        (tmp_path / "home").mkdir(exist_ok=True)
        copy = tmp_path / "home" / "passport.db"
        shutil.copyfile(migrated_template, copy)
        copy.chmod(PRIVATE_FILE_MODE)
    application = build_app(tmp_path / "home", url)
    try:
        yield application
    finally:
        db.session.remove()
        application.extensions["passport_engine"].dispose()
        if name:
            drop_pg_database(name)
        activate(app)


@pytest.fixture
def statements(fresh_app: Flask) -> Iterator[list[str]]:
    """The statements `fresh_app`'s database runs during the test (tests/counting.py)."""
    with statements_run(fresh_app.extensions["passport_engine"]) as seen:
        yield seen


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    """One outer transaction per test, rolled back at the end; the app's commits become
    savepoint releases inside it (Warehouse's pattern, STYLE.md §9)."""
    activate(app)
    engine: Engine = app.extensions["passport_engine"]
    conn = engine.connect()
    outer = conn.begin()
    db.session.remove()
    db.session.configure(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield conn
    finally:
        db.session.remove()
        outer.rollback()
        conn.close()
        db.session.configure(bind=engine, join_transaction_mode="conditional_savepoint")


@pytest.fixture
def ctx(app: Flask, connection: Connection) -> Iterator[Flask]:
    with app.app_context():
        yield app


@pytest.fixture
def client(ctx: Flask) -> FlaskClient:
    return ctx.test_client()


@pytest.fixture
def make(ctx: Flask) -> Factory:
    return Factory()


class Api:
    """A JSON client that carries a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(
            path, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api_as(client: FlaskClient, make: Factory) -> Any:
    """api_as(actor) -> an Api client with a fresh token for that actor."""

    def _as(actor: Any) -> Api:
        return Api(client, make.token(actor))

    return _as
