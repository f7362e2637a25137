"""Benchmark: evaluating 1,000 metric series once a minute must use under 5% of one core.

Creates N series (default 1,000) with fresh values, ~10% past their alert threshold, then runs
the minute's evaluation R times, moving ~5% of the values across the threshold each minute so
series go pending, fire (raising alerts) and resolve. CPU is measured for this process and for
its PostgreSQL backend (read from /proc), so database work counts too. Baseline in the same
run: merely loading the series rows. Run: .venv/bin/python bench/evaluate.py [--series 1000]

With ``--slo`` it measures the evaluation with the SLO burn-rate rules for 1,000 services over
30 days of rollups instead (bench/evaluate_slo.py; ``--reuse`` keeps the history of the last run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from _alerts_common import backend_cpu_seconds, setup_django


def main() -> None:
    import sys

    if "--slo" in sys.argv:
        import evaluate_slo

        sys.argv.remove("--slo")
        evaluate_slo.main()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    setup_django()

    from django.utils import timezone

    from monitoring.metrics.evaluation import SampleIn, evaluate, record_samples
    from monitoring.models import Alert, Metric, MetricSeries

    rng = random.Random(4)
    metrics = list(Metric.objects.filter(key__in=["memory_usage", "disk_space", "error_rate", "database_connections"]))
    Metric.objects.filter(pk__in=[m.pk for m in metrics]).update(for_seconds=120)
    metrics = list(Metric.objects.filter(pk__in=[m.pk for m in metrics]))
    start = timezone.now().replace(second=0, microsecond=0)
    series = [(metrics[i % len(metrics)], f"bench:{i}") for i in range(args.series)]
    breaching = {i for i in range(args.series) if rng.random() < 0.10}

    def values_at(minute: int) -> list[SampleIn]:
        at = start + dt.timedelta(minutes=minute)
        out = []
        for i, (metric, label) in enumerate(series):
            bad = i in breaching
            value = metric.alert_threshold * (1.2 if bad else 0.5) * (1 + rng.uniform(-0.05, 0.05))
            out.append(SampleIn(metric.pk, label, value, at))
        return out

    record_samples(values_at(0))

    def cpu() -> float:
        return time.process_time() + backend_cpu_seconds()

    # Baseline: loading the series rows, which any evaluation must do.
    base_cpu, base_wall = [], []
    for _ in range(5):
        c, w = cpu(), time.perf_counter()
        rows = list(MetricSeries.objects.select_related("service"))
        base_cpu.append(cpu() - c)
        base_wall.append(time.perf_counter() - w)
    assert len(rows) == args.series

    eval_cpu, eval_wall, raised, resolved = [], [], 0, 0
    for minute in range(args.rounds):
        if minute:
            flip = rng.sample(range(args.series), k=max(1, args.series // 20))
            breaching.symmetric_difference_update(flip)
            record_samples(values_at(minute))  # the samples arrive between evaluations: not measured
        now = start + dt.timedelta(minutes=minute, seconds=30)
        c, w = cpu(), time.perf_counter()
        report = evaluate(now=now, compute=False)
        eval_cpu.append(cpu() - c)
        eval_wall.append(time.perf_counter() - w)
        raised += report.raised
        resolved += report.resolved
        print(
            f"minute {minute}: {report.series} series, {report.raised} raised, {report.resolved} resolved, "
            f"states {dict(sorted(report.states.items()))}, cpu {eval_cpu[-1] * 1000:.0f} ms, wall {eval_wall[-1] * 1000:.0f} ms"
        )

    mean_cpu, worst_cpu = statistics.mean(eval_cpu), max(eval_cpu)
    baseline = statistics.median(base_cpu)
    print()
    print(f"series evaluated per minute:         {args.series}")
    print(
        f"alerts raised / resolved in the run:  {raised} / {resolved} (open now: {Alert.objects.exclude(state='resolved').count()})"
    )
    print(
        f"baseline, load the series rows:       cpu {baseline * 1000:.1f} ms, wall {statistics.median(base_wall) * 1000:.1f} ms"
    )
    print(
        f"evaluation, mean of {args.rounds}:               cpu {mean_cpu * 1000:.1f} ms (app + PostgreSQL), wall {statistics.mean(eval_wall) * 1000:.1f} ms"
    )
    print(f"evaluation, worst:                    cpu {worst_cpu * 1000:.1f} ms")
    print(f"ratio evaluation / baseline (cpu):    {mean_cpu / baseline:.1f}x")
    print(
        f"share of one core at 1 run/minute:    mean {100 * mean_cpu / 60:.2f}%, worst {100 * worst_cpu / 60:.2f}% (target < 5%)"
    )


if __name__ == "__main__":
    main()
