"""A verifier of the access log written from /work/shared/AUDIT_FORMAT.md alone.

It deliberately imports nothing from `passport`: only the standard library, `cryptography`
(Ed25519) and `rfc8785` (JCS), as an auditor's own tool would. It checks an NDJSON export
and a JSON-lines checkpoint file against a published Ed25519 public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO_HASH = "0" * 64
SIGNED_FIELDS = ("log_id", "seq", "entry_hash", "signed_at")
# "Signed at least every 100 events or every 60 seconds while events arrive."
EVERY_EVENTS = 100
EVERY = timedelta(seconds=60)
SKEW = timedelta(seconds=5)


@dataclass
class Verdict:
    ok: bool
    first_bad_seq: int | None = None
    why: str = ""
    events: int = 0


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _signature_ok(checkpoint: dict, public_key: Ed25519PublicKey, key_id: str) -> bool:
    if checkpoint.get("key_id") != key_id:
        return False
    statement = {name: checkpoint.get(name) for name in SIGNED_FIELDS}
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        public_key.verify(signature, rfc8785.dumps(statement))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


def verify(export_text: str, checkpoints_text: str, public_key_raw: bytes) -> Verdict:
    public_key = Ed25519PublicKey.from_public_bytes(public_key_raw)
    key_id = hashlib.sha256(public_key_raw).hexdigest()[:16]
    checkpoints = [json.loads(line) for line in checkpoints_text.splitlines() if line.strip()]
    log_ids = {c.get("log_id") for c in checkpoints}
    if len(log_ids) > 1:
        return Verdict(False, None, "checkpoints of more than one log")
    by_seq: dict[int, list[dict]] = {}
    for checkpoint in checkpoints:
        by_seq.setdefault(checkpoint["seq"], []).append(checkpoint)

    prev = ZERO_HASH
    seq = 0
    last_signed_seq = 0
    last_signed_at: datetime | None = None
    occurred: dict[int, datetime] = {}
    for line in export_text.splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        seq += 1
        if event.get("seq") != seq:
            return Verdict(False, seq, f"expected seq {seq}, found {event.get('seq')}", seq - 1)
        if event.get("prev_hash") != prev:
            return Verdict(False, seq, "prev_hash does not chain", seq - 1)
        body = {k: v for k, v in event.items() if k not in ("prev_hash", "entry_hash")}
        digest = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(body)).hexdigest()
        if digest != event.get("entry_hash"):
            return Verdict(False, seq, "entry_hash does not match the body", seq - 1)
        for checkpoint in by_seq.pop(seq, []):
            if not _signature_ok(checkpoint, public_key, key_id):
                return Verdict(False, seq, "checkpoint signature invalid", seq - 1)
            if checkpoint["entry_hash"] != digest:
                return Verdict(False, seq, "checkpoint does not match the event", seq - 1)
            last_signed_seq = seq
            signed_at = _time(checkpoint["signed_at"])
            last_signed_at = max(signed_at, last_signed_at or signed_at)
        occurred[seq] = _time(event["occurred_at"])
        prev = digest
    for beyond in sorted(by_seq):
        if not all(_signature_ok(c, public_key, key_id) for c in by_seq[beyond]):
            return Verdict(False, beyond, "checkpoint signature invalid", seq)
        return Verdict(False, seq + 1, f"truncated: a checkpoint covers seq {beyond}", seq)
    # The unsigned tail must fit the signing rule, or it was appended without the key.
    if seq > last_signed_seq:
        if last_signed_at is None:
            return Verdict(False, 1, "no checkpoint at all", seq)
        if seq - last_signed_seq >= EVERY_EVENTS:
            return Verdict(False, last_signed_seq + EVERY_EVENTS, "long unsigned tail", seq)
        for tail_seq in range(last_signed_seq + 1, seq + 1):
            if occurred[tail_seq] > last_signed_at + EVERY + SKEW:
                return Verdict(False, tail_seq, "unsigned event long after a checkpoint", seq)
    return Verdict(True, None, "", seq)
