"""Key providers: where key-encryption keys (KEKs) live.

`KeyProvider` is the interface; `LocalKeyring` is the embedded default, a JSON file created on
first run with mode 0600. A KMS provider (e.g. Vault Transit) implements the same four methods.
Wrapped data keys carry the KEK version that wrapped them, so rotation never needs downtime:
old versions stay available for unwrapping while every data key is re-wrapped.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Protocol

from .sealing import open_sealed, seal, token_key_version


class KeyProvider(Protocol):
    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...

    def rotate(self) -> int:
        """Make a new current KEK; return its version. Older versions still unwrap."""
        ...

    def current_version(self) -> int: ...

    def blind_index_key(self) -> bytes: ...


class LocalKeyring:
    """KEKs in a local file. Good for one machine; production should use a KMS."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data = self._load_or_create()

    def _load_or_create(self) -> dict[str, object]:
        if self.path.exists():
            return dict(json.loads(self.path.read_text()))
        data: dict[str, object] = {
            "current": 1,
            "keks": {"1": _b64(os.urandom(32))},
            "blind_index_key": _b64(os.urandom(32)),
        }
        self._write(data)
        return data

    def _write(self, data: dict[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)

    def _kek(self, version: int) -> bytes:
        keks = self._data["keks"]
        assert isinstance(keks, dict)
        if str(version) not in keks:
            # Another process may have rotated since we loaded the file.
            self._data = self._load_or_create()
            keks = self._data["keks"]
            assert isinstance(keks, dict)
        return base64.b64decode(keks[str(version)])

    def current_version(self) -> int:
        return int(str(self._data["current"]))

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        version = self.current_version()
        return seal(self._kek(version), version, data_key, b"kek|" + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        version = token_key_version(wrapped)
        return open_sealed(self._kek(version), wrapped, b"kek|" + context)

    def rotate(self) -> int:
        with self._lock:
            data = self._load_or_create()
            keks = data["keks"]
            assert isinstance(keks, dict)
            version = max(int(v) for v in keks) + 1
            keks[str(version)] = _b64(os.urandom(32))
            data["current"] = version
            self._write(data)
            self._data = data
            return version

    def blind_index_key(self) -> bytes:
        return base64.b64decode(str(self._data["blind_index_key"]))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
