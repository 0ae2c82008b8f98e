"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from .audit.models import AuditCheckpoint, AuditEvent, AuditPending, LogSetting
from .consent.models import (
    Confirmation,
    Contributor,
    EmergencyAccess,
    EmergencyReview,
    Grant,
    Revocation,
)
from .crypto.models import DataKey
from .db import Base
from .identity.models import AccessToken, Agency, Person, SetupCode, Staff
from .identity.oauth_models import (
    OAuthApproval,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthRefreshToken,
)
from .mdt.models import Action, AgendaItem, Forum, ForumMember, Meeting
from .records.models import Entry, Revision
from .representatives.models import (
    Representation,
    RepresentationEnding,
    RepresentationReview,
    RepresentativeAccount,
)

__all__ = [
    "AccessToken",
    "Action",
    "Agency",
    "AgendaItem",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditPending",
    "Base",
    "Confirmation",
    "Contributor",
    "DataKey",
    "EmergencyAccess",
    "EmergencyReview",
    "Entry",
    "Forum",
    "ForumMember",
    "Grant",
    "LogSetting",
    "Meeting",
    "OAuthApproval",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthRefreshToken",
    "Person",
    "Representation",
    "RepresentationEnding",
    "RepresentationReview",
    "RepresentativeAccount",
    "Revision",
    "Revocation",
    "SetupCode",
    "Staff",
]
