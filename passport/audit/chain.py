"""The hash chain of AUDIT_FORMAT.md: SHA-256 over the previous hash and RFC 8785 JSON."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64


def canonical(value: Any) -> bytes:
    return rfc8785.dumps(value)


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(body)).hexdigest()
