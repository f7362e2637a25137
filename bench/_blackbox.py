"""The baseline of the sustained benchmark: Debian's prometheus-blackbox-exporter and prometheus,
installed with apt-get when missing and started on loopback ports with config files in a temp dir.

One Prometheus job scrapes the exporter's /probe once per target (the multi-target pattern:
``__param_target`` relabelling, targets from a file), module ``http_json``: GET, 2 s timeout,
``fail_if_body_not_matches_regexp`` on the JSON body. The scrape timeout is 3 s because the
exporter takes min(module timeout, scrape timeout - 0.5 s) as the probe's timeout.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PACKAGES = {"prometheus": "prometheus", "prometheus-blackbox-exporter": "prometheus-blackbox-exporter"}

BLACKBOX_CONFIG = """\
modules:
  http_json:
    prober: http
    timeout: 2s
    http:
      method: GET
      valid_status_codes: []  # 2xx
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      fail_if_body_not_matches_regexp:
        - '"status":\\s*"healthy"'
"""

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: {interval}s
  scrape_timeout: 3s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_json]
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 5m
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{exporter_port}
"""


def ensure_installed() -> list[str]:
    """Install the two packages with apt-get if their programs are missing; return the versions."""
    missing = [pkg for cmd, pkg in PACKAGES.items() if shutil.which(cmd) is None]
    if missing:
        print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", *missing], check=True, stdout=subprocess.DEVNULL)
    versions = []
    for cmd in PACKAGES:
        out = subprocess.run([cmd, "--version"], capture_output=True, text=True)
        versions.append((out.stdout or out.stderr).splitlines()[0])
    return versions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URLs built here
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Baseline:
    """A running exporter and Prometheus scraping ``targets`` through it."""

    exporter: subprocess.Popen[bytes]
    prometheus: subprocess.Popen[bytes]
    prometheus_port: int

    @classmethod
    def start(cls, workdir: Path, targets: list[str], *, interval: int = 60, cpus: str | None = None) -> Baseline:
        workdir.mkdir(parents=True, exist_ok=True)
        exporter_port, prometheus_port = free_port(), free_port()
        (workdir / "blackbox.yml").write_text(BLACKBOX_CONFIG)
        targets_file = workdir / "targets.json"
        targets_file.write_text(json.dumps([{"targets": targets}]))
        (workdir / "prometheus.yml").write_text(
            PROMETHEUS_CONFIG.format(interval=interval, targets=targets_file, exporter_port=exporter_port)
        )
        storage = workdir / "tsdb"
        shutil.rmtree(storage, ignore_errors=True)
        pin = ["taskset", "-c", cpus] if cpus else []
        exporter = subprocess.Popen(
            [
                *pin,
                "prometheus-blackbox-exporter",
                f"--config.file={workdir / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{exporter_port}",
                "--log.level=warn",
            ],
            stdout=(workdir / "blackbox.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        prometheus = subprocess.Popen(
            [
                *pin,
                "prometheus",
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--log.level=warn",
            ],
            stdout=(workdir / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        _wait_http(f"http://127.0.0.1:{exporter_port}/metrics")
        _wait_http(f"http://127.0.0.1:{prometheus_port}/-/ready")
        return cls(exporter, prometheus, prometheus_port)

    def query(self, expr: str) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{self.prometheus_port}/api/v1/query?query={urllib.parse.quote(expr)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)["data"]["result"]

    def stop(self) -> None:
        for proc in (self.prometheus, self.exporter):
            proc.terminate()
        for proc in (self.prometheus, self.exporter):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
