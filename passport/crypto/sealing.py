"""AES-256-GCM sealing of one value, bound to where it lives.

Token layout (bytes): format (1) | data-key version (4, big-endian) | nonce (12) | ciphertext+tag.
The associated data names person, table, field and row, so a ciphertext copied to any other
place fails to open.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_V1 = 1
_HEADER = struct.Struct(">BI")
NONCE_BYTES = 12


class SealError(Exception):
    """A value could not be opened. Carries no plaintext and no key material."""


def associated_data(person_id: str, table: str, field: str, row_id: str) -> bytes:
    return f"passport/v1|{person_id}|{table}|{field}|{row_id}".encode()


def seal(key: bytes, key_version: int, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return _HEADER.pack(FORMAT_V1, key_version) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def token_key_version(token: bytes) -> int:
    if len(token) < _HEADER.size + NONCE_BYTES + 16:
        raise SealError("sealed value is too short")
    fmt, version = _HEADER.unpack_from(token)
    if fmt != FORMAT_V1:
        raise SealError(f"unknown sealed value format {fmt}")
    return int(version)


def open_sealed(key: bytes, token: bytes, aad: bytes) -> bytes:
    token_key_version(token)
    nonce = token[_HEADER.size : _HEADER.size + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, token[_HEADER.size + NONCE_BYTES :], aad)
    except InvalidTag:
        raise SealError("sealed value failed authentication (wrong key or wrong place)") from None
