"""The production setting PASSPORT_RATELIMIT_STORAGE_URI=redis://... starts, and sign-in
failures are counted in the real Redis (127.0.0.1:6379), shared by every worker process.

Each app here runs in its own process: the sign-in limiter is one object per process, and
pointing it at Redis must not leak into the rest of the suite."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

# Nothing here touches the test database: run once, in the SQLite pass.
pytestmark = pytest.mark.once

REDIS_DB = 13  # a database of Redis's own that nothing else in the suite uses

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from passport import create_app
    from passport.cli import upgrade_database
    from passport.config import Settings

    home, uri = sys.argv[1], sys.argv[2]
    app = create_app(initialise_keys=True, settings=Settings.from_env({
        "PASSPORT_HOME": home,
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "PASSPORT_RATELIMIT_STORAGE_URI": uri,
    }))
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        upgrade_database(app)
    client = app.test_client()
    statuses = [
        client.post("/login", data={"username": "nobody", "password": "wrong-password-1"})
        .status_code
        for _ in range(7)
    ]
    print(json.dumps(statuses))
    """
)


@pytest.fixture
def redis_db():
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.ping()
    client.flushdb()
    yield client
    client.flushdb()


def _sign_in_failures(tmp_path: Path, uri: str) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_redis_setting_starts_and_throttles_across_processes(tmp_path, redis_db):
    uri = f"redis://127.0.0.1:6379/{REDIS_DB}"
    first = _sign_in_failures(tmp_path / "a", uri)
    assert first[:5] == [200] * 5  # the form again, with "wrong username or passphrase"
    assert first[5:] == [429, 429]
    assert redis_db.keys("*"), "the counters were not kept in Redis"
    # Another worker process already knows this username is throttled.
    assert _sign_in_failures(tmp_path / "b", uri) == [429] * 7
