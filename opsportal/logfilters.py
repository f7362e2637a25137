"""Logging filters: a refused request (403, 404, 405) is one line in the log, never a traceback."""

from __future__ import annotations

import logging


class OneLineRefusals(logging.Filter):
    """Drops the traceback Django attaches to a PermissionDenied (or any 4xx) it logs.

    A crawl of the console as a Viewer used to print hundreds of tracebacks, one per 403; the
    path, status and user are what an operator needs, and the traceback shows nothing wrong.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
