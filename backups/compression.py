"""Streaming compression (zstd by default, gzip for .gz compatibility) and checked decompression.

Compression is push-style: ``write()`` raw bytes, compressed bytes go to the sink as they are
produced. Decompression is checked: a stream that ends before its end-of-frame marker, has
a bad checksum or trailing garbage raises ``CorruptArtifact`` (a cut-off zstd stream would
otherwise just decompress to fewer bytes).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import zstandard

from .choices import Compression

Sink = Callable[[bytes], None]
GZIP_WBITS = 31  # zlib with a gzip header and trailer


class CorruptArtifact(Exception):
    """The stored bytes do not decompress to a complete stream."""


class _SinkFile:
    """The file-like end python-zstandard's stream writer pushes compressed bytes into."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def write(self, data: bytes) -> int:
        self.sink(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


class StreamCompressor:
    """Compresses everything written to it into ``sink`` as one zstd frame or gzip member.

    zstd runs through python-zstandard's stream writer, whose worker threads really compress in
    parallel (its ``compressobj`` does not); ``job_size`` bounds the memory those threads hold.
    """

    def __init__(self, kind: str, level: int, sink: Sink, *, threads: int = 0, job_size: int = 0) -> None:
        self.kind = kind
        self.sink = sink
        if kind == Compression.ZSTD:
            extra = {"job_size": job_size} if threads and job_size else {}
            params = zstandard.ZstdCompressionParameters.from_level(
                level, threads=threads, write_checksum=True, **extra
            )
            ctx = zstandard.ZstdCompressor(compression_params=params)
            self._writer = ctx.stream_writer(_SinkFile(sink), write_size=256 * 1024, closefd=False)
        elif kind == Compression.GZIP:
            self._obj = zlib.compressobj(min(level, 9), zlib.DEFLATED, GZIP_WBITS)
        else:
            raise ValueError(f"unknown compression {kind!r}")

    def write(self, data: bytes | memoryview) -> None:
        if self.kind == Compression.ZSTD:
            self._writer.write(data)
            return
        out = self._obj.compress(data)
        if out:
            self.sink(out)

    def finish(self) -> None:
        if self.kind == Compression.ZSTD:
            self._writer.flush(zstandard.FLUSH_FRAME)
            return
        out = self._obj.flush()
        if out:
            self.sink(out)


class StreamDecompressor:
    """Decompresses fed chunks; ``finish()`` raises CorruptArtifact unless the stream was complete."""

    def __init__(self, kind: str, *, max_piece: int = 256 * 1024) -> None:
        self.kind = kind
        self.max_piece = max_piece
        if kind == Compression.ZSTD:
            self._obj = zstandard.ZstdDecompressor().decompressobj(write_size=max_piece)
        elif kind == Compression.GZIP:
            self._obj = zlib.decompressobj(GZIP_WBITS)
        elif kind == Compression.NONE:
            self._obj = None
        else:
            raise ValueError(f"unknown compression {kind!r}")

    def feed(self, data: bytes | memoryview) -> Iterator[bytes]:
        if self._obj is None:  # stored as is (an adopted .dump)
            if data:
                yield bytes(data)
            return
        if self._obj.eof:
            if data:
                raise CorruptArtifact("data after the end of the compressed stream")
            return
        try:
            if self.kind == Compression.GZIP:
                # Bounded pieces: a highly compressible chunk never expands all at once.
                buf = data
                while buf:
                    out = self._obj.decompress(buf, self.max_piece)
                    if out:
                        yield out
                    buf = self._obj.unconsumed_tail
                    if self._obj.eof:
                        break
            else:
                out = self._obj.decompress(data)
                if out:
                    yield out
        except (zstandard.ZstdError, zlib.error) as exc:
            raise CorruptArtifact(f"{self.kind} stream is damaged: {exc}") from None
        if self._obj.eof and self._obj.unused_data:
            raise CorruptArtifact("data after the end of the compressed stream")

    def finish(self) -> None:
        if self._obj is not None and not self._obj.eof:
            raise CorruptArtifact(f"{self.kind} stream ends early (cut off before its end marker)")
