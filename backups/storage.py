"""Destinations for artifacts: a local directory and S3 (any S3-compatible endpoint).

Writers are streaming and all-or-nothing. Local: written under a temporary name, fsynced, then
renamed into place; ``abort()`` removes the temporary file. S3: a multipart upload whose part
size is chosen from the expected size, uploaded by one background thread (so compression goes
on while a part travels); ``abort()`` aborts the upload, so no partial object is left. If even
the abort fails (the endpoint is gone), the upload id stays in the run's ``cleanup`` and the
reaper aborts it later.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import conf

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
MAX_PARTS = 10_000
MAX_PART_SIZE = 5 << 30


class StorageError(Exception):
    """A destination refused a write, read or delete; the message is safe to show."""


def _check_key(key: str) -> None:
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise StorageError(f"refusing unsafe object key {key!r}")


# Local directory --------------------------------------------------------------------------


class LocalWriter:
    """Writes ``<root>/<key>`` through a temporary file that becomes the object only on commit."""

    def __init__(self, root: Path, key: str) -> None:
        self.final = root / key
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.temp = self.final.with_name(f".{self.final.name}.partial-{uuid.uuid4().hex[:12]}")
        self.partial_ref = str(self.temp.relative_to(root))
        self._file = open(self.temp, "xb", buffering=1 << 20)

    def write(self, data: bytes | memoryview) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            raise StorageError(f"writing to {self.final.parent} failed: {exc.strerror or exc}") from None

    def commit(self) -> None:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.temp, self.final)
            dir_fd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise StorageError(f"finishing {self.final.name} failed: {exc.strerror or exc}") from None

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()


@dataclass
class LocalStorage:
    root: Path

    def describe(self, key: str) -> str:
        return str(self.root / key)

    def open_writer(self, key: str, expected_size: int | None = None) -> LocalWriter:
        _check_key(key)
        try:
            return LocalWriter(self.root, key)
        except OSError as exc:
            raise StorageError(f"cannot write to {self.root}: {exc.strerror or exc}") from None

    def read(self, key: str, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        _check_key(key)
        try:
            with open(self.root / key, "rb", buffering=0) as fh:
                while block := fh.read(chunk):
                    yield block
        except FileNotFoundError:
            raise StorageError(f"backup file {self.root / key} is missing") from None
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / key}: {exc.strerror or exc}") from None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except OSError:
            return None

    def delete(self, key: str) -> None:
        _check_key(key)
        with contextlib.suppress(FileNotFoundError):
            (self.root / key).unlink()

    def cleanup(self, ref: dict[str, Any]) -> None:
        """Remove what a dead worker left: the temporary file named in ``ref``."""
        if ref.get("partial"):
            self.delete(ref["partial"])

    def list_keys(self, prefix: str = "") -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())


# S3 ---------------------------------------------------------------------------------------


def choose_part_size(expected_size: int | None) -> int:
    """A part size that fits ``expected_size`` (with headroom) in well under 10,000 parts."""
    minimum = conf.BACKUP_S3_MIN_PART_BYTES.get()
    if not expected_size:
        return minimum
    wanted = math.ceil(expected_size * 1.5 / (MAX_PARTS // 2))
    if wanted <= minimum:
        return minimum
    mib = 1 << 20
    return min(MAX_PART_SIZE, math.ceil(wanted / mib) * mib)


_DONE = object()


class S3Writer:
    """A multipart upload fed by ``write()``; one background thread uploads full parts."""

    def __init__(self, client: Any, bucket: str, key: str, part_size: int, extra: dict[str, Any]) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.part_size = part_size
        resp = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
        self.upload_id: str = resp["UploadId"]
        self.partial_ref = key
        self._buf = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._sent = 0
        self._thread = threading.Thread(target=self._upload_loop, name="s3-upload", daemon=True)
        self._thread.start()

    def _upload_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            number, body = item
            if self._error is not None:
                continue  # drain after a failure
            try:
                resp = self.client.upload_part(
                    Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=bytes(body)
                )
                self._parts.append({"PartNumber": number, "ETag": resp["ETag"]})
            except BaseException as exc:  # noqa: BLE001 - reported to the writing thread
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise StorageError(f"S3 upload of part failed: {describe_s3_error(self._error)}")

    def _current_part_size(self) -> int:
        # S3 allows parts of different sizes: double every 2,000 parts so a stream far larger
        # than expected still fits in 10,000 parts.
        return min(MAX_PART_SIZE, self.part_size * (2 ** (self._sent // 2000)))

    def _send(self, body: bytearray) -> None:
        if self._sent >= MAX_PARTS:
            raise StorageError("the backup is larger than 10,000 S3 parts allow")
        self._sent += 1
        self._queue.put((self._sent, body))  # blocks while the previous part is still uploading
        self._raise_if_failed()

    def write(self, data: bytes | memoryview) -> None:
        self._raise_if_failed()
        self._buf += data
        size = self._current_part_size()
        while len(self._buf) >= size:
            body = self._buf[:size]
            del self._buf[:size]
            self._send(body)

    def commit(self) -> None:
        if self._buf or not self._sent:
            self._send(self._buf)
            self._buf = bytearray()
        self._queue.put(_DONE)
        self._thread.join()
        self._raise_if_failed()
        parts = sorted(self._parts, key=lambda p: p["PartNumber"])
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"S3 could not complete the upload: {describe_s3_error(exc)}") from None

    def abort(self) -> None:
        """Stop uploading and abort the multipart upload; raises StorageError if the abort fails."""
        self._error = self._error or StorageError("aborted")
        with contextlib.suppress(queue.Full):
            self._queue.put(_DONE, timeout=120)
        self._thread.join(timeout=120)
        self._buf = bytearray()
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"could not abort the S3 upload: {describe_s3_error(exc)}") from None


def describe_s3_error(exc: BaseException) -> str:
    """A short reason for an S3 failure that never includes keys or signed URLs."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip(": ")
    name = type(exc).__name__
    if name in ("EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"endpoint unreachable ({name})"
    if name == "NoCredentialsError":
        return "no S3 credentials found"
    return name


@dataclass
class S3Storage:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    sse: str = ""
    kms_key_id: str = ""
    _client: Any = field(default=None, repr=False, init=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # imported lazily: it costs ~10 MB and only S3 destinations need it
            from botocore.config import Config

            config = Config(
                retries={"max_attempts": conf.BACKUP_S3_MAX_ATTEMPTS.get(), "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                signature_version="s3v4",
                s3={"addressing_style": "path"} if self.endpoint_url else {},
            )
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=config,
            )
        return self._client

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}{key}"

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def open_writer(self, key: str, expected_size: int | None = None) -> S3Writer:
        extra: dict[str, Any] = {}
        if self.sse:
            extra["ServerSideEncryption"] = self.sse
            if self.kms_key_id:
                extra["SSEKMSKeyId"] = self.kms_key_id
        try:
            return S3Writer(self.client, self.bucket, self._full(key), choose_part_size(expected_size), extra)
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"S3 refused to start the upload: {describe_s3_error(exc)}") from None

    def read(self, key: str, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
            try:
                yield from body.iter_chunks(chunk)
            finally:
                body.close()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"cannot read the backup from S3: {describe_s3_error(exc)}") from None

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except Exception as exc:  # noqa: BLE001
            response = getattr(exc, "response", None)
            if isinstance(response, dict) and response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"cannot check the backup on S3: {describe_s3_error(exc)}") from None

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def size(self, key: str) -> int | None:
        info = self.head(key)
        return None if info is None else int(info["ContentLength"])

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"cannot delete the backup from S3: {describe_s3_error(exc)}") from None

    def cleanup(self, ref: dict[str, Any]) -> None:
        """Abort the multipart upload a dead worker left open."""
        if ref.get("upload_id") and ref.get("partial"):
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=ref["partial"], UploadId=ref["upload_id"])
            except Exception as exc:  # noqa: BLE001
                code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
                if code != "NoSuchUpload":
                    raise StorageError(f"could not abort the S3 upload: {describe_s3_error(exc)}") from None

    def list_keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}{prefix}"):
            keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return sorted(keys)
