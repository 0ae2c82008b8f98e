"""Keys in a PKCS#11 token: a hardware security module, a cloud HSM, or SoftHSM2 in the tests.

The keys are generated in the token as sensitive, non-extractable token objects and never
leave it:
- key-encryption keys: AES-256, labelled `<PASSPORT_PKCS11_KEY_LABEL>-v<N>`. A data key is
  wrapped by AES-GCM encryption inside the token, with the wrapping context (person and
  data-key version) as associated data, so a wrapped key copied to another person does not
  unwrap. The token carries the KEK version like every sealed value, so `passport keys rotate`
  adds `-v<N+1>` and older versions still unwrap.
- the blind-index key: a generic secret labelled `<PASSPORT_PKCS11_KEY_LABEL>-index`; the
  token computes HMAC-SHA256 with it.

One logged-in session per process, used under a lock (PKCS#11 sessions must not run two
operations at once; gunicorn serves with threads). A lost session (token restarted, process
forked) is reopened once before a call fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    DeviceError,
    DeviceRemoved,
    KeyHandleInvalid,
    NoSuchToken,
    ObjectHandleInvalid,
    PinExpired,
    PinIncorrect,
    PinLocked,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    UserAlreadyLoggedIn,
    UserNotLoggedIn,
    UserPinNotInitialized,
)
from pkcs11.mechanisms import GCMParams

from ...config import Settings
from ..sealing import FORMAT_V1, NONCE_BYTES, SealError, token_key_version
from . import KeyStoreError

T = TypeVar("T")

_HEADER = struct.Struct(">BI")  # the sealed-value header: format, KEK version
# The session or the token went away: reopen once, then fail naming the token.
_LOST = (
    SessionHandleInvalid,
    SessionClosed,
    UserNotLoggedIn,
    DeviceRemoved,
    DeviceError,
    TokenNotPresent,
    KeyHandleInvalid,
    ObjectHandleInvalid,
)
# PINs this process has logged in with, by token: PKCS#11 login is per process and token,
# so a second provider on the same token cannot log in again, and must not skip the PIN check.
_logins: dict[tuple[str, str], str] = {}
_logins_lock = threading.Lock()


class KeyStoreUnavailable(KeyStoreError):
    """The token stopped answering while the service was running."""


def read_pin(settings: Settings) -> str:
    if settings.pkcs11_pin_file is not None:
        try:
            return settings.pkcs11_pin_file.read_text("utf-8").rstrip("\r\n")
        except OSError as error:
            raise KeyStoreError(
                f"PASSPORT_PKCS11_PIN_FILE {settings.pkcs11_pin_file} cannot be read: "
                f"{error.strerror}"
            ) from None
    return settings.pkcs11_pin or ""


class PKCS11Provider:
    """A `KeyProvider` whose keys live in a PKCS#11 token."""

    def __init__(
        self, module: str, token_label: str, pin: str, key_label: str, *, require_keys: bool = True
    ) -> None:
        self.module = module
        self.token_label = token_label
        self.key_label = key_label
        self._pin = pin
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._session: Any = None
        self._keks: dict[int, Any] = {}
        self._index: Any = None
        with self._lock:
            self._connect()
        if require_keys:
            self._require_keys()

    @classmethod
    def open(cls, settings: Settings) -> PKCS11Provider:
        return cls(*_settings(settings), require_keys=True)

    @classmethod
    def create_missing(cls, settings: Settings, *, data_exists: bool) -> list[str]:
        """init-db: generate the first KEK and the index key in the token if it has none."""
        provider = cls(*_settings(settings), require_keys=False)
        created: list[str] = []
        missing = [
            name
            for name, absent in (
                (f"key-encryption key {provider.key_label}-v<N>", not provider._keks),
                (f"blind-index key {provider.key_label}-index", provider._index is None),
            )
            if absent
        ]
        if missing and data_exists:
            raise KeyStoreError(
                f"the PKCS#11 token {provider.token_label!r} holds no {' and no '.join(missing)}, "
                f"but the database holds data sealed under them: check PASSPORT_PKCS11_TOKEN "
                f"and PASSPORT_PKCS11_KEY_LABEL, or restore the token's keys (new keys could "
                f"never open the data). Nothing was created"
            )
        if not provider._keks:
            provider._call(lambda session: provider._generate_kek(session, 1))
            created.append(f"key-encryption key {provider.key_label}-v1")
        if provider._index is None:
            provider._call(provider._generate_index_key)
            created.append(f"blind-index key {provider.key_label}-index")
        provider._require_keys()
        return [f"{name} in PKCS#11 token {provider.token_label!r}" for name in created]

    # -- the session -------------------------------------------------------------------------

    def _name(self) -> str:
        return f"the PKCS#11 token {self.token_label!r} (PASSPORT_PKCS11_TOKEN) in {self.module}"

    def _connect(self) -> Any:
        """Load the module, find the token, log in, and find the keys. Under `_lock`."""
        try:
            library = pkcs11.lib(self.module)
        except PKCS11Error as error:
            raise KeyStoreError(
                f"PASSPORT_PKCS11_MODULE {self.module} cannot be loaded as a PKCS#11 library: "
                f"{error}"
            ) from None
        if os.getpid() != self._pid:
            # A forked child shares nothing usable with its parent's token state.
            library.reinitialize()
            self._pid = os.getpid()
        try:
            token = library.get_token(token_label=self.token_label)
        except NoSuchToken:
            raise KeyStoreError(
                f"there is no PKCS#11 token {self.token_label!r} (PASSPORT_PKCS11_TOKEN) in "
                f"{self.module}"
            ) from None
        except PKCS11Error as error:
            raise KeyStoreError(f"{self._name()} cannot be reached: {_what(error)}") from None
        session = self._log_in(token)
        self._session = session
        self._load_keys(session)
        return session

    def _log_in(self, token: Any) -> Any:
        where = (self.module, str(token.serial))
        pin_hash = hashlib.sha256(self._pin.encode()).hexdigest()
        try:
            session = token.open(rw=True, user_pin=self._pin)
        except UserAlreadyLoggedIn:
            # This process logged in before (another app, or before a lost session): the
            # token skips the PIN check then, so check it against the PIN it was given.
            with _logins_lock:
                known = _logins.get(where)
            if known != pin_hash:
                raise KeyStoreError(
                    f"the PIN for {self._name()} was refused (PASSPORT_PKCS11_PIN or "
                    f"PASSPORT_PKCS11_PIN_FILE): this process is logged in with another"
                ) from None
            return token.open(rw=True)
        except (PinIncorrect, PinExpired, PinLocked, UserPinNotInitialized) as error:
            raise KeyStoreError(
                f"the PIN for {self._name()} was refused (PASSPORT_PKCS11_PIN or "
                f"PASSPORT_PKCS11_PIN_FILE): {_what(error)}"
            ) from None
        except PKCS11Error as error:
            raise KeyStoreError(f"cannot log in to {self._name()}: {_what(error)}") from None
        with _logins_lock:
            _logins[where] = pin_hash
        return session

    def _call(self, operation: Callable[[Any], T]) -> T:
        """Run `operation(session)` under the lock, reopening a lost session once."""
        with self._lock:
            lost: PKCS11Error | None = None
            for _attempt in (1, 2):
                try:
                    if self._session is None or os.getpid() != self._pid:
                        self._connect()
                    return operation(self._session)
                except _LOST as error:
                    self._session = None
                    lost = error
            assert lost is not None
            raise KeyStoreUnavailable(f"{self._name()} stopped answering: {_what(lost)}")

    # -- the keys ----------------------------------------------------------------------------

    def _load_keys(self, session: Any) -> None:
        pattern = re.compile(re.escape(self.key_label) + r"-v([1-9][0-9]*)")
        keks: dict[int, Any] = {}
        index = None
        for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
            label = str(key[Attribute.LABEL])
            match = pattern.fullmatch(label)
            if match is None and label != f"{self.key_label}-index":
                continue
            self._check_key(key, label, KeyType.AES if match else KeyType.GENERIC_SECRET)
            if match is None:
                if index is not None:
                    raise KeyStoreError(f"{self._name()} holds two keys labelled {label!r}")
                index = key
                continue
            version = int(match.group(1))
            if version in keks:
                raise KeyStoreError(f"{self._name()} holds two keys labelled {label!r}")
            keks[version] = key
        self._keks, self._index = keks, index

    def _check_key(self, key: Any, label: str, key_type: KeyType) -> None:
        if key[Attribute.KEY_TYPE] != key_type:
            raise KeyStoreError(f"the key {label!r} in {self._name()} is not a {key_type.name} key")
        if key[Attribute.EXTRACTABLE] or not key[Attribute.SENSITIVE]:
            raise KeyStoreError(
                f"the key {label!r} in {self._name()} can be read out of the token (it must be "
                f"sensitive and not extractable): Passport refuses to use it"
            )

    def _require_keys(self) -> None:
        if not self._keks:
            raise KeyStoreError(
                f"{self._name()} holds no key-encryption key labelled "
                f"{self.key_label}-v<N> (PASSPORT_PKCS11_KEY_LABEL). Restore the token's keys; "
                f"only a new installation creates them (`passport init-db` on an empty database)"
            )
        if self._index is None:
            raise KeyStoreError(
                f"{self._name()} holds no blind-index key labelled {self.key_label}-index. "
                f"Restore the token's keys; only a new installation creates them "
                f"(`passport init-db` on an empty database)"
            )

    def _generate_kek(self, session: Any, version: int) -> None:
        self._keks[version] = session.generate_key(
            KeyType.AES,
            256,
            label=f"{self.key_label}-v{version}",
            store=True,
            capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
            template=_NEVER_LEAVES,
        )

    def _generate_index_key(self, session: Any) -> None:
        self._index = session.generate_key(
            KeyType.GENERIC_SECRET,
            256,
            label=f"{self.key_label}-index",
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            template=_NEVER_LEAVES,
        )

    def _kek(self, session: Any, version: int) -> Any:
        key = self._keks.get(version)
        if key is None:  # another process may have rotated since this one loaded the keys
            self._load_keys(session)
            key = self._keks.get(version)
        if key is None:
            raise SealError(f"the token has no key-encryption key version {version}")
        return key

    # -- KeyProvider -------------------------------------------------------------------------

    def current_version(self) -> int:
        return self._call(self._current)

    def _current(self, session: Any) -> int:
        newest = max(self._keks)
        # A rotation by another process (`passport keys rotate`) shows as the next label.
        label = f"{self.key_label}-v{newest + 1}"
        if any(True for _ in session.get_objects({Attribute.LABEL: label})):
            self._load_keys(session)
            newest = max(self._keks)
        return newest

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        def operation(session: Any) -> bytes:
            version = self._current(session)
            nonce = os.urandom(NONCE_BYTES)
            sealed = self._kek(session, version).encrypt(
                data_key, mechanism=Mechanism.AES_GCM, mechanism_param=_gcm(nonce, context)
            )
            return _HEADER.pack(FORMAT_V1, version) + nonce + bytes(sealed)

        return self._call(operation)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        version = token_key_version(wrapped)
        nonce = wrapped[_HEADER.size : _HEADER.size + NONCE_BYTES]
        body = wrapped[_HEADER.size + NONCE_BYTES :]

        def operation(session: Any) -> bytes:
            key = self._kek(session, version)
            try:
                opened = key.decrypt(
                    body, mechanism=Mechanism.AES_GCM, mechanism_param=_gcm(nonce, context)
                )
            except _LOST:
                raise
            except PKCS11Error:
                raise SealError(
                    "wrapped key failed authentication (wrong key or wrong place)"
                ) from None
            return bytes(opened)

        return self._call(operation)

    def rotate(self) -> int:
        def operation(session: Any) -> int:
            self._load_keys(session)
            version = max(self._keks) + 1
            self._generate_kek(session, version)
            return version

        return self._call(operation)

    def index_hmac(self, message: bytes) -> bytes:
        return self._call(
            lambda session: bytes(self._index.sign(message, mechanism=Mechanism.SHA256_HMAC))
        )


_NEVER_LEAVES: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
}


def _gcm(nonce: bytes, context: bytes) -> GCMParams:
    return GCMParams(nonce, b"kek|" + context, 128)


def _settings(settings: Settings) -> tuple[str, str, str, str]:
    assert settings.pkcs11_module is not None and settings.pkcs11_token is not None
    return (
        str(settings.pkcs11_module),
        settings.pkcs11_token,
        read_pin(settings),
        settings.pkcs11_key_label,
    )


def _what(error: PKCS11Error) -> str:
    detail = str(error).strip()
    return f"{type(error).__name__}" + (f" ({detail})" if detail else "")


__all__ = ["KeyStoreUnavailable", "PKCS11Provider", "read_pin"]
