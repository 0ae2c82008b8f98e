"""Exact-match lookup without plaintext: a keyed HMAC of normalised values."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata


def normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def blind_index(key: bytes, *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
