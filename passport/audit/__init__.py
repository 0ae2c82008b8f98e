"""The access log: append, chain, checkpoints, verify, DPO queries."""

from .checkpoints import configure
from .events import AuditUnavailable, Event, record, record_many, request_id
from .integrator import chain_before_commit, integrate_all

__all__ = [
    "AuditUnavailable",
    "Event",
    "chain_before_commit",
    "configure",
    "integrate_all",
    "record",
    "record_many",
    "request_id",
]
