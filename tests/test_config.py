"""Settings are read from the environment and validated at start-up: production refuses to run
on anything unsafe, and every refusal says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from passport import create_app
from passport.config import ConfigError, Settings

STRONG_SECRET = "k" * 48
PG_URL = "postgresql+psycopg://passport@db.internal/passport"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"PASSPORT_HOME": str(tmp_path), **env})


def refusal(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, **env)
    return str(raised.value)


def test_defaults(tmp_path):
    loaded = settings(tmp_path)
    assert loaded.home == tmp_path.resolve()
    assert loaded.database_url == f"sqlite:///{tmp_path.resolve() / 'passport.db'}"
    assert loaded.environment == "development"
    assert not loaded.is_production
    assert loaded.key_provider == "local"
    assert loaded.keyring_path == tmp_path.resolve() / "keyring.json"
    assert loaded.checkpoints_path == tmp_path.resolve() / "checkpoints.jsonl"
    assert loaded.token_ttl_seconds == 3600
    assert loaded.emergency_access_hours == 4
    assert loaded.data_key_cache_seconds == 60
    # No secret given: one is generated, long and random, and marked as generated.
    assert loaded.secret_key_generated
    assert len(loaded.secret_key) >= 32
    assert settings(tmp_path).secret_key != loaded.secret_key


def test_passport_home_defaults_to_instance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = Settings.from_env({})
    assert loaded.home == (tmp_path / "instance").resolve()
    assert loaded.database_url == f"sqlite:///{(tmp_path / 'instance' / 'passport.db').resolve()}"


def test_from_env_reads_the_process_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PASSPORT_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PASSPORT_TOKEN_TTL", "120")
    loaded = Settings.from_env()
    assert loaded.home == (tmp_path / "elsewhere").resolve()
    assert loaded.token_ttl_seconds == 120


def test_values_from_the_environment(tmp_path):
    loaded = settings(
        tmp_path,
        PASSPORT_DATABASE_URL=PG_URL,
        PASSPORT_SECRET_KEY=STRONG_SECRET,
        PASSPORT_ENV="test",
        PASSPORT_TOKEN_TTL="600",
        PASSPORT_EMERGENCY_ACCESS_HOURS="2",
        PASSPORT_DATA_KEY_CACHE_SECONDS="0",
        PASSPORT_LOG_ID="riverside-passport",
        PASSPORT_CHECKPOINT_FILE=str(tmp_path / "witness.jsonl"),
    )
    assert loaded.database_url == PG_URL
    assert loaded.secret_key == STRONG_SECRET and not loaded.secret_key_generated
    assert loaded.environment == "test"
    assert loaded.token_ttl_seconds == 600
    assert loaded.emergency_access_hours == 2
    assert loaded.data_key_cache_seconds == 0
    assert loaded.log_id == "riverside-passport"
    assert loaded.checkpoints_path == tmp_path / "witness.jsonl"


def test_production_refuses_a_generated_secret(tmp_path):
    message = refusal(tmp_path, PASSPORT_ENV="production", PASSPORT_DATABASE_URL=PG_URL)
    assert "PASSPORT_SECRET_KEY" in message


def test_production_refuses_a_short_secret(tmp_path):
    message = refusal(
        tmp_path,
        PASSPORT_ENV="production",
        PASSPORT_DATABASE_URL=PG_URL,
        PASSPORT_SECRET_KEY="k" * 31,
    )
    assert "PASSPORT_SECRET_KEY" in message and "32" in message


def test_production_refuses_the_local_keyring(tmp_path):
    message = refusal(
        tmp_path,
        PASSPORT_ENV="production",
        PASSPORT_DATABASE_URL=PG_URL,
        PASSPORT_SECRET_KEY=STRONG_SECRET,
    )
    assert "local keyring" in message
    assert "PASSPORT_KEY_PROVIDER" in message
    assert "PASSPORT_SECRET_KEY" not in message  # the secret was fine


def test_production_refuses_sqlite(tmp_path):
    message = refusal(tmp_path, PASSPORT_ENV="production", PASSPORT_SECRET_KEY=STRONG_SECRET)
    assert "production needs PostgreSQL" in message


def test_production_names_every_problem_at_once(tmp_path):
    message = refusal(tmp_path, PASSPORT_ENV="production")
    assert "PASSPORT_SECRET_KEY" in message
    assert "local keyring" in message
    assert "PostgreSQL" in message


def test_development_accepts_what_production_refuses(tmp_path):
    loaded = settings(tmp_path, PASSPORT_ENV="development")
    assert loaded.secret_key_generated and loaded.key_provider == "local"
    assert loaded.database_url.startswith("sqlite")


def test_production_refuses_before_touching_anything(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("PASSPORT_HOME", str(home))
    monkeypatch.setenv("PASSPORT_ENV", "production")
    monkeypatch.delenv("PASSPORT_SECRET_KEY", raising=False)
    monkeypatch.delenv("PASSPORT_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError):
        create_app()
    assert not home.exists()  # no database, no keyring created


@pytest.mark.parametrize(
    "name",
    [
        "PASSPORT_TOKEN_TTL",
        "PASSPORT_EMERGENCY_ACCESS_HOURS",
        "PASSPORT_DATA_KEY_CACHE_SECONDS",
    ],
)
def test_bad_integers_are_refused(tmp_path, name):
    message = refusal(tmp_path, **{name: "ten"})
    assert message == f"{name} must be a whole number, not 'ten'"
    assert refusal(tmp_path, **{name: "1.5"}) == f"{name} must be a whole number, not '1.5'"


def test_an_empty_integer_means_the_default(tmp_path):
    assert settings(tmp_path, PASSPORT_TOKEN_TTL="").token_ttl_seconds == 3600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PASSPORT_TOKEN_TTL", "0"),
        ("PASSPORT_TOKEN_TTL", "-5"),
        ("PASSPORT_EMERGENCY_ACCESS_HOURS", "0"),
    ],
)
def test_lifetimes_must_be_positive(tmp_path, name, value):
    assert name in refusal(tmp_path, **{name: value})


def test_negative_cache_is_refused(tmp_path):
    assert "PASSPORT_DATA_KEY_CACHE_SECONDS" in refusal(
        tmp_path, PASSPORT_DATA_KEY_CACHE_SECONDS="-1"
    )


@pytest.mark.parametrize("value", ["prod", "Production", "staging", ""])
def test_unknown_environment_is_refused(tmp_path, value):
    # Not even an empty value is a silent "development".
    message = refusal(tmp_path, PASSPORT_ENV=value)
    assert "PASSPORT_ENV must be development, test or production" in message
    assert repr(value) in message


def test_unknown_key_provider_is_refused(tmp_path):
    message = refusal(tmp_path, PASSPORT_KEY_PROVIDER="vault")
    assert "PASSPORT_KEY_PROVIDER 'vault' is not available" in message


@pytest.mark.parametrize("url", ["mysql://db/passport", "passport.db", "postgres-ish"])
def test_unsupported_database_is_refused(tmp_path, url):
    message = refusal(tmp_path, PASSPORT_DATABASE_URL=url)
    assert "PASSPORT_DATABASE_URL must be a sqlite:// or postgresql URL" in message


def test_oauth_issuer_for_a_service_behind_a_proxy(tmp_path):
    assert settings(tmp_path).oauth_issuer is None  # taken from each request
    given = settings(tmp_path, PASSPORT_OAUTH_ISSUER="https://passport.example.org/")
    assert given.oauth_issuer == "https://passport.example.org"


@pytest.mark.parametrize(
    "issuer",
    ["passport.example.org", "ftp://passport.example.org", "https://x.org/?a=1", "https://"],
)
def test_an_oauth_issuer_that_is_not_a_plain_url_is_refused(tmp_path, issuer):
    assert "PASSPORT_OAUTH_ISSUER must be an https URL" in refusal(
        tmp_path, PASSPORT_OAUTH_ISSUER=issuer
    )


def test_production_refuses_an_http_oauth_issuer(tmp_path):
    problems = refusal(
        tmp_path,
        PASSPORT_ENV="production",
        PASSPORT_SECRET_KEY=STRONG_SECRET,
        PASSPORT_DATABASE_URL=PG_URL,
        PASSPORT_OAUTH_ISSUER="http://passport.example.org",
    )
    assert "PASSPORT_OAUTH_ISSUER must be an https URL" in problems
    assert "http only outside production" in problems
