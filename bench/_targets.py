"""The benchmarks' probe targets: a local asyncio HTTP server in its own process that answers
``{"status": "healthy"}`` after 50 ms, hangs on paths containing ``/hang/``, and counts requests.

    server = TargetServer.start()          # child process; server.port
    server.requests()                      # [(unix time, path), ...] received so far
    server.stop()

Every request is logged with its arrival time and path (``GET /_log?from=K`` returns the entries
from index K, one ``time path`` line each; that request is not logged), so a benchmark can count
per target how often it was probed. A hanging request gets no answer; the connection is closed
after ``--hang`` seconds (default 30), well past any probe timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

ANSWER_DELAY = 0.05
HANG_EVERY = 50  # 2% of targets hang past the timeout
BODY = b'{"status": "healthy", "timestamp": "2026-01-01T00:00:00Z"}'


def raise_fd_limit() -> int:
    """Many probes in flight plus the server's sockets need more than the default 1024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def target_path(prefix: str, index: int) -> str:
    """The path of target ``index``: every HANG_EVERY-th one hangs."""
    return f"/{prefix}/{'hang' if index % HANG_EVERY == 0 else 'ok'}/{index}"


# The server (child process) ------------------------------------------------------------------


class _Server:
    def __init__(self, hang_seconds: float) -> None:
        self.hang_seconds = hang_seconds
        self.log: list[tuple[float, bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                parts = request_line.split()
                path = parts[1] if len(parts) > 1 else b"/"
                if path.startswith(b"/_log"):
                    writer.write(self._dump(path))
                    await writer.drain()
                    continue
                self.log.append((time.time(), path))
                if b"/hang/" in path:
                    await asyncio.sleep(self.hang_seconds)
                    return
                await asyncio.sleep(ANSWER_DELAY)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(BODY), BODY)
                )
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _dump(self, path: bytes) -> bytes:
        start = int(path.partition(b"from=")[2] or 0)
        body = b"".join(b"%.3f %s\n" % (t, p) for t, p in self.log[start:])
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def serve(self, port: int) -> None:
        server = await asyncio.start_server(self.handle, "127.0.0.1", port, backlog=8192)
        print(server.sockets[0].getsockname()[1], flush=True)
        async with server:
            await server.serve_forever()


# The benchmark's side ------------------------------------------------------------------------


@dataclass
class TargetServer:
    """A running target server (a child process) and the requests read from it so far."""

    proc: subprocess.Popen[str]
    port: int

    @classmethod
    def start(cls, *, hang_seconds: float = 30.0, cpus: str | None = None) -> TargetServer:
        command = [sys.executable, __file__, "--hang", str(hang_seconds)]
        if cpus:
            command = ["taskset", "-c", cpus, *command]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        return cls(proc, int(proc.stdout.readline()))

    def url(self, prefix: str, index: int) -> str:
        return f"http://127.0.0.1:{self.port}{target_path(prefix, index)}"

    def requests(self, start: int = 0) -> list[tuple[float, str]]:
        """Requests logged from index ``start`` on: (arrival time, path)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_log?from={start}", timeout=60) as response:
            text = response.read().decode()
        out = []
        for line in text.splitlines():
            at, _, path = line.partition(" ")
            out.append((float(at), path))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hang", type=float, default=30.0, help="seconds a hanging request is held open")
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(_Server(args.hang).serve(args.port))
