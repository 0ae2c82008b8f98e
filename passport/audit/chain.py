"""The hash chain of AUDIT_FORMAT.md: SHA-256 over the previous hash and RFC 8785 JSON.

`canonical` is RFC 8785 (JCS). The `rfc8785` package is pure Python and is the cost of
integrating and verifying, so values that JCS and the standard library's C encoder write
identically — no floats, integers within ±(2**53 - 1), ASCII object keys (whose UTF-16 order
is their code-point order) — take the C encoder; anything else goes to `rfc8785`. The test
suite checks the two agree (tests/test_audit_chain.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64

_INT_LIMIT = 2**53 - 1
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode
# The same encoder without the wrappers of `JSONEncoder.encode` (and without its check for
# cycles, which parsed JSON cannot have); they cost more than encoding a small value.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    _c_encode = _c_make_encoder(
        None, None, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def _encode_parsed(value: Any) -> str:
        return "".join(_c_encode(value, 0))

else:  # pragma: no cover - CPython has the C encoder

    def _encode_parsed(value: Any) -> str:
        return _encode(value)


def _plain(value: Any) -> bool:
    """True if the standard encoder writes `value` exactly as JCS does."""
    if value is None or value is True or value is False or isinstance(value, str):
        return True
    if type(value) is int:
        return -_INT_LIMIT <= value <= _INT_LIMIT
    if type(value) is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON, UTF-8."""
    if _plain(value):
        try:
            return _encode(value).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 gives the proper error
    return rfc8785.dumps(value)


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(body)).hexdigest()


class PlainReader:
    """Parses JSON text and tells whether the result may take the fast encoder without the
    walk of `_plain`: no float and no out-of-range integer was parsed (the parser reports
    both), and the text is ASCII without escapes (so every key is ASCII). One per thread."""

    def __init__(self) -> None:
        self._odd = False
        decoder = json.JSONDecoder(parse_float=self._float, parse_int=self._int)
        self._decode = decoder.decode
        self._scan: Callable[[str, int], tuple[Any, int]] = decoder.scan_once  # type: ignore[attr-defined]

    def _float(self, text: str) -> float:
        self._odd = True
        return float(text)

    def _int(self, text: str) -> int:
        value = int(text)
        if not -_INT_LIMIT <= value <= _INT_LIMIT:
            self._odd = True
        return value

    def loads(self, text: str) -> tuple[Any, bool]:
        self._odd = False
        try:
            # `decode` without its wrappers, for text with no whitespace around the value
            value, end = self._scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):  # whitespace around it, or not JSON: `decode` decides
            self._odd = False
            value = self._decode(text)
        return value, not self._odd and text.isascii() and "\\u" not in text


def canonical_plain(value: Any) -> bytes:
    """`canonical` for a value a PlainReader vouched for (scalars added to it must be str,
    in-range int or None)."""
    try:
        return _encode_parsed(value).encode()
    except UnicodeEncodeError:
        return rfc8785.dumps(value)
