"""Logging that cannot leak record content.

Request logs (the development server's and gunicorn's) print the request line, and a
caseload search carries a name and date of birth in its query string (API.md fixes
`GET /api/v1/people?name=&date_of_birth=`). Every query string is cut from those lines.
Application code logs exception *types* only, never messages (which can quote values).
"""

from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"(\s/[^\s?\"]*)\?[^\s\"]*")

REQUEST_LOGGERS = ("werkzeug", "gunicorn.access")


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY.sub(r"\1?[query removed]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure(level: int = logging.WARNING) -> None:
    logging.basicConfig(level=level)
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropQueryStrings) for f in logger.filters):
            logger.addFilter(DropQueryStrings())
