"""The WSGI app `bench.view_bench` serves under gunicorn: Passport itself, and beside it, under
the same gunicorn and the same database, the two baselines a view is measured against:

- `/baseline/logged`: read one row, INSERT one ~300-byte log row, commit — the durable write
  every consented view must make, and nothing else;
- `/baseline/bare`: read one row.

Configured by the same PASSPORT_* environment as the app (the bench sets it).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from passport import create_app, db
from passport.config import Settings

BODY = "x" * 300  # about the size of a queued log event's canonical body

passport_app = create_app(Settings.from_env())
baseline = Flask("passport_bench_baseline")
_engine = db.make_engine(os.environ["PASSPORT_DATABASE_URL"])
_reader = create_engine(os.environ["PASSPORT_DATABASE_URL"])  # plain reads: no write lock
_PERSON = os.environ["PASSPORT_BENCH_PERSON_ID"]


@baseline.get("/logged")
def logged() -> dict[str, Any]:
    with _engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE, as Passport's own
        row = connection.execute(
            text("SELECT id, username FROM people WHERE id = :id"), {"id": _PERSON}
        ).first()
        connection.execute(text("INSERT INTO bench_log (body) VALUES (:body)"), {"body": BODY})
    return {"id": row[0] if row else None}


@baseline.get("/bare")
def bare() -> dict[str, Any]:
    with _reader.connect() as connection:
        row = connection.execute(
            text("SELECT id, username FROM people WHERE id = :id"), {"id": _PERSON}
        ).first()
        connection.rollback()
    return {"id": row[0] if row else None}


app = DispatcherMiddleware(passport_app, {"/baseline": baseline})
