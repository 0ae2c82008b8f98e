"""The embedded default: KEKs and the blind-index key in a local JSON file (mode 0600).

Good for one machine; production refuses it. The file is made only by `passport init-db`
(`LocalKeyring.create_missing`); opening it never creates, repairs or regenerates anything,
because data sealed under a new keyring could never be read under the real one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path
from typing import Any

from ..sealing import SealError, open_sealed, seal, token_key_version
from . import KeyStoreError

KEY_BYTES = 32


class LocalKeyring:
    """KEKs in a local file, checked whole when opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._current, self._keks, self._index_key = self._read()

    # -- the file ----------------------------------------------------------------------------

    def _read(self) -> tuple[int, dict[int, bytes], bytes]:
        """The keyring, validated; `KeyStoreError` naming the file if it is unusable."""
        name = f"the keyring file {self.path}"
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"{name} is missing. Restore it from your key backup; only a new installation "
                f"creates one (`passport init-db` on an empty database). Nothing was created"
            ) from None
        except OSError as error:
            raise KeyStoreError(f"{name} cannot be read: {error.strerror}") from None
        if not text.strip():
            raise KeyStoreError(f"{name} is empty: restore it from your key backup")
        try:
            return _parse(json.loads(text))
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise KeyStoreError(
                f"{name} is corrupt (not a Passport keyring): restore it from your key backup"
            ) from None

    @classmethod
    def create_missing(cls, path: Path, *, data_exists: bool) -> list[str]:
        """Create the keyring if there is none (init-db only); check it if there is one."""
        if path.exists():
            cls(path)  # an existing keyring must be whole: never overwritten
            return []
        if data_exists:
            raise KeyStoreError(
                f"the keyring file {path} is missing but the database holds data keys sealed "
                f"under it: restore the keyring from your key backup (a new one could never "
                f"open them). Nothing was created"
            )
        data = {
            "current": 1,
            "keks": {"1": _b64(os.urandom(KEY_BYTES))},
            "blind_index_key": _b64(os.urandom(KEY_BYTES)),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, data, exclusive=True)
        return [f"keyring {path}"]

    # -- KeyProvider -------------------------------------------------------------------------

    def _kek(self, version: int) -> bytes:
        key = self._keks.get(version)
        if key is None:
            # Another process may have rotated since this one opened the file.
            with self._lock:
                self._current, self._keks, self._index_key = self._read()
            key = self._keks.get(version)
        if key is None:
            raise SealError(f"the keyring has no key-encryption key version {version}")
        return key

    def current_version(self) -> int:
        return self._current

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        version = self.current_version()
        return seal(self._kek(version), version, data_key, b"kek|" + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        version = token_key_version(wrapped)
        return open_sealed(self._kek(version), wrapped, b"kek|" + context)

    def rotate(self) -> int:
        with self._lock:
            _, keks, index_key = self._read()
            version = max(keks) + 1
            keks[version] = os.urandom(KEY_BYTES)
            data = {
                "current": version,
                "keks": {str(v): _b64(k) for v, k in sorted(keks.items())},
                "blind_index_key": _b64(index_key),
            }
            _write(self.path, data, exclusive=False)
            self._current, self._keks, self._index_key = version, keks, index_key
            return version

    def index_hmac(self, message: bytes) -> bytes:
        return hmac.new(self._index_key, message, hashlib.sha256).digest()


def _parse(data: Any) -> tuple[int, dict[int, bytes], bytes]:
    if not isinstance(data, dict):
        raise ValueError("not an object")
    keks = {int(v): _key(k) for v, k in dict(data["keks"]).items()}
    current = data["current"]
    if not keks or not isinstance(current, int) or current not in keks:
        raise ValueError("no current key-encryption key")
    return current, keks, _key(data["blind_index_key"])


def _key(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("a key is not text")
    raw = base64.b64decode(text, validate=True)
    if len(raw) != KEY_BYTES:
        raise ValueError("a key is not 32 bytes")
    return raw


def _write(path: Path, data: dict[str, Any], *, exclusive: bool) -> None:
    """Write whole, synced, mode 0600, then move into place (never over a keyring when
    `exclusive`: a link fails if another init-db made one first)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyStoreError(
                    f"the keyring file {path} appeared while init-db was creating one: run "
                    f"init-db again to check it"
                ) from None
        else:
            os.replace(tmp, path)
        os.chmod(path, 0o600)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
