"""The access log: append, chain, checkpoints, verify, DPO queries."""

from .checkpoints import configure
from .events import AuditUnavailable, Event, record, record_many, request_id
from .integrator import integrate_all

__all__ = [
    "AuditUnavailable",
    "Event",
    "configure",
    "integrate_all",
    "record",
    "record_many",
    "request_id",
]
