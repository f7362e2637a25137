"""Counting probes per target against the interval: missed and doubled probes from arrival times.

Each target's probes in a window are compared with the interval, gap by gap: a gap shorter than
half an interval is a doubled probe, a gap of 1.5 intervals or more holds missed ones
(round(gap / interval) - 1). The probe just before the window (up to 1.5 intervals earlier)
starts the first gap, so a probe missed right at the window's start is seen; the end of the
window closes the last one. Counting gaps instead of wall-clock minutes keeps a target whose
phase sits on a minute boundary from looking doubled in one minute and missed in the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise


@dataclass
class Tally:
    """Missed and doubled probes of a set of targets in one window."""

    targets: int = 0
    probes: int = 0
    expected: float = 0.0
    missed: int = 0
    doubled: int = 0
    targets_missed: int = 0
    targets_doubled: int = 0
    off_schedule: int = 0  # gaps more than ``jitter`` seconds from the interval (neither missed nor doubled)
    gap_min: float = float("inf")
    gap_max: float = 0.0
    per_minute: list[int] = field(default_factory=list)

    def line(self) -> str:
        gaps = f"gaps {self.gap_min:.1f}..{self.gap_max:.1f} s" if self.gap_max else "no gaps"
        return (
            f"{self.probes} probes of {self.targets} targets (expected {self.expected:.0f}): "
            f"missed {self.missed} ({self.targets_missed} targets), doubled {self.doubled} "
            f"({self.targets_doubled} targets), off schedule {self.off_schedule}, {gaps}"
        )


def _slots(seconds: float, interval: float) -> int:
    """Missed probes in an empty stretch of ``seconds`` (1.5 intervals or more hold at least one)."""
    return max(0, int(seconds / interval + 0.5) - 1)


def tally(
    times: dict[int, list[float]],
    targets: Iterable[int],
    start: float,
    end: float,
    interval: float,
    *,
    lookback: bool = True,
    jitter: float = 10.0,
) -> Tally:
    """Missed and doubled probes of ``targets`` in [start, end); ``times`` holds each target's probe times."""
    result = Tally(expected=0.0)
    minutes = max(1, int((end - start) // 60 + (1 if (end - start) % 60 else 0)))
    result.per_minute = [0] * minutes
    for target in targets:
        result.targets += 1
        result.expected += (end - start) / interval
        seen = sorted(times.get(target, ()))
        inside = [t for t in seen if start <= t < end]
        before = [t for t in seen if start - 1.5 * interval <= t < start] if lookback else []
        for t in inside:
            result.per_minute[min(minutes - 1, int((t - start) // 60))] += 1
        result.probes += len(inside)
        sequence = before[-1:] + inside
        missed = doubled = 0
        if not sequence:
            missed += int((end - start) / interval + 0.5)
        else:
            if not before:
                missed += _slots(sequence[0] - start, interval)
            for earlier, later in pairwise(sequence):
                gap = later - earlier
                result.gap_min = min(result.gap_min, gap)
                result.gap_max = max(result.gap_max, gap)
                if gap < 0.5 * interval:
                    doubled += 1
                elif gap >= 1.5 * interval:
                    missed += _slots(gap, interval)
                elif abs(gap - interval) > jitter:
                    result.off_schedule += 1
            missed += _slots(end - sequence[-1], interval)
        result.missed += missed
        result.doubled += doubled
        result.targets_missed += bool(missed)
        result.targets_doubled += bool(doubled)
    return result
