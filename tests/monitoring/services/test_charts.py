"""Server-rendered SVG: colours by the runbook's uptime thresholds, gaps, escaping."""

from __future__ import annotations

import datetime as dt

from monitoring.models import Metric
from monitoring.services.charts import (
    Cell,
    LatencyPoint,
    latency_chart,
    ms,
    percent,
    sparkline,
    uptime_bar,
    uptime_strip,
    uptime_thresholds,
)
from monitoring.services.thresholds import Thresholds
from tests.monitoring.metrics.factories import ensure_runbook_metrics


def test_uptime_cells_follow_the_runbook_thresholds() -> None:
    ensure_runbook_metrics()
    limits = uptime_thresholds()
    assert limits == Thresholds(target=99.9, alert=99.0, higher_is_worse=False)  # the runbook's uptime row
    assert Cell("a", 1000, 0, limits).css == "cell-up"  # target 99.9% met
    assert Cell("b", 1000, 5, limits).css == "cell-degraded"  # 99.5%: below target, not yet alerting
    assert Cell("c", 100, 2, limits).css == "cell-down"  # 98%: below the 99% alert line
    assert Cell("d", limits=limits).css == "cell-none"


def test_an_edited_uptime_threshold_recolours_cells_and_strips() -> None:
    """Colours read the Metric row: once an admin moves the alert line, bars agree with what alerts."""
    ensure_runbook_metrics()
    Metric.objects.filter(key="uptime").update(alert_threshold=99.6)
    limits = uptime_thresholds()
    assert Cell("b", 1000, 5, limits).css == "cell-down"  # 99.5% is now past the alert line
    strip = uptime_strip([(1000, 5), (1000, 0)], ["09:00", "10:00"], limits=limits)
    assert 'class="cell-down"' in strip and "cell-degraded" not in strip
    Metric.objects.filter(key="uptime").delete()
    assert uptime_thresholds() is None
    assert Cell("b", 1000, 5, None).css == "cell-degraded" and Cell("a", 1000, 0, None).css == "cell-up"


def test_uptime_bar_has_one_cell_per_slot_and_escapes_labels() -> None:
    svg = uptime_bar([Cell("<b>09:00</b>", 60, 0), Cell("10:00", 0, 0)], title='24 h "uptime"')
    assert svg.count("<rect") == 2
    assert "&lt;b&gt;09:00&lt;/b&gt;: 100% of 60 checks" in svg and "10:00: no data" in svg
    assert 'aria-label="24 h &quot;uptime&quot;: 2 slots: 1 met the target, 1 no data"' in svg


def test_sparkline_breaks_at_gaps_and_marks_lone_points() -> None:
    svg = sparkline([10.0, 20.0, None, 30.0, None, None])
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert "p95 per hour, max 30 ms: lowest 10 ms, highest 30 ms, latest 30 ms (3 of 6 with data)" in svg
    assert "<line" in sparkline([None, None])


def test_latency_chart_draws_p50_p95_and_threshold() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    points = [LatencyPoint(start + dt.timedelta(hours=h), 40.0 + h, 90.0 + h) for h in range(24)]
    svg = latency_chart(points, start=start, end=start + dt.timedelta(hours=24), threshold_ms=100.0)
    assert 'class="line-p50"' in svg and 'class="line-p95"' in svg and 'class="threshold"' in svg
    assert ">00:00<" in svg and "no data" not in svg
    empty = latency_chart([], start=start, end=start + dt.timedelta(days=30))
    assert "no data in this window" in empty and ">Jan 01<" in empty


def test_number_formats() -> None:
    assert (percent(0.99912), percent(1.0), percent(None)) == ("99.91%", "100%", "\u2013")
    assert (ms(12.4), ms(2500.0), ms(45000.0)) == ("12 ms", "2.5 s", "45 s")
