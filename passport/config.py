"""Settings from the environment, validated once at start-up.

Nothing here is read at import time: `Settings.from_env()` is called by the app factory
(and the CLI), so tests and commands can set the environment first.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """The service refuses to start: the message says what to fix."""


# A token from `passport token issue` is a bearer credential on a command line or in a script:
# it lives a day at most (OAuth tokens for agency systems have their own, shorter lifetime).
MAX_CLI_TOKEN_SECONDS = 24 * 60 * 60
# Retention beyond a lifetime is no retention rule at all.
MAX_RETENTION_YEARS = 100

NOTIFY_TEMPLATE_PREFIX = "PASSPORT_NOTIFY_TEMPLATE_"
NOTIFY_CHANNELS = ("sms", "email", "letter")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key: str
    secret_key_generated: bool
    key_provider: str = "local"
    # PASSPORT_KEY_PROVIDER=pkcs11: the token that holds the keys (README "Keys").
    pkcs11_module: Path | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    pkcs11_pin_file: Path | None = None
    pkcs11_key_label: str = "passport-kek"
    environment: str = "development"
    token_ttl_seconds: int = 3600
    data_key_cache_seconds: int = 60
    emergency_access_hours: int = 4
    # A passport is erased this many years after its last activity (passport.rights.retention).
    retention_years: int = 6
    log_id: str | None = None
    # "inline": each request chains the log after it commits (simple, deterministic: the
    # embedded default). "background": one elected thread chains for the whole deployment
    # (faster under load; use it on PostgreSQL).
    audit_integrator: str = "inline"
    checkpoint_file: Path | None = None
    # Where the pages' sign-in throttle keeps its counts: memory by default (one process);
    # a shared store such as redis://host:6379/0 when several app processes run.
    ratelimit_storage_uri: str = "memory://"
    # Where the pages' sessions live, on the server (web.session_auth): by default files in
    # PASSPORT_HOME/sessions (mode 0600; they survive a restart and are shared by every
    # process on the machine); redis://host:6379/1 in production; memory:// for one process.
    session_storage_uri: str | None = None
    # The OAuth issuer URL agencies see (RFC 8414), when the service sits behind a proxy
    # that changes scheme or host; otherwise it is taken from the request.
    oauth_issuer: str | None = None
    # The bearer token a Prometheus scraper sends for /metrics; without one, /metrics answers
    # only clients on this machine that did not come through a proxy.
    metrics_token: str | None = None
    # GOV.UK Notify (passport.notifications): without a key, only the in-passport inbox.
    # Templates: PASSPORT_NOTIFY_TEMPLATE_SMS / _EMAIL / _LETTER, one per channel, whose body
    # is ((message)) (and, for email and letter, subject ((subject))); a channel without a
    # template is not offered. PASSPORT_NOTIFY_TEMPLATE_<CHANNEL>_<KIND> overrides one kind.
    notify_api_key: str | None = field(default=None, repr=False)
    notify_base_url: str | None = None
    notify_templates: dict[str, str] = field(default_factory=dict)
    notify_max_attempts: int = 8
    notify_retry_seconds: int = 30
    notify_lease_seconds: int = 120
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.json"

    @property
    def signing_key_path(self) -> Path:
        return self.home / "audit-signing-key.pem"

    @property
    def checkpoints_path(self) -> Path:
        return self.checkpoint_file or self.home / "checkpoints.jsonl"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("PASSPORT_HOME", "instance")).resolve()
        database_url = env.get("PASSPORT_DATABASE_URL") or f"sqlite:///{home / 'passport.db'}"
        secret = env.get("PASSPORT_SECRET_KEY", "")
        generated = not secret
        settings = cls(
            home=home,
            database_url=database_url,
            secret_key=secret or secrets.token_urlsafe(32),
            secret_key_generated=generated,
            key_provider=env.get("PASSPORT_KEY_PROVIDER", "local"),
            pkcs11_module=_path(env, "PASSPORT_PKCS11_MODULE"),
            pkcs11_token=env.get("PASSPORT_PKCS11_TOKEN") or None,
            pkcs11_pin=env.get("PASSPORT_PKCS11_PIN") or None,
            pkcs11_pin_file=_path(env, "PASSPORT_PKCS11_PIN_FILE"),
            pkcs11_key_label=env.get("PASSPORT_PKCS11_KEY_LABEL") or "passport-kek",
            environment=env.get("PASSPORT_ENV", "development"),
            token_ttl_seconds=_int(env, "PASSPORT_TOKEN_TTL", 3600),
            data_key_cache_seconds=_int(env, "PASSPORT_DATA_KEY_CACHE_SECONDS", 60),
            emergency_access_hours=_int(env, "PASSPORT_EMERGENCY_ACCESS_HOURS", 4),
            retention_years=_int(env, "PASSPORT_RETENTION_YEARS", 6),
            log_id=env.get("PASSPORT_LOG_ID") or None,
            audit_integrator=env.get("PASSPORT_AUDIT_INTEGRATOR", "inline"),
            checkpoint_file=Path(env["PASSPORT_CHECKPOINT_FILE"])
            if env.get("PASSPORT_CHECKPOINT_FILE")
            else None,
            ratelimit_storage_uri=env.get("PASSPORT_RATELIMIT_STORAGE_URI") or "memory://",
            session_storage_uri=env.get("PASSPORT_SESSION_STORAGE_URI") or None,
            oauth_issuer=(env.get("PASSPORT_OAUTH_ISSUER") or "").rstrip("/") or None,
            metrics_token=env.get("PASSPORT_METRICS_TOKEN") or None,
            notify_api_key=env.get("PASSPORT_NOTIFY_API_KEY") or None,
            notify_base_url=(env.get("PASSPORT_NOTIFY_BASE_URL") or "").rstrip("/") or None,
            notify_templates={
                name.removeprefix(NOTIFY_TEMPLATE_PREFIX).lower(): value
                for name, value in env.items()
                if name.startswith(NOTIFY_TEMPLATE_PREFIX) and value
            },
            notify_max_attempts=_int(env, "PASSPORT_NOTIFY_MAX_ATTEMPTS", 8),
            notify_retry_seconds=_int(env, "PASSPORT_NOTIFY_RETRY_SECONDS", 30),
            notify_lease_seconds=_int(env, "PASSPORT_NOTIFY_LEASE_SECONDS", 120),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse loudly rather than run unsafely, naming every problem at once."""
        problems: list[str] = []
        if self.environment not in {"development", "test", "production"}:
            problems.append(
                f"PASSPORT_ENV must be development, test or production, not {self.environment!r}"
            )
        if self.key_provider not in {"local", "pkcs11"}:
            problems.append(
                f"PASSPORT_KEY_PROVIDER {self.key_provider!r} is not available; use 'local' "
                f"or 'pkcs11'"
            )
        if self.key_provider == "pkcs11":
            problems.extend(self._pkcs11_problems())
        if not self.database_url.startswith(("sqlite://", "postgresql")):
            problems.append("PASSPORT_DATABASE_URL must be a sqlite:// or postgresql URL")
        if self.token_ttl_seconds <= 0 or self.emergency_access_hours <= 0:
            problems.append("PASSPORT_TOKEN_TTL and PASSPORT_EMERGENCY_ACCESS_HOURS must be > 0")
        if not 1 <= self.retention_years <= MAX_RETENTION_YEARS:
            problems.append(
                f"PASSPORT_RETENTION_YEARS must be a whole number of years from 1 to "
                f"{MAX_RETENTION_YEARS}, not {self.retention_years}"
            )
        if self.token_ttl_seconds > MAX_CLI_TOKEN_SECONDS:
            problems.append(
                f"PASSPORT_TOKEN_TTL must be at most {MAX_CLI_TOKEN_SECONDS} seconds (24 hours)"
            )
        session_store = self.session_storage_uri
        if session_store is not None and not session_store.startswith(
            ("redis://", "rediss://", "unix://", "memory://")
        ):
            problems.append(
                "PASSPORT_SESSION_STORAGE_URI must be redis://, rediss://, unix:// or memory:// "
                "(or unset: files in PASSPORT_HOME/sessions)"
            )
        if self.data_key_cache_seconds < 0:
            problems.append("PASSPORT_DATA_KEY_CACHE_SECONDS must not be negative")
        if self.audit_integrator not in {"inline", "background"}:
            problems.append("PASSPORT_AUDIT_INTEGRATOR must be inline or background")
        if self.oauth_issuer is not None:
            issuer = urlsplit(self.oauth_issuer)
            secure = issuer.scheme == "https" or (
                issuer.scheme == "http" and not self.is_production
            )
            if not secure or not issuer.netloc or issuer.query or issuer.fragment:
                problems.append(
                    "PASSPORT_OAUTH_ISSUER must be an https URL without query or fragment "
                    "(http only outside production)"
                )
        problems.extend(self._notify_problems())
        if self.is_production:
            # Checked whatever else is wrong, so one start names everything to fix.
            if self.secret_key_generated or len(self.secret_key) < 32:
                problems.append(
                    "production needs PASSPORT_SECRET_KEY set to at least 32 random characters"
                )
            if self.key_provider == "local":
                problems.append(
                    "production refuses the local keyring file: keep the keys in an HSM "
                    "(PASSPORT_KEY_PROVIDER=pkcs11 and its PASSPORT_PKCS11_ settings)"
                )
            if self.database_url.startswith("sqlite"):
                problems.append("production needs PostgreSQL (PASSPORT_DATABASE_URL)")
            if session_store is not None and session_store.startswith("memory://"):
                problems.append(
                    "production refuses PASSPORT_SESSION_STORAGE_URI=memory://: each process "
                    "would hold its own sessions; use redis://"
                )
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def notify_channels(self) -> frozenset[str]:
        """The GOV.UK Notify channels that can be used: those with a template, given a key."""
        if not self.notify_api_key:
            return frozenset()
        return frozenset(c for c in NOTIFY_CHANNELS if self.notify_templates.get(c))

    def _notify_problems(self) -> list[str]:
        problems: list[str] = []
        if self.notify_max_attempts < 1 or self.notify_retry_seconds < 0:
            problems.append(
                "PASSPORT_NOTIFY_MAX_ATTEMPTS must be at least 1 and "
                "PASSPORT_NOTIFY_RETRY_SECONDS not negative"
            )
        if self.notify_lease_seconds < 1:
            problems.append("PASSPORT_NOTIFY_LEASE_SECONDS must be at least 1")
        key = self.notify_api_key
        if key is None:
            return problems
        # A Notify key is "name-<service id>-<secret>": two UUIDs at its end.
        if not re.fullmatch(r".+-[0-9a-f-]{36}-[0-9a-f-]{36}", key):
            problems.append(
                "PASSPORT_NOTIFY_API_KEY does not look like a GOV.UK Notify API key "
                "(name, service id and secret)"
            )
        if not self.notify_channels:
            problems.append(
                "PASSPORT_NOTIFY_API_KEY is set but no template is: set "
                "PASSPORT_NOTIFY_TEMPLATE_SMS, _EMAIL and/or _LETTER"
            )
        if self.notify_base_url is not None:
            base = urlsplit(self.notify_base_url)
            if base.scheme not in {"https", "http"} or not base.netloc:
                problems.append("PASSPORT_NOTIFY_BASE_URL must be an http(s) URL")
            elif self.is_production and base.scheme != "https":
                problems.append("production needs an https PASSPORT_NOTIFY_BASE_URL")
        return problems

    def _pkcs11_problems(self) -> list[str]:
        problems: list[str] = []
        module = self.pkcs11_module
        if module is None:
            problems.append(
                "PASSPORT_KEY_PROVIDER=pkcs11 needs PASSPORT_PKCS11_MODULE, the path of the "
                "token's PKCS#11 library (e.g. /usr/lib/softhsm/libsofthsm2.so)"
            )
        elif not module.is_file():
            problems.append(f"PASSPORT_PKCS11_MODULE {module} is not a file")
        if not self.pkcs11_token:
            problems.append("PASSPORT_KEY_PROVIDER=pkcs11 needs PASSPORT_PKCS11_TOKEN (its label)")
        pin_file = self.pkcs11_pin_file
        if self.pkcs11_pin and pin_file:
            problems.append("set PASSPORT_PKCS11_PIN or PASSPORT_PKCS11_PIN_FILE, not both")
        elif pin_file:
            try:
                if not pin_file.read_text("utf-8").strip():
                    problems.append(f"PASSPORT_PKCS11_PIN_FILE {pin_file} is empty")
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or "not text"
                problems.append(f"PASSPORT_PKCS11_PIN_FILE {pin_file} cannot be read: {reason}")
        elif not self.pkcs11_pin:
            problems.append(
                "PASSPORT_KEY_PROVIDER=pkcs11 needs the token's PIN: PASSPORT_PKCS11_PIN_FILE "
                "(a file only the service can read) or PASSPORT_PKCS11_PIN"
            )
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", self.pkcs11_key_label):
            problems.append(
                "PASSPORT_PKCS11_KEY_LABEL must be 1-64 letters, digits, '.', '_' or '-'"
            )
        return problems


def _path(env: dict[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
