"""The one streaming pass: engine -> compressor -> SHA-256 -> destination, and its way back.

``write_artifact`` runs an engine's dump into a destination writer in bounded memory (one
chunk in flight plus the compressor's window and, for S3, one part); on any failure the
writer is aborted, so no partial object is left. ``read_artifact`` streams a stored object
back: it hashes what it reads, decompresses with end-of-stream checks, and, once the stream
is exhausted, compares checksum and sizes with the catalog before the consumer may finish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import conf
from .compression import CorruptArtifact, StreamCompressor, StreamDecompressor
from .engines.base import Engine, EngineError, VerifyFailed
from .journal import JobStopped
from .storage import StorageError

Progress = Callable[[], None]
FEED_SLICE = 128 * 1024


def release_memory() -> None:
    """Hand freed buffers back to the OS (glibc keeps them otherwise), so phases do not stack up."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to do


class _Output:
    """The compressed side: hashes, counts and hands bytes to the destination writer."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.bytes += len(data)
        self.writer.write(data)


class ArtifactSink:
    """Raw bytes in; compressed, hashed and handed to the destination writer.

    The compressor writes into a separate ``_Output`` object, not into a method of this one:
    python-zstandard's objects are invisible to the garbage collector, so a reference cycle
    through them would keep the compressor's buffers alive after every backup.
    """

    def __init__(self, writer: Any, compression: str, level: int, *, threads: int | None = None) -> None:
        self.out = _Output(writer)
        self.bytes_in = 0
        threads = conf.BACKUP_ZSTD_THREADS.get() if threads is None else threads
        self.compressor: StreamCompressor | None = StreamCompressor(
            compression, level, self.out.write, threads=threads, job_size=conf.BACKUP_ZSTD_JOB_BYTES.get()
        )

    @property
    def bytes_out(self) -> int:
        return self.out.bytes

    @property
    def sha(self) -> Any:
        return self.out.sha

    def write(self, data: bytes | memoryview) -> int:
        n = len(data)
        self.bytes_in += n
        assert self.compressor is not None
        self.compressor.write(data)
        return n

    def finish(self) -> None:
        assert self.compressor is not None
        self.compressor.finish()
        self.compressor = None  # frees the compression context and its worker buffers now


@dataclass
class WriteResult:
    bytes_in: int
    bytes_out: int
    sha256: str
    manifest: dict[str, Any] = field(default_factory=dict)


class AbortFailed(Exception):
    """The destination could not remove the partial object; ``ref`` says what is left."""

    def __init__(self, message: str, ref: dict[str, Any]) -> None:
        super().__init__(message)
        self.ref = ref


def cleanup_ref(writer: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"partial": writer.partial_ref}
    if getattr(writer, "upload_id", None):
        ref["upload_id"] = writer.upload_id
    return ref


def write_artifact(
    engine: Engine,
    writer: Any,
    compression: str,
    level: int,
    *,
    log: Callable[[str], None],
    progress: Callable[[ArtifactSink], None],
) -> WriteResult:
    """Dump ``engine`` through the compressor into ``writer`` and commit it, or abort it."""
    sink = ArtifactSink(writer, compression, level)
    try:
        manifest = engine.dump(sink, log, lambda: progress(sink))
        sink.finish()
        writer.commit()
    except BaseException as exc:
        sink.compressor = None
        try:
            writer.abort()
        except StorageError as abort_exc:
            known = (EngineError, StorageError, CorruptArtifact, JobStopped)
            cause = str(exc) if isinstance(exc, known) else type(exc).__name__
            message = f"{cause}; then {abort_exc}, so the reaper will remove the partial object"
            raise AbortFailed(message, cleanup_ref(writer)) from exc
        raise
    release_memory()
    return WriteResult(sink.bytes_in, sink.bytes_out, sink.sha.hexdigest(), manifest)


def read_artifact(
    storage: Any,
    key: str,
    compression: str,
    *,
    sha256: str,
    bytes_out: int | None = None,
    bytes_in: int | None = None,
    progress: Progress | None = None,
    stats: dict[str, int] | None = None,
) -> Iterator[bytes]:
    """Decompressed pieces of the stored object; raises VerifyFailed on any mismatch.

    The checks on the whole stream (checksum, sizes, end-of-stream marker) run when the last
    piece has been taken, so a consumer that reads to the end cannot miss them.
    """
    sha = hashlib.sha256()
    read = produced = 0
    dec = StreamDecompressor(compression)
    try:
        for chunk in storage.read(key):
            sha.update(chunk)
            read += len(chunk)
            view = memoryview(chunk)
            # Small slices keep every decompressed piece small (and the process's memory flat).
            for start in range(0, len(view), FEED_SLICE):
                for piece in dec.feed(view[start : start + FEED_SLICE]):
                    produced += len(piece)
                    yield piece
            if progress is not None:
                progress()
        dec.finish()
    except CorruptArtifact as exc:
        raise VerifyFailed(f"decompression failed: {exc}") from None
    except StorageError as exc:
        raise VerifyFailed(str(exc)) from None
    if stats is not None:
        stats.update(read=read, produced=produced)
    if sha.hexdigest() != sha256:
        raise VerifyFailed(
            f"checksum mismatch: stored object has SHA-256 {sha.hexdigest()[:16]}…, catalog {sha256[:16]}…"
        )
    if bytes_out is not None and read != bytes_out:
        raise VerifyFailed(f"size mismatch: read {read} bytes, catalog says {bytes_out}")
    if bytes_in is not None and produced != bytes_in:
        raise VerifyFailed(f"decompressed to {produced} bytes, the dump had {bytes_in}")
