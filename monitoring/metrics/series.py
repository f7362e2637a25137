"""Downsampling of metric series for pictures: the worst sample per time bucket."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from monitoring.metrics.models import MetricSample


def series_points(
    series_ids: Iterable[int], since: dt.datetime, until: dt.datetime, buckets: int = 48, worst: str = "max"
) -> dict[int, list[float | None]]:
    """Per series, ``buckets`` values over [since, until): the worst sample of each bucket, None when empty."""
    ids = list(series_ids)
    if not ids:
        return {}
    step = (until - since) / buckets
    out: dict[int, list[float | None]] = defaultdict(lambda: [None] * buckets)
    rows = MetricSample.objects.filter(series_id__in=ids, at__gte=since, at__lt=until).values_list(
        "series_id", "at", "value"
    )
    pick = max if worst == "max" else min
    for sid, at, value in rows.iterator(chunk_size=5000):
        index = min(buckets - 1, int((at - since) / step))
        current = out[sid][index]
        out[sid][index] = value if current is None else pick(current, value)
    return {sid: out[sid] for sid in ids}
