"""The `passport` command: a Flask CLI group (API.md "Command line")."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from . import audit, backup, db
from .config import MAX_CLI_TOKEN_SECONDS, ConfigError, Settings
from .errors import PassportError
from .identity.actor import SYSTEM
from .rights import retention

F = TypeVar("F", bound=Callable[..., Any])

_PACKAGE = Path(__file__).resolve().parent
# The migrations: inside the package in an installed wheel (hatch_build.py), else beside it in
# the source tree.
MIGRATIONS = next(
    (p for p in (_PACKAGE / "migrations", _PACKAGE.parent / "migrations") if p.is_dir()),
    _PACKAGE.parent / "migrations",
)


def _create_app(*, initialise_keys: bool = False) -> Flask:
    """The app from the environment; a refused start (settings, key store) is printed in
    plain words and exits non-zero, never as a traceback."""
    from . import create_app
    from .config import ConfigError

    try:
        return create_app(initialise_keys=initialise_keys)
    except ConfigError as error:
        raise click.ClickException(f"Passport cannot start: {error}") from None


class _PassportGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        """`passport --help` on an installation that cannot start: say why, no traceback."""
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except click.ClickException as error:
            click.secho(f"Error: {error.format_message()}\n", err=True, fg="red")
            return sorted(self.commands)
        return super().list_commands(ctx)


@click.group(cls=_PassportGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Passport: a person-owned information-sharing record."""


def transactional(func: F) -> F:
    """The command's unit of work: commit once at the end (then chain the log), or roll back
    and print the refusal in plain words."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except PassportError as error:
            db.session.rollback()
            message = error.detail
            if error.errors:
                message += (
                    " (" + "; ".join(f"{k}: {' '.join(v)}" for k, v in error.errors.items()) + ")"
                )
            raise click.ClickException(message) from None
        except audit.AuditUnavailable:
            db.session.rollback()
            raise click.ClickException(
                "the access log cannot be written; nothing changed"
            ) from None
        audit.integrate_all()
        return result

    return wrapper  # type: ignore[return-value]


def read_password() -> str:
    """Passwords come from standard input, never the command line (shell history, ps)."""
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.ClickException("give the password on standard input")
    return line


def upgrade_database(app: Flask) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = app.extensions["passport_engine"]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    from .audit.setup import ensure_log_id

    ensure_log_id(app.config["PASSPORT_SETTINGS"].log_id)
    db.session.commit()


def register_commands(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(demo)
    app.cli.add_command(agency)
    app.cli.add_command(staff)
    app.cli.add_command(person)
    app.cli.add_command(token)
    app.cli.add_command(client_group)
    app.cli.add_command(schemas_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(db_group)
    app.cli.add_command(run_command)
    app.cli.add_command(notify_group)
    app.cli.add_command(retention_group)


@click.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create or upgrade the schema (Alembic upgrade head), and on a new installation the first
    keys (the only command that creates key material). Safe to run again."""
    info = ctx.ensure_object(ScriptInfo)
    if info.create_app is _create_app:  # the installed command: the app is not built yet
        info.create_app = lambda: _create_app(initialise_keys=True)
    app = info.load_app()
    with app.app_context():
        upgrade_database(app)
    for created in app.extensions.get("passport_keys_created", []):
        click.echo(f"created {created}")
    click.echo("database is up to date")


# Found without building the app first: the app cannot start before init-db made its keys.
main.add_command(init_db)


@click.group("backup")
def backup_group() -> None:
    """Backups of the database and the checkpoint file (never the keys: README "Operating")."""


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as error:
        raise click.ClickException(f"Passport cannot start: {error}") from None


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _key_files(settings: Settings) -> list[str]:
    """The key material a backup leaves out, where this installation expects it."""
    if settings.key_provider == "pkcs11":
        store = f"the PKCS#11 token {settings.pkcs11_token!r} (with its PIN)"
    else:
        store = f"the keyring {settings.keyring_path}"
    return [store, f"the audit signing key {settings.signing_key_path}"]


@backup_group.command("create")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup_create(folder: Path) -> None:
    """Write a consistent copy of the database and the checkpoint file, with a manifest, into
    FOLDER (new or empty), while the service runs. Never key material."""
    settings = _settings()
    try:
        manifest = backup.create(settings, folder, progress=_progress)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"backup written to {folder}: log head seq {manifest.head_seq} "
        f"({manifest.head_hash}), {manifest.checkpoints} checkpoint lines"
    )
    click.echo(
        "The keys are not in it. Keep them apart from the backups: "
        + "; ".join(_key_files(settings))
    )


@backup_group.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def backup_restore(folder: Path) -> None:
    """Load the backup in FOLDER into the configured database, which must be empty, and its
    checkpoint lines into the configured checkpoint file, which must not exist. The restored
    database gets a new database_id; the log goes on. Then checks the keys open it."""
    settings = _settings()
    try:
        restored = backup.restore(settings, folder, progress=_progress)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = restored.manifest
    click.echo(
        f"restored the backup of {manifest.created_at}: log head seq {manifest.head_seq}, "
        f"database_id {restored.database_id} (was {manifest.database_id}), "
        f"{restored.checkpoints} checkpoint lines in {restored.checkpoint_path}"
    )
    wanted = "Put back from their separate store: " + "; ".join(_key_files(settings))
    try:
        app = _create_app()
    except click.ClickException as error:
        raise click.ClickException(
            f"the data is restored, but the keys are not in place ({error.format_message()}). "
            f"{wanted}. The service refuses to start until they are; then run "
            "`passport audit verify`"
        ) from None
    try:
        with app.app_context():
            problem = _restored_key_problem(manifest.head_seq, manifest.head_hash)
            db.session.rollback()
    finally:
        db.session.remove()
        app.extensions["passport_engine"].dispose()
    if problem:
        raise click.ClickException(f"the data is restored, but {problem}. {wanted}")
    click.echo("the keys open the restored data. Next: `passport init-db` (to upgrade the")
    click.echo("schema if this Passport is newer), `passport db app-role` on PostgreSQL, then")
    click.echo("`passport audit verify`, then start the service.")


def _restored_key_problem(head_seq: int, head_hash: str) -> str | None:
    """Why the configured keys cannot serve the restored database (None if they can)."""
    from .audit import checkpoints, integrator
    from .crypto import KeyUnavailable, data_keys

    if integrator.head() != (head_seq, head_hash):
        return "the restored log's head is not the one in the manifest"
    try:
        data_keys.check_opens()
    except KeyUnavailable as error:
        return str(error)
    signers = {str(c["key_id"]) for c in checkpoints.from_database()}
    if signers and checkpoints.signing_key().key_id not in signers:
        return (
            "the audit signing key is not the one that signed the restored checkpoints "
            f"(it is {checkpoints.signing_key().key_id}; they were signed by "
            f"{', '.join(sorted(signers))})"
        )
    return None


# Found without building the app first: a restore runs before the service can start.
main.add_command(backup_group)


@click.command("demo")
@transactional
def demo() -> None:
    """Load demonstration agencies, staff, people and grants; print the logins."""
    from .demo import load_demo

    logins = load_demo()
    click.echo("Demo logins (username / password):")
    for line in logins:
        click.echo(f"  {line}")


@click.group("agency")
def agency() -> None:
    """Agencies."""


@agency.command("add")
@click.argument("name")
@click.option("--kind", required=True, help="housing, health, mental_health, substance_use, ...")
@transactional
def agency_add(name: str, kind: str) -> None:
    from .identity.accounts import add_agency

    click.echo(add_agency(SYSTEM, name, kind).id)


@click.group("staff")
def staff() -> None:
    """Staff accounts."""


@staff.command("add")
@click.argument("username")
@click.option("--agency", "agency_id", required=True)
@click.option("--role", "roles", multiple=True, required=True)
@click.option("--name")
@click.option("--scheme-wide", is_flag=True, help="a DPO who sees the whole log")
@transactional
def staff_add(
    username: str, agency_id: str, roles: tuple[str, ...], name: str | None, scheme_wide: bool
) -> None:
    """Add a staff member; the password is read from standard input."""
    from .identity.accounts import add_staff

    member = add_staff(
        SYSTEM,
        username=username,
        password=read_password(),
        agency_id=agency_id,
        roles=list(roles),
        name=name,
        scheme_wide=scheme_wide,
    )
    click.echo(member.id)


def _staff_id(username: str) -> str:
    from .identity.accounts import find_account
    from .identity.models import Staff

    account = find_account(username)
    if not isinstance(account, Staff):
        raise click.ClickException(f"no staff account called {username!r}")
    return account.id


@staff.command("disable")
@click.argument("username")
@transactional
def staff_disable(username: str) -> None:
    """Disable a staff account at once: no sign-in, its sessions end, its tokens (bearer and
    OAuth refresh) are revoked."""
    from .identity.accounts import disable_staff

    disable_staff(SYSTEM, _staff_id(username))
    click.echo(f"disabled {username}: its sessions are ended and its tokens revoked")


@staff.command("enable")
@click.argument("username")
@transactional
def staff_enable(username: str) -> None:
    """Let a disabled staff account sign in again (its old tokens stay revoked)."""
    from .identity.accounts import enable_staff

    enable_staff(SYSTEM, _staff_id(username))
    click.echo(f"enabled {username}: it can sign in again")


@click.group("person")
def person() -> None:
    """Passport holders."""


@person.command("add")
@click.option("--name", required=True)
@click.option("--username", required=True)
@click.option("--preferred-name")
@click.option("--dob", type=click.DateTime(formats=["%Y-%m-%d"]))
@transactional
def person_add(name: str, username: str, preferred_name: str | None, dob: Any) -> None:
    """Register a person with their own login; the password is read from standard input."""
    from .records.operations import register_person

    born: date | None = dob.date() if dob else None
    created, _ = register_person(
        SYSTEM,
        name=name,
        preferred_name=preferred_name,
        date_of_birth=born,
        username=username,
        password=read_password(),
    )
    click.echo(created.id)


@person.command("erase")
@click.argument("person_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@transactional
def person_erase(person_id: str, yes: bool) -> None:
    """Erase a person by destroying their data keys (crypto-shredding). Cannot be undone."""
    from .records.operations import erase_person

    if not yes:
        click.confirm(
            "This destroys the person's keys: their passport can never be read again. Go on?",
            abort=True,
        )
    destroyed = erase_person(SYSTEM, person_id)
    click.echo(f"erased: {destroyed} data key(s) destroyed; the access log is kept")


@click.group("token")
def token() -> None:
    """Bearer tokens."""


@token.command("issue")
@click.argument("username")
@click.option(
    "--ttl",
    type=click.IntRange(min=1, max=MAX_CLI_TOKEN_SECONDS),
    default=None,
    help=f"lifetime in seconds, at most {MAX_CLI_TOKEN_SECONDS} (24 hours)",
)
@with_appcontext
@transactional
def token_issue(username: str, ttl: int | None) -> None:
    from .identity.accounts import actor_for, find_account, issue_token
    from .identity.models import Staff

    account = find_account(username)
    if account is None:
        raise click.ClickException(f"no account called {username!r}")
    if isinstance(account, Staff) and account.disabled_at is not None:
        raise click.ClickException(f"the staff account {username!r} is disabled")
    actor = actor_for(account)
    lifetime = ttl or current_app.config["PASSPORT_SETTINGS"].token_ttl_seconds
    click.echo(issue_token(actor, lifetime, issued_by=SYSTEM))


@click.group("client")
def client_group() -> None:
    """OAuth clients: agency applications."""


@client_group.command("add")
@click.argument("name")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="where the application receives its code: https, or http on a loopback address",
)
@click.option("--confidential", is_flag=True, help="a server-side application with a secret")
@with_appcontext
@transactional
def client_add(name: str, redirect_uris: tuple[str, ...], confidential: bool) -> None:
    """Register an agency application; print its client id (and its secret, once)."""
    from .identity.oauth import register_client

    client, secret = register_client(SYSTEM, name, list(redirect_uris), confidential)
    click.echo(f"client_id: {client.id}")
    if secret:
        click.echo(f"client_secret: {secret}")
        click.echo("Keep the secret safe: it is shown only now and cannot be recovered.", err=True)


@click.group("schemas")
def schemas_group() -> None:
    """The published contract in schemas/."""


@schemas_group.command("write")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to write (default: schemas/ beside the package)",
)
@click.option("--check", is_flag=True, help="write nothing; exit 1 if the files differ")
@with_appcontext
def schemas_write(folder: Path | None, check: bool) -> None:
    """Generate the OpenAPI document and the JSON Schemas from the marshmallow schemas."""
    from .api.contract import SCHEMAS_FOLDER, stale_files, write

    target = folder or SCHEMAS_FOLDER
    if check:
        stale = stale_files(current_app, target)
        if stale:
            click.echo("out of date: " + ", ".join(stale), err=True)
            sys.exit(1)
        click.echo("schemas are up to date")
        return
    for path in write(current_app, target):
        click.echo(str(path))


@click.group("keys")
def keys_group() -> None:
    """Encryption keys."""


@keys_group.command("rotate")
@transactional
def keys_rotate() -> None:
    """New key-encryption key; re-wrap every data key. Content is untouched, so no downtime."""
    from .crypto import data_keys
    from .vocabulary import Action, Outcome

    total = data_keys.count_live()
    with click.progressbar(length=total, label="Re-wrapping data keys", file=sys.stderr) as bar:
        version, count = data_keys.rewrap_all(progress=bar.update)
    audit.record(
        actor=SYSTEM.as_event(),
        action=Action.KEYS_ROTATE,
        outcome=Outcome.ALLOWED,
        detail={"kek_version": version, "data_keys": count},
    )
    click.echo(f"key-encryption key version {version}; {count} data keys re-wrapped")


@click.group("audit")
def audit_group() -> None:
    """The access log."""


@audit_group.command("verify")
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="an NDJSON export to verify instead of the live database",
)
@click.option(
    "--checkpoints",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a checkpoint file (default: this installation's)",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="processes verifying a large log on PostgreSQL (default: one per CPU; 1: no others)",
)
def audit_verify(
    export_file: Path | None, checkpoint_file: Path | None, workers: int | None
) -> None:
    """Verify the log against the chain and the signed checkpoints; exit 1 naming the first
    bad seq if anything fails. Writes nothing: no event, no checkpoint, no key (it may run
    on a restored copy that shares the original's checkpoint file)."""
    import os

    from .audit import checkpoints, verify
    from .audit.setup import log_id

    keys = verify.public_keys(checkpoints.signing_key().public)
    if export_file is None:
        total = verify.database_count()
        with click.progressbar(
            length=total, label="Verifying the access log", file=sys.stderr
        ) as bar:
            result = verify.verify_database(
                checkpoint_file, progress=bar.update, workers=workers or os.cpu_count() or 1
            )
        queued = _queued_events()
    else:
        witness = checkpoint_file or checkpoints.checkpoints_path()
        with export_file.open(encoding="utf-8") as lines:
            total = sum(1 for _ in lines)
        with (
            export_file.open(encoding="utf-8") as lines,
            click.progressbar(length=total, label="Verifying the export", file=sys.stderr) as bar,
        ):
            checkpoint_lines = witness.read_text("utf-8").splitlines() if witness.exists() else []
            result = verify.verify_export(
                lines, checkpoint_lines, keys, log_id=log_id(), progress=bar.update
            )
        queued = 0
    db.session.rollback()  # it only read
    for warning in result.warnings:  # e.g. the checkpoint file's damaged last line
        click.echo(f"warning: {warning}; the log was checked against its whole lines", err=True)
    if not result.ok:
        click.echo(
            f"the access log FAILED verification at seq {result.first_bad_seq}: {result.problem}",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"the access log is intact: {result.checked} events, head seq {result.head_seq} "
        f"({result.head_hash}), {result.checkpoints} signed checkpoints verified"
    )
    if queued:
        click.echo(f"{queued} queued events are not chained yet and were not checked")


def _queued_events() -> int:
    from sqlalchemy import func, select

    from .audit.models import AuditPending

    return int(db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one())


@audit_group.command("checkpoint")
@transactional
def audit_checkpoint() -> None:
    """Sign a checkpoint of the log's head now."""
    import json

    from .audit import checkpoints

    checkpoint = checkpoints.sign_head()
    if checkpoint is None:
        raise click.ClickException("the access log is empty: there is nothing to sign yet")
    click.echo(json.dumps(checkpoint.as_json()))


@click.group("db")
def db_group() -> None:
    """Database administration."""


@db_group.command("app-role")
@click.argument("name")
@click.option("--no-password", is_flag=True, help="no password (peer or certificate login)")
@with_appcontext
def db_app_role(name: str, no_password: bool) -> None:
    """Create or reset the application's least-privilege PostgreSQL login role (run as the
    schema's owner, after init-db). The password is read from standard input."""
    from .audit.privileges import RoleError, set_up_app_role

    password = None if no_password else read_password()
    engine = current_app.extensions["passport_engine"]
    try:
        with engine.begin() as connection:
            grants = set_up_app_role(connection, name, password)
    except RoleError as error:
        raise click.ClickException(str(error)) from None
    for table, privileges in grants.items():
        click.echo(f"{table}: {', '.join(privileges)}")
    click.echo(f"role {name} is ready: point PASSPORT_DATABASE_URL at it for the application")


@click.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """The development server (Werkzeug, as Flask's run). Use gunicorn in production."""
    from werkzeug.serving import run_simple

    click.echo(f"Passport is running on http://{host}:{port}/ (Ctrl+C to stop)")
    run_simple(host, port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]


@click.group("notify")
def notify_group() -> None:
    """Notifications: the sender of texts, emails and letters, and the daily reminders."""


@notify_group.command("run")
@click.option("--once", is_flag=True, help="one pass over what is due, then stop")
@click.option("--idle", default=5.0, type=float, help="seconds to wait when nothing is due")
@with_appcontext
def notify_run(once: bool, idle: float) -> None:
    """Deliver the outbox through GOV.UK Notify (at least once; retries with backoff). Run
    it as its own long-lived process beside the web processes; several may run."""
    from .notifications import channels, sender

    settings = current_app.config["PASSPORT_SETTINGS"]
    chosen = channels.sender_for(settings)
    if not chosen.channels():
        raise click.ClickException(
            "no GOV.UK Notify key and templates are set (PASSPORT_NOTIFY_API_KEY, "
            "PASSPORT_NOTIFY_TEMPLATE_SMS...): only the inbox is used, there is nothing to send"
        )
    try:
        done = sender.run(settings, chosen, once=once, idle_seconds=idle)
    except Exception as error:  # --once only: the long-running sender waits and retries
        raise click.ClickException(
            f"the pass stopped ({type(error).__name__}); nothing sent was lost: run it again"
        ) from None
    click.echo(f"sent {done.sent}, to retry {done.retried}, failed {done.failed}")


@notify_group.command("status")
@with_appcontext
def notify_status() -> None:
    """Outbox messages by state, and the age of the oldest not yet sent."""
    from .notifications import sender

    found = sender.status()
    db.session.rollback()
    for state, count in found.counts.items():
        click.echo(f"{state}: {count}")
    age = found.oldest_pending_seconds
    click.echo("oldest pending: " + ("none" if age is None else f"{age:.0f} seconds"))


@notify_group.command("daily")
@with_appcontext
@transactional
def notify_daily() -> None:
    """Reminders: sharing ending in 14 days or ended (to the person), overdue MDT actions and
    the weekly caseload digest (to staff). Safe to run more than once a day."""
    from .notifications.daily import run_daily

    told = run_daily()
    if not told.counts:
        click.echo("nobody to tell today")
    for kind, count in sorted(told.counts.items()):
        click.echo(f"{kind}: {count}")


# -- retention (passport.rights.retention) ----------------------------------------------------


@click.group("retention")
def retention_group() -> None:
    """Passports past PASSPORT_RETENTION_YEARS without activity: report, then erase."""


_TODAY = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="count from this day instead of today (YYYY-MM-DD), to see what will be due",
)


def _retention_due(today: Any) -> tuple[list[retention.Due], int]:
    years = current_app.config["PASSPORT_SETTINGS"].retention_years
    day: date = today.date() if today else db.utcnow().date()
    return retention.report(SYSTEM, day, years), years


@retention_group.command("report")
@_TODAY
@with_appcontext
@transactional
def retention_report(today: Any) -> None:
    """List what is due for erasure: ids and dates only, never any content."""
    items, years = _retention_due(today)
    for item in items:
        click.echo(
            f"{item.person_id}  last activity {item.last_activity.isoformat()}  "
            f"due {item.due_on.isoformat()}"
        )
    click.echo(f"{len(items)} passport(s) past {years} year(s) without activity")


@retention_group.command("apply")
@_TODAY
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
@transactional
def retention_apply(today: Any, yes: bool) -> None:
    """Erase every passport that is due (crypto-shredding), each erasure logged."""
    items, years = _retention_due(today)
    if not items:
        click.echo(f"nothing to erase: no passport is past {years} year(s) without activity")
        return
    if not yes:
        click.confirm(
            f"This destroys the keys of {len(items)} passport(s): they can never be read "
            "again. Go on?",
            abort=True,
        )
    erased = retention.apply(SYSTEM, items, years, click.echo)
    click.echo(f"erased {erased} passport(s); the access log is kept")
