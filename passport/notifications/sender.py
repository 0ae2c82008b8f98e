"""The sender: delivers the outbox at least once, each message with its idempotency key.

It runs as its own process, `passport notify run` (long-running; `--once` for one pass, e.g.
from cron), never inside the web processes: a request only writes the outbox row, and a
slow or unreachable GOV.UK Notify never holds a request up. Several senders may run:

1. *Claim* (one short transaction): due rows — pending with `next_attempt_at` passed, or
   `sending` whose claim ran out (a sender that died mid-delivery) — are marked `sending`,
   claimed by this pass until `now + PASSPORT_NOTIFY_LEASE_SECONDS`, attempts + 1. On
   PostgreSQL the rows are chosen `FOR UPDATE SKIP LOCKED`, so two senders never wait on or
   take each other's; on SQLite the database has one writer at a time, and the guarded UPDATE
   (state and claim checked again) makes a row that another sender took first simply drop out.
2. *Send*, outside any transaction, with the row's idempotency key as Notify's `reference`,
   after renewing this pass's claim on that one message (a message whose claim ran out during
   a long batch is left to whoever took it).
3. *Record* (one transaction per message, only while our claim holds): `sent`; or `pending`
   again after an exponential backoff (PASSPORT_NOTIFY_RETRY_SECONDS × 2^(attempts-1), at most
   a day); or `failed` after PASSPORT_NOTIFY_MAX_ATTEMPTS attempts, or at once when Notify
   says the request itself is wrong.

A sender killed between 2 and 3 leaves the row `sending`; when the claim runs out another
sender sends it again with the same key: at least once, never lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from .. import db
from ..config import Settings
from ..crypto import data_keys
from ..crypto.sealing import SealError
from . import wording
from .channels import Outgoing, Sender, SendFailed
from .models import Notification, NotifyPreference, OutboxMessage

log = logging.getLogger("passport.notifications")

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
STATES = (PENDING, SENDING, SENT, FAILED)
MAX_BACKOFF = timedelta(days=1)
BATCH = 50


def backoff(settings: Settings, attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    seconds = settings.notify_retry_seconds * 2 ** max(attempts - 1, 0)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def _due(now: datetime) -> object:
    return or_(
        and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == SENDING, OutboxMessage.claimed_until < now),
    )


def claim(settings: Settings, limit: int = BATCH) -> tuple[str, list[str]]:
    """Claim up to `limit` due messages for this pass, and commit. Returns (claim id, ids)."""
    now = db.utcnow()
    claim_id = db.new_id()
    candidates = (
        select(OutboxMessage.id)
        .where(_due(now))  # type: ignore[arg-type]
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.execute(candidates).scalars())
    if not ids:
        db.session.rollback()
        return claim_id, []
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now))  # type: ignore[arg-type]
        .values(
            state=SENDING,
            claimed_by=claim_id,
            claimed_until=now + timedelta(seconds=settings.notify_lease_seconds),
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = list(
        db.session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.claimed_by == claim_id)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        ).scalars()
    )
    db.session.commit()
    return claim_id, claimed


def _outgoing(message: OutboxMessage) -> Outgoing | None:
    """The message to send, made now; None if the person has since stopped this channel or
    removed the contact detail."""
    notification = db.session.get(Notification, message.notification_id)
    assert notification is not None
    preference = db.session.execute(
        select(NotifyPreference).where(NotifyPreference.account_id == notification.recipient_id)
    ).scalar_one_or_none()
    if preference is None or preference.channel != message.channel or not preference.contact:
        return None
    contact = data_keys.open_json(
        preference.account_id, "notify_preferences", "contact", preference.id, preference.contact
    )
    subject, text = wording.outside(notification.kind, preference.language)
    return Outgoing(
        channel=message.channel,
        kind=notification.kind,
        contact=contact,
        subject=subject,
        message=text,
        reference=message.idempotency_key,
    )


def _still_ours(settings: Settings, message_id: str, claim_id: str) -> bool:
    """Renew our claim on one message just before sending it, so a long batch never sends a
    message whose claim ran out (and that another sender may have taken)."""
    now = db.utcnow()
    renewed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == claim_id,
            OutboxMessage.claimed_until >= now,
        )
        .values(claimed_until=now + timedelta(seconds=settings.notify_lease_seconds))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return renewed is not None


def _record(message_id: str, claim_id: str, **values: object) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == claim_id)
        .values(claimed_by=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


@dataclass
class Pass:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def deliver(settings: Settings, sender: Sender, limit: int = BATCH) -> Pass:
    """One pass: claim what is due, send each, record each outcome."""
    result = Pass()
    claim_id, ids = claim(settings, limit)
    for message_id in ids:
        message = db.session.get(OutboxMessage, message_id)
        assert message is not None
        attempts = message.attempts
        try:
            outgoing = _outgoing(message)
        except (SealError, LookupError) as error:
            # The contact cannot be opened (the person's keys were shredded): nothing to send.
            db.session.rollback()
            _record(message_id, claim_id, state=FAILED, last_error=type(error).__name__)
            result.failed += 1
            continue
        db.session.rollback()
        if outgoing is not None and not _still_ours(settings, message_id, claim_id):
            continue  # our claim ran out while earlier ones were sent: another sender has it
        # No transaction is held while Notify is called.
        if outgoing is None:
            _record(message_id, claim_id, state=FAILED, last_error="the person stopped this way")
            result.failed += 1
            continue
        try:
            provider_id = sender.send(outgoing)
        except SendFailed as failure:
            if failure.permanent or attempts >= settings.notify_max_attempts:
                _record(message_id, claim_id, state=FAILED, last_error=failure.reason[:200])
                log.warning("notification %s failed for good: %s", message_id, failure.reason)
                result.failed += 1
            else:
                _record(
                    message_id,
                    claim_id,
                    state=PENDING,
                    next_attempt_at=db.utcnow() + backoff(settings, attempts),
                    last_error=failure.reason[:200],
                )
                result.retried += 1
            continue
        _record(
            message_id,
            claim_id,
            state=SENT,
            sent_at=db.utcnow(),
            provider_id=provider_id[:64] or None,
            last_error=None,
        )
        result.sent += 1
    return result


def run(
    settings: Settings,
    sender: Sender,
    *,
    once: bool = False,
    idle_seconds: float = 5.0,
) -> Pass:
    """Deliver until stopped (or one pass, `once`). A database that is away is waited for."""
    total = Pass()
    while True:
        try:
            done = deliver(settings, sender)
        except Exception as error:
            db.session.rollback()
            if once:
                raise
            log.warning("notification sender pass failed: %s", type(error).__name__)
            done = Pass()
        finally:
            db.session.remove()
        total.sent += done.sent
        total.retried += done.retried
        total.failed += done.failed
        if once:
            return total
        if done.handled < BATCH:
            time.sleep(idle_seconds)


@dataclass(frozen=True)
class Status:
    counts: dict[str, int]
    # How long the oldest message not yet sent has waited since it was written.
    oldest_pending_seconds: float | None
    # How long the most overdue message has been due without a sender taking it (a pending
    # one past its next attempt, or one whose sender's claim ran out): no sender is running.
    overdue_seconds: float | None = None


def _as_time(value: object) -> datetime | None:
    """min() over a column bypasses its type on SQLite, which gives back text."""
    if value is None:
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def status() -> Status:
    """Counts by state, how long the oldest unsent message has waited, and how overdue the
    most overdue one is."""
    now = db.utcnow()
    counts = dict.fromkeys(STATES, 0)
    for state, count in db.session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ):
        counts[state] = int(count)
    oldest = _as_time(
        db.session.execute(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.state.in_([PENDING, SENDING])
            )
        ).scalar()
    )
    due = [
        _as_time(
            db.session.execute(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now
                )
            ).scalar()
        ),
        _as_time(
            db.session.execute(
                select(func.min(OutboxMessage.claimed_until)).where(
                    OutboxMessage.state == SENDING, OutboxMessage.claimed_until < now
                )
            ).scalar()
        ),
    ]
    overdue = min((d for d in due if d is not None), default=None)
    return Status(
        counts,
        max((now - oldest).total_seconds(), 0.0) if oldest else None,
        max((now - overdue).total_seconds(), 0.0) if overdue else None,
    )
