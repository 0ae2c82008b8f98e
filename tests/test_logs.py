from __future__ import annotations

import logging

from passport.logs import DropQueryStrings


def test_request_lines_lose_their_query_strings() -> None:
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [24/Nov/2026] "%s" %s -',
        (
            "127.0.0.1",
            "GET /api/v1/people?name=Jessica%20Hartley&date_of_birth=1992-03-14 HTTP/1.1",
            "200",
        ),
        None,
    )
    assert DropQueryStrings().filter(record) is True
    message = record.getMessage()
    assert "Jessica" not in message and "1992-03-14" not in message
    assert "GET /api/v1/people?[query removed] HTTP/1.1" in message


def test_lines_without_a_query_are_untouched() -> None:
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"GET /api/v1/me HTTP/1.1" 200', None, None
    )
    DropQueryStrings().filter(record)
    assert record.getMessage() == '"GET /api/v1/me HTTP/1.1" 200'
