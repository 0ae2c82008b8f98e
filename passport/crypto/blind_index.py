"""Exact-match lookup without plaintext: a keyed HMAC of normalised values.

The HMAC is computed by the key provider, where the key lives (in the token for PKCS#11)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable


def normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def blind_index(hmac_sha256: Callable[[bytes], bytes], *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac_sha256(message).hex()
