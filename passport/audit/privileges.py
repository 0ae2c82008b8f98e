"""The application's PostgreSQL role: least privilege, so the log stays append-only even if
the application is compromised (DESIGN.md "The access log").

The schema is owned by the administrator who runs `passport init-db`; the application
connects as a role made by `passport db app-role NAME`, which may:
- SELECT and INSERT on the append-only tables (the access log and its checkpoints, entry
  revisions, consent records, emergency accesses and reviews): never UPDATE, DELETE or
  TRUNCATE. Which tables are append-only is read from the database itself (the
  `*_append_only` triggers the migrations create), with the log's two tables always included.
- SELECT, INSERT and DELETE on `audit_pending` (the integrator moves queued events out).
- SELECT on `audit_settings` and `alembic_version` (fixed at initialisation).
- SELECT, INSERT, UPDATE and DELETE on every other table; use its sequences.
Run it again after a migration that adds tables; it is idempotent.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

ALWAYS_APPEND_ONLY = ("audit_events", "audit_checkpoints")
QUEUE_TABLES = ("audit_pending",)
READ_ONLY_TABLES = ("audit_settings", "alembic_version")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    """The role cannot be set up as asked; the message says why."""


def table_grants(connection: Connection) -> dict[str, tuple[str, ...]]:
    """The privileges the application role gets, by table."""
    tables = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    append_only = set(ALWAYS_APPEND_ONLY) | set(
        connection.execute(
            text(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgname LIKE '%append_only'"
            )
        ).scalars()
    )
    grants: dict[str, tuple[str, ...]] = {}
    for table in sorted(tables):
        if table in append_only:
            grants[table] = ("SELECT", "INSERT")
        elif table in QUEUE_TABLES:
            grants[table] = ("SELECT", "INSERT", "DELETE")
        elif table in READ_ONLY_TABLES:
            grants[table] = ("SELECT",)
        else:
            grants[table] = ("SELECT", "INSERT", "UPDATE", "DELETE")
    return grants


def set_up_app_role(
    connection: Connection, name: str, password: str | None
) -> dict[str, tuple[str, ...]]:
    """Create (or reset) the application's login role with exactly the grants above.
    Runs as the schema's owner; the caller commits. Returns the grants made."""
    if connection.dialect.name != "postgresql":
        raise RoleError("database roles are a PostgreSQL feature; on SQLite triggers guard the log")
    if not _ROLE_NAME.match(name):
        raise RoleError("the role name must be lower-case letters, digits and _")
    quote = connection.dialect.identifier_preparer.quote
    role = quote(name)
    existing = connection.execute(
        text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :n"), {"n": name}
    ).first()
    if existing is not None and existing[0]:
        raise RoleError(f"{name} is a superuser or bypasses security: choose another role")
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if owner == name:
        raise RoleError("the application role must not be the role that owns the schema")
    login = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION"
    if password is not None:
        login += " PASSWORD " + _literal(password)
    verb = "CREATE" if existing is None else "ALTER"
    connection.exec_driver_sql(f"{verb} ROLE {role} WITH {login}")
    database = quote(connection.execute(text("SELECT current_database()")).scalar_one())
    schema = quote(connection.execute(text("SELECT current_schema()")).scalar_one())
    connection.exec_driver_sql(f"GRANT CONNECT ON DATABASE {database} TO {role}")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    connection.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
    grants = table_grants(connection)
    for table, privileges in grants.items():
        connection.exec_driver_sql(
            f"GRANT {', '.join(privileges)} ON TABLE {schema}.{quote(table)} TO {role}"
        )
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    return grants


def _literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings is on in every supported server)."""
    if "\x00" in value:
        raise RoleError("the password must not contain a NUL character")
    return "'" + value.replace("'", "''") + "'"
