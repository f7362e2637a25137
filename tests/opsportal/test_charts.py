"""The shared SVG module: one sparkline for every page, colours as CSS classes, text escaped."""

from __future__ import annotations

import datetime as dt
import re

from opsportal import charts, formatting


def test_sparkline_from_the_smallest_value_with_threshold_and_last_dot() -> None:
    svg = charts.sparkline(
        [50.0, None, 60.0, 70.0], css="spark-alerting", threshold=65.0, from_zero=False, mark_last=True, label="a<b"
    )
    assert svg.count('class="spark-alerting"') == 3  # a lone dot, one line, the dot on the latest value
    assert (
        '<path class="threshold"' in svg
        and 'aria-label="a&lt;b: lowest 50, highest 70, latest 70 (3 of 4 with data); alert line 65"' in svg
    )
    assert not re.search(r"#[0-9a-fA-F]{3,6}\b", svg)  # colours come from the stylesheet
    # The latest value is the largest: its dot sits on the top padding.
    assert re.search(r'cy="2\.0" r="2\.2"', svg)


def test_sparkline_without_data_says_so() -> None:
    svg = charts.sparkline([None, None], label="Disk")
    assert "Disk: no data" in svg and '<line class="axis"' in svg


def test_cell_strip_shares_paths_and_titles_only_the_interesting_cells() -> None:
    svg = charts.cell_strip([("cell-up", None), ("cell-up", None), ("cell-down", "10:00 <80%>"), ("cell-none", None)])
    assert svg.count("<path") == 2 and svg.count("<rect") == 1 and "10:00 &lt;80%&gt;" in svg


def test_bars_scale_to_the_longest_and_write_values() -> None:
    svg = charts.bars(
        [charts.Bar("dump", 2.0, "bar-ok"), charts.Bar("verify", 1.0, "bar-failed", "verify <failed>")],
        fmt=formatting.seconds,
    )
    widths = [float(w) for w in re.findall(r'<rect class="[^"]+" x="90" y="\d+" width="([\d.]+)"', svg)]
    assert widths[0] == 2 * widths[1] and "2.00 s" in svg and "verify &lt;failed&gt;" in svg
    assert charts.bars([]) == ""


def test_lane_timeline_puts_newest_on_the_right() -> None:
    marks = [charts.Mark(0.1, "a", "new", ident="1"), charts.Mark(300, "b", "old", hollow=True, ident="2")]
    svg = charts.lane_timeline([("a", "A"), ("b", "B <x>")], marks, ident_attr="data-item")
    xs = {m[1]: float(m[0]) for m in re.findall(r'cx="([\d.]+)" cy="[\d.]+" r="[\d.]+" data-item="(\d)"', svg)}
    assert xs["1"] > xs["2"] and 'class="lane-b hollow"' in svg and "B &lt;x&gt;" in svg
    assert "nothing yet" in charts.lane_timeline([("a", "A")], [])


def test_time_chart_has_axis_ticks_and_a_threshold() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    line = charts.Series("line-p95", [(start + dt.timedelta(hours=h), 100.0 + h) for h in range(3)])
    svg = charts.time_chart([line], start=start, end=start + dt.timedelta(hours=3), threshold=110.0)
    assert '<polyline class="line-p95"' in svg and 'class="threshold"' in svg and ">00:00<" in svg


def test_formatters() -> None:
    assert formatting.human_bytes(1536) == "1.5 KiB" and formatting.human_bytes(1 << 20) == "1 MiB"
    assert formatting.duration(dt.timedelta(seconds=187)) == "3m 07s" and formatting.duration(90061) == "1d 1h"
    assert (formatting.age_hours(30), formatting.age_hours(0.2), formatting.age_hours(0.001)) == (
        "30 h old",
        "12 min old",
        "just now",
    )
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    at = [now - dt.timedelta(seconds=s) for s in (40, 185, 5 * 3600 + 59, 2 * 86400)]
    assert [formatting.ago(a, now) for a in at] == ["40 s ago", "3 min ago", "5 h ago", "2 d ago"]
    assert formatting.ago(at[1].isoformat(), now) == "3 min ago"  # status payloads carry ISO text
    assert formatting.ago("2026-12-03T11:59:00", now) == "1 min ago"  # no offset: UTC, like the payloads
    assert formatting.ago(now + dt.timedelta(seconds=5), now) == "0 s ago"
    assert formatting.ago(None) == formatting.ago("not a time") == formatting.NONE


def test_columns_and_ratio_bars_take_their_colour_from_a_class() -> None:
    svg = charts.columns([("W1", 1.0, "bar-ok", "all done"), ("W2", None, "bar-none", "open <now>")])
    assert svg.count("<rect") == 2 and 'class="bar-none"' in svg and "open &lt;now&gt;" in svg
    assert ">100%<" in svg and not re.search(r"#[0-9a-fA-F]{3,6}\b", svg)
    bar = charts.ratio_bar(0.25, css="bar-failed", width=100, label="hit rate")
    assert '<rect class="bar-failed" width="25.0"' in bar and 'aria-label="hit rate: 25%"' in bar
    assert 'width="160.0"' in charts.ratio_bar(3.0) and 'width="0.0"' in charts.ratio_bar(None)
