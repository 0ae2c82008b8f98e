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
from .notifications.models import Notification, NotifyPreference, OutboxMessage
from .records.models import Dispute, DisputeAnswer, Entry, Revision
from .representatives.models import (
    Representation,
    RepresentationEnding,
    RepresentationReview,
    RepresentativeAccount,
)
from .rights.models import (
    ErasureDecision,
    ErasureRequest,
    SubjectAccessAnswer,
    SubjectAccessRequest,
)
from .snapshots import AccessEpoch

__all__ = [
    "AccessEpoch",
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
    "Dispute",
    "DisputeAnswer",
    "EmergencyAccess",
    "EmergencyReview",
    "Entry",
    "ErasureDecision",
    "ErasureRequest",
    "Forum",
    "ForumMember",
    "Grant",
    "LogSetting",
    "Meeting",
    "Notification",
    "NotifyPreference",
    "OAuthApproval",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthRefreshToken",
    "OutboxMessage",
    "Person",
    "Representation",
    "RepresentationEnding",
    "RepresentationReview",
    "RepresentativeAccount",
    "Revision",
    "Revocation",
    "SetupCode",
    "Staff",
    "SubjectAccessAnswer",
    "SubjectAccessRequest",
]
