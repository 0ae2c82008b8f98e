"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py 'passport:create_app()'`.

The access log uses %(U)s (the path without its query string): a caseload search carries a
name and date of birth in the query, and logs must never hold record content."""

bind = "127.0.0.1:8000"
workers = 2
threads = 4
worker_class = "gthread"
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss request=%({X-Request-Id}o)s'
forwarded_allow_ips = "127.0.0.1"


def child_exit(server: object, worker: object) -> None:
    """Metrics (PROMETHEUS_MULTIPROC_DIR set): forget a dead worker's live values."""
    from passport.metrics import mark_process_dead

    mark_process_dead(worker.pid)  # type: ignore[attr-defined]
