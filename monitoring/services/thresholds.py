"""A metric's target and alert threshold as pages read them: from the editable Metric row.

Services sits below metrics and cannot import it, so the metrics part registers the reader at
start-up (``register_reader``); pages call ``read(key)`` once per request and colour every cell,
bar and badge from the answer, so what a page shows always agrees with what alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

OK, MISSING, ALERTING = "ok", "missing", "alerting"


@dataclass(frozen=True)
class Thresholds:
    """``target`` and ``alert`` of one metric; ``higher_is_worse`` says which side is bad."""

    target: float
    alert: float
    higher_is_worse: bool

    def grade(self, value: float) -> str:
        """ok (target met), missing (target missed, not alerting) or alerting (past the alert line)."""
        if self.higher_is_worse:
            if value > self.alert:
                return ALERTING
            return OK if value < self.target else MISSING
        if value < self.alert:
            return ALERTING
        return OK if value >= self.target else MISSING


Reader = Callable[[str], Thresholds | None]
_reader: list[Reader] = []


def register_reader(fn: Reader) -> None:
    """Set the function that reads a metric's thresholds by key (the metrics part does, once)."""
    _reader[:] = [fn]


def read(key: str) -> Thresholds | None:
    """The thresholds of metric ``key`` now, or None when there is no such metric (or no reader)."""
    return _reader[0](key) if _reader else None
