"""Refuse a JSON body that would crash the parser behind it, before anything reads it.

webargs parses bodies with `json.loads` and turns only `JSONDecodeError` into a 400. Three
valid-looking bodies escape that and used to give a 500: nesting deep enough to exhaust the
recursion limit, an integer past Python's 4,300-digit conversion limit, and a lone UTF-16
surrogate (`"\\ud800"`), which parses but can never be encoded to be sealed or logged. A NUL
character (`"\\u0000"`), which PostgreSQL cannot store in text, is refused too. Each is
a 400 `malformed-request` here, whoever sends it (a token is not needed to be refused).
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ..errors import PassportError

# Far deeper than any payload of the contract (a risk assessment is four levels).
MAX_DEPTH = 32


def refuse_unsafe_json() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return  # ordinary malformed JSON: webargs answers it with its own 400
    except (RecursionError, ValueError):
        raise PassportError(
            "the request body is not valid JSON: it is nested too deeply or holds a number "
            "too long to read"
        ) from None
    problem = _problem_in(data)
    if problem:
        raise PassportError(problem)


def _problem_in(data: Any) -> str | None:
    """Walk without recursion: the document may be as deep as the parser allowed."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"the request body is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            for key, inner in value.items():
                stack.append((key, depth))
                stack.append((inner, depth + 1))
        elif isinstance(value, list):
            stack.extend((inner, depth + 1) for inner in value)
        elif isinstance(value, str) and not _encodable(value):
            return "the request body holds text that is not valid Unicode (a lone surrogate)"
        elif isinstance(value, str) and "\x00" in value:
            # PostgreSQL cannot store a NUL in text (a username, a name kept plainly).
            return "the request body holds a NUL character, which no field accepts"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
