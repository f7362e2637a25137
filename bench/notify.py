"""Benchmark: fanning 100 alerts out to 5 channels must finish within a second of the receivers' own latency.

Starts 5 local HTTP receivers (threaded, loopback, each answering after --latency seconds) behind
Apprise json:// channels, raises 100 alerts, and times the notifier from the first pass until
every receiver has every alert. Baseline in the same run: one direct POST to a receiver (its own
latency). The notifier groups what is due for one channel into messages of up to
NOTIFY_GROUP_MAX alerts and sends messages in parallel; --group 1 shows the ungrouped cost.
Run: .venv/bin/python bench/notify.py [--alerts 100] [--channels 5] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _alerts_common import setup_django

REF = re.compile(r"ref: alert=(\d+) event=(\d+)")


class Receiver:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.refs: set[int] = set()
        self.messages = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(owner.latency)
                message = json.loads(body or b"{}").get("message", "")
                with owner.lock:
                    owner.messages += 1
                    owner.refs.update(int(a) for a, _e in REF.findall(message))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]


def run(alerts: int, channels: int, latency: float, group: int) -> dict[str, float]:
    from django.conf import settings

    from monitoring.alerts import apprise_io, notify
    from monitoring.alerts.public import raise_alert
    from monitoring.models import Alert, NotificationChannel

    settings.NOTIFY_GROUP_MAX = group
    settings.NOTIFY_CONCURRENCY = 16
    Alert.objects.all().delete()
    NotificationChannel.objects.all().delete()
    receivers = [Receiver(latency) for _ in range(channels)]
    for n, r in enumerate(receivers):
        url = f"json://127.0.0.1:{r.port}/hook"
        NotificationChannel.objects.create(name=f"bench-{n}", url=url, url_masked=apprise_io.mask_url(url))
    ids = {raise_alert(f"bench:{n}", summary=f"Bench alert {n}", source="bench").pk for n in range(alerts)}

    import httpx

    t = time.perf_counter()
    httpx.post(f"http://127.0.0.1:{receivers[0].port}/baseline", json={"message": ""}).raise_for_status()
    baseline = time.perf_counter() - t

    t0 = time.perf_counter()
    passes = 0
    while any(not ids <= r.refs for r in receivers):
        notify.run_once()
        passes += 1
        if time.perf_counter() - t0 > 120:
            raise SystemExit("not all notifications arrived within 120 s")
    total = time.perf_counter() - t0
    for r in receivers:
        r.server.shutdown()
    return {
        "baseline": baseline,
        "total": total,
        "messages": sum(r.messages for r in receivers) - 1,
        "passes": passes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each receiver takes to answer")
    parser.add_argument("--group", type=int, default=50, help="NOTIFY_GROUP_MAX")
    args = parser.parse_args()
    setup_django()
    print(f"{args.alerts} alerts x {args.channels} channels, receivers answer after {args.latency * 1000:.0f} ms")
    for group in (args.group, 1):
        r = run(args.alerts, args.channels, args.latency, group)
        over = r["total"] - r["baseline"]
        print(
            f"group {group:>3}: {args.alerts * args.channels} deliveries in {int(r['messages'])} messages, "
            f"{int(r['passes'])} notifier pass(es): {r['total'] * 1000:.0f} ms; receiver latency (baseline) "
            f"{r['baseline'] * 1000:.0f} ms; over the baseline {over * 1000:.0f} ms; ratio {r['total'] / r['baseline']:.1f}x"
            + ("  (target: over the baseline < 1000 ms)" if group == args.group else "  (ungrouped, for comparison)")
        )


if __name__ == "__main__":
    main()
