"""Key providers: where key-encryption keys (KEKs) and the blind-index key live.

`KeyProvider` is the interface. `LocalKeyring` (a JSON file, mode 0600) is the embedded
default; `PKCS11Provider` keeps the keys in a PKCS#11 token (an HSM; SoftHSM2 in the tests),
which never releases them. Another key management service implements the same five methods.
Wrapped data keys carry the KEK version that wrapped them, so rotation never needs downtime:
old versions stay available for unwrapping while every data key is re-wrapped.

Fail safe: `open_key_provider` only opens what exists and refuses, naming the missing or broken
part, otherwise. Only `create_key_material` (called by `passport init-db`) makes keys.
"""

from __future__ import annotations

from typing import Protocol

from ...config import ConfigError, Settings


class KeyStoreError(ConfigError):
    """The key store cannot be used (missing, corrupt, unreachable, wrong PIN): the service
    refuses to start. The message names the part and never holds key material."""


class KeyProvider(Protocol):
    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """Encrypt `data_key` under the current KEK, bound to `context` (the same key wrapped
        for another context does not unwrap)."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key, if `wrapped` was made for `context` by any KEK version; else
        `SealError`."""
        ...

    def rotate(self) -> int:
        """Make a new current KEK; return its version. Older versions still unwrap."""
        ...

    def current_version(self) -> int: ...

    def index_hmac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of `message` under the blind-index key, computed where the key lives."""
        ...


def open_key_provider(settings: Settings) -> KeyProvider:
    """The configured provider, opened and checked; `KeyStoreError` if it cannot be used.
    Creates nothing."""
    if settings.key_provider == "pkcs11":
        from .pkcs11 import PKCS11Provider

        return PKCS11Provider.open(settings)
    from .local import LocalKeyring

    return LocalKeyring(settings.keyring_path)


def create_key_material(settings: Settings, *, data_exists: bool) -> list[str]:
    """`passport init-db`: create the first KEK and the blind-index key where there are none.
    Returns what was created (empty when everything was there). Refuses when the database
    already holds data sealed under keys that are now missing (`data_exists`): new keys could
    never open it, so the old ones must be restored instead."""
    if settings.key_provider == "pkcs11":
        from .pkcs11 import PKCS11Provider

        return PKCS11Provider.create_missing(settings, data_exists=data_exists)
    from .local import LocalKeyring

    return LocalKeyring.create_missing(settings.keyring_path, data_exists=data_exists)


__all__ = ["KeyProvider", "KeyStoreError", "create_key_material", "open_key_provider"]
