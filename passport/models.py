"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from .audit.models import AuditCheckpoint, AuditEvent, AuditPending, LogSetting
from .consent.models import Contributor, EmergencyAccess, EmergencyReview, Grant, Revocation
from .crypto.models import DataKey
from .db import Base
from .identity.models import AccessToken, Agency, Person, Staff
from .mdt.models import Forum, ForumMember
from .records.models import Entry, Revision

__all__ = [
    "AccessToken",
    "Agency",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditPending",
    "Base",
    "Contributor",
    "DataKey",
    "EmergencyAccess",
    "EmergencyReview",
    "Entry",
    "Forum",
    "ForumMember",
    "Grant",
    "LogSetting",
    "Person",
    "Revision",
    "Revocation",
    "Staff",
]
