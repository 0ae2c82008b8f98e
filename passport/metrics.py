"""Prometheus metrics (prometheus_client), every name prefixed `passport_`.

Counted in the process: requests and their latency by endpoint (the URL rule, such as
`/api/v1/people/<person_id>`, never the path with its ids), consent decisions by outcome,
checkpoint-file failures. Read from the database when scraped (so every process reports
the same, and multi-process mode needs nothing for them): queued access-log events, the
integrator's lag, the last checkpoint's age. No label ever holds an id, a name or content.

Several processes (gunicorn workers): set PROMETHEUS_MULTIPROC_DIR to an empty directory
writable by the workers before the server starts; each process then writes its counts there
and `/metrics` in any worker adds them all up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "passport_http_requests",
    "HTTP requests answered, by endpoint (URL rule), method and status",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "passport_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (URL rule) and method",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DECISIONS = Counter(
    "passport_consent_decisions",
    "Consent decisions per section, by outcome (allowed/denied), the basis of an allowed "
    "one and the reason for a denied one",
    ["outcome", "basis", "reason"],
    registry=REGISTRY,
)
UNAVAILABLE = Counter(
    "passport_database_unavailable_responses",
    "Requests answered 503 because the database could not be reached",
    registry=REGISTRY,
)
CHECKPOINT_FILE_FAILURES = Counter(
    "passport_checkpoint_file_failures",
    "Checkpoints signed into the database but not written to the checkpoint file",
    registry=REGISTRY,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"  # any token is a method: bound them
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint, method).observe(seconds)


def observe_decision(allowed: bool, basis: str | None, reason: str | None, sections: int) -> None:
    outcome = "allowed" if allowed else "denied"
    DECISIONS.labels(outcome, basis or "", reason or "").inc(sections)


# What the live collector reads: (pending events, oldest pending age in seconds or None,
# last checkpoint age in seconds or None); raises if the database cannot be read.
AuditReading = Callable[[], tuple[int, float | None, float | None]]
# The notification outbox: (waiting to be sent, sent, failed, oldest waiting age or None).
NotifyReading = Callable[[], tuple[int, int, int, float | None]]


class _Live(Collector):
    """Gauges read at scrape time."""

    def __init__(self, read_audit: AuditReading, read_notify: NotifyReading | None = None) -> None:
        self.read_audit = read_audit
        self.read_notify = read_notify

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "passport_database_up", "1 if the database answered this scrape, else 0"
        )
        try:
            pending, lag, checkpoint_age = self.read_audit()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "passport_audit_pending_events",
            "Access-log events queued, waiting for the integrator to chain them",
            value=pending,
        )
        yield GaugeMetricFamily(
            "passport_audit_integrator_lag_seconds",
            "Age of the oldest queued access-log event (0 when none is queued)",
            value=lag or 0.0,
        )
        if checkpoint_age is not None:
            yield GaugeMetricFamily(
                "passport_audit_last_checkpoint_age_seconds",
                "Seconds since the last signed checkpoint",
                value=checkpoint_age,
            )
        if self.read_notify is not None:
            yield from _notify_metrics(self.read_notify)


def _notify_metrics(read_notify: NotifyReading) -> Iterator[Metric]:
    try:
        waiting, sent, failed, oldest = read_notify()
    except Exception:
        return
    yield GaugeMetricFamily(
        "passport_notify_pending",
        "Texts, emails and letters in the outbox not yet sent (pending or being sent)",
        value=waiting,
    )
    yield GaugeMetricFamily(
        "passport_notify_oldest_pending_seconds",
        "Age of the oldest outbox message not yet sent (0 when none is waiting)",
        value=oldest or 0.0,
    )
    yield CounterMetricFamily(
        "passport_notify_sent", "Outbox messages GOV.UK Notify accepted", value=sent
    )
    yield CounterMetricFamily(
        "passport_notify_failed",
        "Outbox messages given up on (after the last retry, or refused by GOV.UK Notify)",
        value=failed,
    )


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(read_audit: AuditReading, read_notify: NotifyReading | None = None) -> bytes:
    """The text format: this process's counts (or every process's, in multiprocess mode),
    then the gauges read now."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    live = CollectorRegistry(auto_describe=False)
    live.register(_Live(read_audit, read_notify))
    return generate_latest(counted) + generate_latest(live)


def mark_process_dead(pid: int) -> None:
    """For gunicorn's `child_exit`: forget a dead worker's live files (multiprocess mode)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
