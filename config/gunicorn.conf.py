"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py 'passport:create_app()'`.

The access log uses %(U)s (the path without its query string): a caseload search carries a
name and date of birth in the query, and logs must never hold record content."""

from typing import Any

bind = "127.0.0.1:8000"
workers = 2
threads = 4
worker_class = "gthread"
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss request=%({X-Request-Id}o)s'
forwarded_allow_ips = "127.0.0.1"

# Build the app once, in the master, before forking the workers: a (re)started worker answers
# in milliseconds instead of importing and opening the key store itself, so a restart under
# load answers within a few seconds, and a worker that dies is replaced at once. Safe here:
# - the database: the master's pooled connections are closed before each fork (`pre_fork`),
#   so no worker shares a connection with another;
# - the PKCS#11 token: a forked worker initialises the library again and opens its own
#   session on its first call (tests/test_pkcs11.py, a forked worker uses the token afresh);
# - the access log's background integrator: its thread starts on a worker's first request
#   (or /readyz), in that worker, never in the master (passport/audit/background.py);
# - Redis (sessions, throttling): redis-py opens new connections in a forked process.
# Because the code is loaded once, `kill -HUP` does not load a new version: restart the
# service after an upgrade (README "Operating").
preload_app = True


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before each fork: close the database connections it pooled while
    building the app (SQLAlchemy's rule for forks)."""
    if not server.cfg.preload_app:
        return
    engine = server.app.wsgi().extensions.get("passport_engine")
    if engine is not None:
        engine.dispose()


def child_exit(server: object, worker: object) -> None:
    """Metrics (PROMETHEUS_MULTIPROC_DIR set): forget a dead worker's live values."""
    from passport.metrics import mark_process_dead

    mark_process_dead(worker.pid)  # type: ignore[attr-defined]
