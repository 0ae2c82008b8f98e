"""The access log: append, chain, checkpoints, verify, DPO queries."""

from .checkpoints import configure
from .events import AuditUnavailable, record, request_id
from .integrator import integrate_all

__all__ = ["AuditUnavailable", "configure", "integrate_all", "record", "request_id"]
