"""A real HTTP receiver on loopback that records the notifications channels send it (alerts and metrics tests)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REF = re.compile(r"ref: alert=(\d+) event=(\d+)")


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every JSON notification it is sent.

    ``responses`` is a queue of (status, headers) to answer with before answering 200;
    ``latency`` delays every answer; ``stop()``/``start()`` take it down and bring it back
    on the same port.
    """

    port: int = 0
    latency: float = 0.0
    responses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if owner.latency:
                    time.sleep(owner.latency)
                with owner.lock:
                    status, headers = owner.responses.pop(0) if owner.responses else (200, {})
                    if status < 300:
                        body = json.loads(raw or b"{}")
                        owner.received.append({"path": self.path, "at": time.monotonic(), **body})
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def refs(self, path: str | None = None) -> list[tuple[int, int]]:
        """(alert id, event id) of every notification item received (at ``path``), in order."""
        found = []
        with self.lock:
            for message in self.received:
                if path is None or message["path"].rstrip("/").endswith(path):
                    found += [(int(a), int(e)) for a, e in REF.findall(message.get("message", ""))]
        return found

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.refs()) < count:
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
