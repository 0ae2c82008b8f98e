"""The access log: append, chain, checkpoints, verify, DPO queries."""

from .checkpoints import configure
from .events import AuditUnavailable, Event, QueuedEvents, record, record_many, request_id
from .integrator import chain_before_commit, chain_queued, integrate_all

__all__ = [
    "AuditUnavailable",
    "Event",
    "QueuedEvents",
    "chain_before_commit",
    "chain_queued",
    "configure",
    "integrate_all",
    "record",
    "record_many",
    "request_id",
]
