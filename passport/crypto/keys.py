"""Per-person data keys: create, seal, open, re-wrap, shred.

Unwrapped data keys are cached in process for a short time (`data_key_cache_seconds`) so a
busy read path does not call the key provider for every value.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select

from .. import db
from .blind_index import blind_index, normalise_name
from .models import DataKey
from .providers import KeyProvider
from .sealing import SealError, associated_data, open_sealed, seal, token_key_version


class KeyUnavailable(SealError):
    """The person's data key is missing or destroyed (e.g. after erasure)."""


def _wrap_context(person_id: str, version: int) -> bytes:
    return f"data-key|{person_id}|{version}".encode()


class DataKeys:
    def __init__(self) -> None:
        self._provider: KeyProvider | None = None
        self._ttl = 60.0
        self._cache: dict[tuple[str, int], tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def configure(self, provider: KeyProvider, cache_seconds: float) -> None:
        self._provider = provider
        self._ttl = cache_seconds
        self.clear_cache()

    @property
    def provider(self) -> KeyProvider:
        if self._provider is None:
            raise RuntimeError("key provider not configured: call DataKeys.configure first")
        return self._provider

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def forget(self, person_id: str) -> None:
        with self._lock:
            for cached in [k for k in self._cache if k[0] == person_id]:
                del self._cache[cached]

    # -- data keys -------------------------------------------------------------------------

    def create_for(self, person_id: str) -> DataKey:
        raw = os.urandom(32)
        wrapped = self.provider.wrap(raw, _wrap_context(person_id, 1))
        key = DataKey(
            person_id=person_id,
            version=1,
            wrapped=wrapped,
            kek_version=token_key_version(wrapped),
        )
        db.session.add(key)
        db.session.flush()
        with self._lock:
            self._cache[(person_id, 1)] = (raw, time.monotonic() + self._ttl)
        return key

    def _current(self, person_id: str) -> DataKey:
        row = db.session.execute(
            select(DataKey)
            .where(DataKey.person_id == person_id)
            .order_by(DataKey.version.desc())
            .limit(1)
        ).scalar_one_or_none()
        if row is None or row.wrapped is None:
            raise KeyUnavailable("no data key for this person")
        return row

    def _raw_key(self, person_id: str, version: int) -> bytes:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get((person_id, version))
            if hit and hit[1] > now:
                return hit[0]
        row = db.session.execute(
            select(DataKey).where(DataKey.person_id == person_id, DataKey.version == version)
        ).scalar_one_or_none()
        if row is None or row.wrapped is None:
            raise KeyUnavailable("data key unavailable")
        raw = self.provider.unwrap(row.wrapped, _wrap_context(person_id, version))
        with self._lock:
            self._cache[(person_id, version)] = (raw, now + self._ttl)
        return raw

    # -- values ----------------------------------------------------------------------------

    def seal_json(self, person_id: str, table: str, field: str, row_id: str, value: Any) -> bytes:
        current = self._current(person_id)
        raw = self._raw_key(person_id, current.version)
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return seal(
            raw, current.version, plaintext, associated_data(person_id, table, field, row_id)
        )

    def open_json(self, person_id: str, table: str, field: str, row_id: str, token: bytes) -> Any:
        raw = self._raw_key(person_id, token_key_version(token))
        plaintext = open_sealed(raw, token, associated_data(person_id, table, field, row_id))
        return json.loads(plaintext)

    def blind_index(self, *parts: str) -> str:
        return blind_index(self.provider.index_hmac, *(normalise_name(p) for p in parts))

    # -- rotation and erasure --------------------------------------------------------------

    def rewrap_all(self, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Re-wrap every live data key under a new KEK. Values are untouched.

        Each data key is re-wrapped in place: readers holding the old wrapping still succeed,
        because the old KEK version stays in the provider. Returns (kek_version, count).
        """
        version = self.provider.rotate()
        count = 0
        for row in self._live_keys():
            context = _wrap_context(row.person_id, row.version)
            assert row.wrapped is not None
            raw = self.provider.unwrap(row.wrapped, context)
            row.wrapped = self.provider.wrap(raw, context)
            row.kek_version = version
            row.rewrapped_at = db.utcnow()
            count += 1
            if progress:
                progress(1)
        db.session.flush()
        return version, count

    def check_opens(self) -> int:
        """Unwrap one live data key under each key-encryption-key version in the database:
        `KeyUnavailable` if the key provider cannot (a missing, wrong or new keyring or
        token, e.g. after a restore). Returns how many versions were tried."""
        versions = db.session.execute(
            select(DataKey.kek_version, func.min(DataKey.id))
            .where(DataKey.wrapped.is_not(None))
            .group_by(DataKey.kek_version)
        ).all()
        for kek_version, key_id in versions:
            row = db.session.get(DataKey, key_id)
            assert row is not None and row.wrapped is not None
            try:
                self.provider.unwrap(row.wrapped, _wrap_context(row.person_id, row.version))
            except Exception as error:
                raise KeyUnavailable(
                    f"the key store cannot open the data keys wrapped under key-encryption "
                    f"key version {kek_version}: it is not the key store they were made with"
                ) from error
        return len(versions)

    def count_live(self) -> int:
        return sum(1 for _ in self._live_keys())

    def _live_keys(self) -> Iterator[DataKey]:
        yield from db.session.execute(
            select(DataKey).where(DataKey.wrapped.is_not(None)).order_by(DataKey.id)
        ).scalars()

    def shred(self, person_id: str) -> int:
        """Crypto-shred: destroy every data key of this person. Their content can never open."""
        rows = list(
            db.session.execute(select(DataKey).where(DataKey.person_id == person_id)).scalars()
        )
        for row in rows:
            row.wrapped = None
            row.destroyed_at = db.utcnow()
        db.session.flush()
        self.forget(person_id)
        return len(rows)


data_keys = DataKeys()
