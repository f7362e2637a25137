"""The log-spaced latency histogram: bucket edges, merging, and percentiles exact to one bucket."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.services.histogram import NUM_BUCKETS, Histogram, bucket_bounds, bucket_index, exact_quantile


def test_every_value_falls_inside_its_bucket() -> None:
    for value in [0.0, 0.4, 1.0, 1.5, 2.0, 45.3, 500.0, 1999.9, 2000.0, 120_000.0]:
        lower, upper = bucket_bounds(bucket_index(value))
        assert lower <= value < upper


def test_buckets_are_log_spaced_and_about_nine_percent_wide() -> None:
    widths = [bucket_bounds(i)[1] / bucket_bounds(i)[0] for i in range(1, NUM_BUCKETS - 1)]
    assert all(math.isclose(w, 2 ** (1 / 8)) for w in widths)


def test_values_beyond_the_last_edge_land_in_the_open_last_bucket() -> None:
    assert bucket_index(10_000_000.0) == NUM_BUCKETS - 1
    assert math.isinf(bucket_bounds(NUM_BUCKETS - 1)[1])


def test_json_round_trip_and_merge_add_counts() -> None:
    a, b = Histogram.of([10, 10, 200]), Histogram.of([10, 5000])
    stored = a.to_json()
    assert all(isinstance(k, str) for k in stored)
    merged = Histogram.from_json(stored, a.max_ms).merge(b)
    assert merged.total == 5
    assert merged.counts[bucket_index(10)] == 3
    assert merged.max_ms == 5000
    assert Histogram().quantile(0.5) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.05, max_value=60_000, allow_nan=False), min_size=1, max_size=400),
    st.integers(min_value=1, max_value=12),
    st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]),
)
def test_percentile_of_merged_parts_is_in_the_bucket_of_the_exact_percentile(
    values: list[float], parts: int, q: float
) -> None:
    random.Random(len(values)).shuffle(values)
    merged = Histogram()
    for i in range(parts):
        merged.merge(Histogram.from_json(Histogram.of(values[i::parts]).to_json(), max(values[i::parts], default=None)))
    exact = exact_quantile(values, q)
    estimate = merged.quantile(q)
    assert estimate is not None and exact is not None
    assert bucket_index(estimate) == bucket_index(exact)
    lower, upper = bucket_bounds(bucket_index(exact))
    assert lower <= estimate < upper
