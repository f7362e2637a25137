"""Real HTTP(S) servers on loopback that misbehave on purpose: slow, hanging, trickling, huge,
redirect loops, bad JSON, and TLS with self-signed (valid or expired) certificates."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = b"x" * 65536
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class TargetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: TargetServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode())

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.requests.append((self.command, parts.path, dict(self.headers)))
        path = parts.path
        try:
            if path == "/ok" or path == "/":
                self._send(200, b"<html><body>hello</body></html>", "text/html")
            elif path == "/health":
                self._json({"status": "healthy", "checks": {"db": {"ok": True}}, "agents": [{"status": "idle"}]})
            elif path == "/unhealthy":
                self._json({"status": "unhealthy"})
            elif path == "/bad-json":
                self._send(200, b'{"status": "healthy",,', "application/json")
            elif path.startswith("/status/"):
                self._json({"error": "boom"}, int(path.rsplit("/", 1)[1]))
            elif path == "/slow":
                time.sleep(float(query.get("s", "0.3")))
                self._json({"status": "healthy"})
            elif path == "/hang":
                self.server.stopping.wait(60)
            elif path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(1000):
                    if self.server.stopping.wait(0.2):
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
            elif path == "/huge":
                self._huge(int(query.get("mb", "100")), with_length=query.get("length") == "1")
            elif path == "/loop":
                self._send(302, b"", "text/plain", Location="/loop")
            elif path == "/loop-a":
                self._send(302, b"", "text/plain", Location="/loop-b")
            elif path == "/loop-b":
                self._send(301, b"", "text/plain", Location="/loop-a")
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                target = "/health" if n <= 0 else f"/chain/{n - 1}"
                self._send(302, b"", "text/plain", Location=target)
            elif path == "/redirect-to":
                self._send(302, b"", "text/plain", Location=query["url"])
            elif path == "/aws-credentials":  # what an instance metadata endpoint answers (AWS's example key)
                self._json({"Code": "Success", "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": AWS_EXAMPLE_SECRET})
            elif path == "/json":
                self._send(200, query["body"].encode(), "application/json")
            elif path == "/redirect-ftp":
                self._send(302, b"", "text/plain", Location="ftp://127.0.0.1/x")
            elif path == "/echo-headers":
                self._json({"headers": dict(self.headers)})
            elif path == "/need-token":
                ok = self.headers.get("Authorization") == "Bearer s3cret-value"
                self._json({"status": "healthy" if ok else "denied"}, 200 if ok else 401)
            else:
                self._json({"error": "not found"}, 404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def _huge(self, megabytes: int, with_length: bool) -> None:
        total = megabytes * 1024 * 1024
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if with_length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        while sent < total and not self.server.stopping.is_set():
            self.wfile.write(CHUNK)
            sent += len(CHUNK)
            self.server.bytes_sent += len(CHUNK)


class TargetServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # the default of 5 drops connections when a sweep opens many at once

    def __init__(self, handler: type[BaseHTTPRequestHandler] = TargetHandler) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bytes_sent = 0
        self.scheme = "http"

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def serve(
    tls: ssl.SSLContext | None = None, handler: type[BaseHTTPRequestHandler] = TargetHandler
) -> Iterator[TargetServer]:
    server = TargetServer(handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        server.scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def self_signed_context(
    tmp: Path, *, not_after: dt.datetime | None = None, not_before: dt.datetime | None = None
) -> tuple[ssl.SSLContext, dt.datetime]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (cryptography)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_before = not_before or now - dt.timedelta(days=1)
    not_after = not_after or now + dt.timedelta(days=30)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / f"cert-{id(cert)}.pem", tmp / f"key-{id(cert)}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, not_after


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
