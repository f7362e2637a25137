"""A mergeable latency histogram with fixed log-spaced buckets (about 9% wide, 1 ms to 131 s).

Every rollup row stores one of these. Because the bucket edges are the same everywhere,
histograms of any rows can be added together, and a percentile read from the sum lies in
the same bucket as the exact percentile of the raw latencies (nearest-rank definition).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Bucket 0 holds [0, 1 ms); bucket i >= 1 holds [2**((i-1)/8), 2**(i/8)) ms; the last bucket
# also takes everything above its lower edge.
STEPS_PER_DOUBLING = 8
MAX_EXPONENT = 17  # 2**17 ms = 131 s, beyond any probe timeout
NUM_BUCKETS = 1 + STEPS_PER_DOUBLING * MAX_EXPONENT


def bucket_index(ms: float) -> int:
    """The bucket a latency in milliseconds falls into."""
    if ms < 1.0 or math.isnan(ms):
        return 0
    index = math.floor(math.log2(ms) * STEPS_PER_DOUBLING) + 1
    return min(index, NUM_BUCKETS - 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    """(lower, upper) edge of a bucket in milliseconds; the last bucket is open-ended."""
    if index <= 0:
        return 0.0, 1.0
    lower = 2.0 ** ((index - 1) / STEPS_PER_DOUBLING)
    upper = math.inf if index >= NUM_BUCKETS - 1 else 2.0 ** (index / STEPS_PER_DOUBLING)
    return lower, upper


def bucket_value(index: int) -> float:
    """A representative latency for a bucket: the geometric middle of its edges."""
    lower, upper = bucket_bounds(index)
    if index <= 0:
        return 0.5
    if math.isinf(upper):
        return lower
    return math.sqrt(lower * upper)


@dataclass
class Histogram:
    """Counts per bucket index (sparse), plus the largest value seen to clamp the top bucket."""

    counts: dict[int, int] = field(default_factory=dict)
    max_ms: float | None = None

    @classmethod
    def of(cls, values: Iterable[float]) -> Histogram:
        hist = cls()
        for value in values:
            hist.add(value)
        return hist

    @classmethod
    def from_json(cls, data: Mapping[str, int] | None, max_ms: float | None = None) -> Histogram:
        """Read the sparse form stored in the database: {"bucket index": count}."""
        return cls({int(k): int(v) for k, v in (data or {}).items()}, max_ms)

    def to_json(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(self.counts.items()) if v}

    def add(self, ms: float, count: int = 1) -> None:
        index = bucket_index(ms)
        self.counts[index] = self.counts.get(index, 0) + count
        if self.max_ms is None or ms > self.max_ms:
            self.max_ms = ms

    def merge(self, other: Histogram | Mapping[str, int] | None) -> Histogram:
        """Add another histogram (or its stored JSON form) into this one; returns self."""
        if other is None:
            return self
        counts = self.counts
        if isinstance(other, Histogram):
            if other.max_ms is not None and (self.max_ms is None or other.max_ms > self.max_ms):
                self.max_ms = other.max_ms
            for index, count in other.counts.items():
                counts[index] = counts.get(index, 0) + count
            return self
        for key, count in other.items():
            index = int(key)
            counts[index] = counts.get(index, 0) + int(count)
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def quantile_bucket(self, q: float) -> int | None:
        """The bucket holding the nearest-rank q-quantile (0 < q <= 1), or None when empty."""
        total = self.total
        if total == 0:
            return None
        rank = max(1, math.ceil(q * total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return index
        return max(self.counts)

    def quantile(self, q: float) -> float | None:
        """The q-quantile in milliseconds, exact to one bucket (never above the largest value seen)."""
        index = self.quantile_bucket(q)
        if index is None:
            return None
        value = bucket_value(index)
        if self.max_ms is not None and bucket_index(self.max_ms) == index:
            value = min(value, self.max_ms)
        return value


def exact_quantile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank quantile of raw values: what the histogram approximates (used by tests and bench)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]
