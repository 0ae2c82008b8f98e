"""A real PKCS#11 token for the tests: SoftHSM2 (Debian's `softhsm2`, installed by
`scripts/install --with-browser`), in a temporary SOFTHSM2_CONF folder of the test run's own,
so nothing global is touched.

SoftHSM2 lists its tokens when the library is initialised, so after making a token the
library is initialised again (sessions of earlier tests' providers end; a provider reopens
its session when it finds it gone). Under CI (CI=true or PASSPORT_REQUIRE_POSTGRES=1, as
scripts/test runs) a missing SoftHSM2 fails the PKCS#11 tests; elsewhere they are skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("PASSPORT_REQUIRE_POSTGRES") == "1"


def missing() -> str | None:
    """Why SoftHSM2 cannot be used here, or None."""
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util is not installed (Debian package softhsm2)"
    if not Path(MODULE).is_file():
        return f"{MODULE} is missing (Debian package softhsm2)"
    return None


def skip_or_fail(reason: str) -> None:
    message = f"SoftHSM2 is needed for the PKCS#11 tests: {reason}; scripts/install installs it"
    if required():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Token:
    label: str
    pin: str
    so_pin: str

    def env(self, pin_file: Path | None = None, key_label: str = "passport-kek") -> dict[str, str]:
        """The PASSPORT_ settings that point at this token."""
        env = {
            "PASSPORT_KEY_PROVIDER": "pkcs11",
            "PASSPORT_PKCS11_MODULE": MODULE,
            "PASSPORT_PKCS11_TOKEN": self.label,
            "PASSPORT_PKCS11_KEY_LABEL": key_label,
        }
        if pin_file is None:
            env["PASSPORT_PKCS11_PIN"] = self.pin
        else:
            pin_file.write_text(self.pin + "\n")
            pin_file.chmod(0o600)
            env["PASSPORT_PKCS11_PIN_FILE"] = str(pin_file)
        return env


class SoftHSM:
    def __init__(self, folder: Path) -> None:
        tokens = folder / "tokens"
        tokens.mkdir(parents=True)
        conf = folder / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        self.conf = conf
        os.environ["SOFTHSM2_CONF"] = str(conf)

    def token(self, name: str) -> Token:
        """A new, empty token with its own PIN."""
        token = Token(
            label=f"{name}-{secrets.token_hex(3)}"[:32],
            pin=secrets.token_hex(8),
            so_pin=secrets.token_hex(8),
        )
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                token.label,
                "--pin",
                token.pin,
                "--so-pin",
                token.so_pin,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
        )
        self.rescan()
        return token

    def rescan(self) -> None:
        import pkcs11

        pkcs11.lib(MODULE).reinitialize()
