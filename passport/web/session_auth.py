"""Session sign-in for the pages (flask-login), sessions held on the server (Flask-Session),
and CSRF protection for every form (Flask-WTF).

The browser holds only a random session id; what it names lives on the server: files in
`PASSPORT_HOME/sessions` by default (mode 0600, kept across a restart, shared by every
process on the machine), Redis in production (`PASSPORT_SESSION_STORAGE_URI=redis://...`),
or memory for a single process. Signing out deletes the server's copy, so a copied cookie is
worth nothing afterwards; signing in starts under a new id (no session fixation).

A session ends by itself after a time without use: 30 minutes for staff (a worker's screen
left open in a shared office shows other people's records), 60 minutes for people (who may
be slow with forms, on a poor connection; but a borrowed tablet or a hub computer must not
stay signed in all day). And after 12 hours whatever happens.

flask-login only knows "signed in or not": what a signed-in user may read is still decided by
`passport.consent` on every request. The session's user id names the account and a mark of
what it signed in with: a person's passphrase (a new set-up code ends their sessions), a
staff member's password and the moment their sessions were last ended (disabling the
account ends them). The JSON API uses bearer tokens only, so it is exempt from CSRF (no
cookies are accepted there).
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from cachelib import FileSystemCache, SimpleCache
from flask import Flask, current_app, flash, g, session
from flask_babel import gettext
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_session import Session
from flask_wtf.csrf import CSRFProtect

from .. import audit, db, unit_of_work
from ..config import Settings
from ..identity.accounts import actor_for_account
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..representatives.models import RepresentativeAccount
from ..vocabulary import Action, Outcome

login_manager = LoginManager()
csrf = CSRFProtect()
server_sessions = Session()

STAFF_IDLE_SECONDS = 30 * 60
PERSON_IDLE_SECONDS = 60 * 60
MAX_SESSION_SECONDS = 12 * 60 * 60
# How many session files the default store keeps before it prunes expired ones.
SESSION_FILE_THRESHOLD = 100_000


class SessionUser(UserMixin):
    """The signed-in account, carrying the Actor the domain expects."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def get_id(self) -> str:
        return session_id_for(self.actor)


def session_id_for(actor: Actor) -> str:
    if actor.is_person:
        # A person's session names their passphrase (a digest of its hash): a new set-up
        # code stops the old passphrase, and with it every session signed in with it.
        return f"person:{actor.id}:{_passphrase_mark(actor.id)}"
    if actor.is_representative:
        return f"representative:{actor.id}:{_representative_mark(actor.id)}"
    return f"{actor.kind.value}:{actor.id}:{_staff_mark(actor.id)}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _passphrase_mark(person_id: str) -> str:
    person = db.session.get(Person, person_id)
    hashed = person.password_hash if person is not None else None
    return _digest(hashed) if hashed else "none"


def _representative_mark(account_id: str) -> str:
    # Like a person's: the session names the passphrase it signed in with. Whom they act
    # for is not in the session: the decision point reads it on every request.
    account = db.session.get(RepresentativeAccount, account_id)
    hashed = account.password_hash if account is not None else None
    return _digest(hashed) if hashed else "none"


_MARKS = {"person": _passphrase_mark, "representative": _representative_mark}


def _staff_mark(staff_id: str) -> str:
    # Disabling sets sessions_ended_at, which changes the mark: every session signed in
    # before it stops matching at once, and stays ended when the account is enabled again.
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        return "none"
    ended = staff.sessions_ended_at.isoformat() if staff.sessions_ended_at else ""
    return _digest(f"{staff.password_hash}|{ended}")


def _forget_user() -> None:
    g.pop("_login_user", None)  # where flask-login keeps the request's user


# A page that read from a snapshot and runs again loads its user again, holding the lock.
unit_of_work.before_reading_again.append(_forget_user)


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    kind, _, rest = user_id.partition(":")
    account_id, _, mark = rest.partition(":")
    if kind not in ("staff", "person", "representative") or not account_id:
        return None
    expected = _MARKS.get(kind, _staff_mark)(account_id)
    if mark == "none" or mark != expected:
        return None
    actor = actor_for_account(kind, account_id)  # None for a disabled or erased account
    return SessionUser(actor) if actor else None


def renew_session_id() -> None:
    """Delete the server's copy of this session and go on under a new id (at sign-in and
    sign-out). Flask-Session's `regenerate` acts only on a non-empty session: mark it first."""
    session["renewed_at"] = time.time()
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]


def start_signed_in_session() -> None:
    """Called by the sign-in view right after `login_user`: the clocks of the timeouts."""
    now = time.time()
    session["signed_in_at"] = now
    session["seen_at"] = now


def end_session(keep_language: bool = True) -> None:
    """Sign out: the server forgets the session; only the language is carried over."""
    lang = session.get("lang")
    logout_user()
    renew_session_id()
    session.clear()
    if lang and keep_language:
        session["lang"] = lang


def _too_old(moment: object, now: float, seconds: int) -> bool:
    return not isinstance(moment, int | float) or now - moment > seconds


def _end_idle_session() -> None:
    """Before every request: a signed-in session unused too long (or too old) ends here,
    and the page asks the person to sign in again, saying why."""
    user_id = session.get("_user_id")
    if not isinstance(user_id, str):
        return
    now = time.time()
    seen_at = session.get("seen_at")
    signed_in_at = session.get("signed_in_at")
    idle = STAFF_IDLE_SECONDS if user_id.startswith("staff:") else PERSON_IDLE_SECONDS
    unused = _too_old(seen_at, now, idle)
    if unused or _too_old(signed_in_at, now, MAX_SESSION_SECONDS):
        if current_user.is_authenticated:  # an account still there: its sign-out is logged
            actor: Actor = current_user.actor
            audit.record(
                actor=actor.as_event(),
                action=Action.AUTH_LOGOUT,
                outcome=Outcome.ALLOWED,
                person_id=actor.id if actor.is_person else None,
                detail={"ended": "unused" if unused else "too-long"},
            )
        end_session()
        if unused:
            message = gettext(
                "You were signed out because Passport was not used for %(minutes)s minutes. "
                "Sign in again.",
                minutes=idle // 60,
            )
        else:
            message = gettext(
                "You were signed out because you had been signed in for %(hours)s hours. "
                "Sign in again.",
                hours=MAX_SESSION_SECONDS // 3600,
            )
        flash(message, "notice")
        return
    session["seen_at"] = now


class SessionFiles:
    """The default store: cachelib's file cache in `folder` (mode 0700, files 0600), made
    only when the first session is saved, so a command that never serves a page (`audit
    verify`, `backup create`) leaves the home folder as it was."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: FileSystemCache | None = None

    def _open(self) -> FileSystemCache:
        if self._cache is None:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            self.folder.chmod(0o700)
            self._cache = FileSystemCache(
                str(self.folder), threshold=SESSION_FILE_THRESHOLD, mode=0o600
            )
        return self._cache

    def get(self, key: str) -> Any:
        return self._open().get(key) if self.folder.exists() else None

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        return bool(self._open().set(key, value, timeout=timeout))

    def delete(self, key: str) -> bool:
        return bool(self._open().delete(key)) if self.folder.exists() else False


def session_store(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The Flask-Session type and settings for `PASSPORT_SESSION_STORAGE_URI`."""
    uri = settings.session_storage_uri
    if uri is None:
        return "cachelib", {"SESSION_CACHELIB": SessionFiles(Path(settings.home) / "sessions")}
    if uri.startswith("memory://"):
        return "cachelib", {"SESSION_CACHELIB": SimpleCache(threshold=SESSION_FILE_THRESHOLD)}
    return "redis", {"SESSION_REDIS": redis.Redis.from_url(uri)}


def init_app(app: Flask) -> None:
    settings: Settings = app.config["PASSPORT_SETTINGS"]
    kind, options = session_store(settings)
    app.config.update(
        SESSION_TYPE=kind,
        # A cookie for this browser session only (no expiry date); the server keeps the
        # session at most this long after its last use, and ends it sooner (above).
        SESSION_PERMANENT=False,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=PERSON_IDLE_SECONDS),
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_KEY_PREFIX="passport-session:",
        **options,
    )
    server_sessions.init_app(app)
    app.before_request(_end_idle_session)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"  # the pages' sign-in view (passport/web)
    csrf.init_app(app)
