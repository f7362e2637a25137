"""Backups fixtures: a real PostgreSQL source, local and S3 (moto over HTTP) destinations, policies."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.backups import helpers

SOURCE_ENV = "BAK_T_SOURCE_URL"
S3_KEY_ENV = "BAK_T_S3_KEY"
S3_SECRET_ENV = "BAK_T_S3_SECRET"


@pytest.fixture(scope="session")
def pg_source_name() -> Iterator[str]:
    """A small source database (created once per session, dropped at the end)."""
    name = helpers.create_source_database()
    yield name
    helpers.drop_database(name)
    # Safety net: nothing this suite creates may outlive it. Other sessions may be running at the
    # same time (helpers share the server): their source databases and any scratch database in use
    # (a plain DROP refuses those) are left alone.
    with helpers.admin_conn() as conn:
        leftovers = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'drill\\_t\\_%' AND datname NOT LIKE 'drill\\_t\\_src\\_%'"
            )
        ]
        for db in leftovers:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}"')


@pytest.fixture(autouse=True)
def _backup_settings(settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_DRILL_PREFIX = helpers.PREFIX
    settings.BACKUP_HEARTBEAT_SECONDS = 0.5
    settings.BACKUP_ZSTD_THREADS = 2
    settings.BACKUP_SCRATCH_DIR = str(tmp_path / "scratch")
    settings.BACKUP_S3_MAX_ATTEMPTS = 2
    settings.BACKUP_PG_DUMP = None
    settings.BACKUP_PG_RESTORE = None


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Tasks never reach a real broker from these tests: sends are recorded instead."""
    from backups import tasks

    sent: list[Any] = []

    def record(name: str, args: Any = None, kwargs: Any = None, task_id: str | None = None, **_: Any) -> None:
        sent.append((name, args, task_id))

    for task in (tasks.execute_run_task, tasks.execute_drill_task, tasks.reverify_policy_task):
        monkeypatch.setattr(task, "apply_async", functools.partial(record, task.name))
    return sent


@pytest.fixture
def pg_source_env(monkeypatch: pytest.MonkeyPatch, pg_source_name: str) -> str:
    monkeypatch.setenv(SOURCE_ENV, helpers.db_url(pg_source_name))
    return pg_source_name


@pytest.fixture
def make_policy(db: Any, tmp_path: Path) -> Callable[..., Any]:
    """make_policy(source=..., destination=..., **fields) with sensible defaults."""
    from backups.models import Destination, Policy, Source

    counter = iter(range(1, 1000))

    def make(source: Any = None, destination: Any = None, **fields: Any) -> Policy:
        n = next(counter)
        if source is None:
            source = Source.objects.create(name=f"Shop DB {n}", slug=f"shop-{n}", kind="postgres", url_env=SOURCE_ENV)
        if destination is None:
            folder = tmp_path / f"dest{n}"
            folder.mkdir()
            destination = Destination.objects.create(
                name=f"Local {n}", slug=f"local-{n}", kind="local", path=str(folder)
            )
        fields.setdefault("name", f"Nightly {n}")
        fields.setdefault("slug", f"nightly-{n}")
        return Policy.objects.create(source=source, destination=destination, **fields)

    return make


@pytest.fixture
def pg_policy(pg_source_env: str, make_policy: Callable[..., Any]) -> Any:
    return make_policy(smoke_sql="SELECT count(*) > 100 FROM customers\nSELECT count(*) FROM orders WHERE total >= 0")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[tuple[str, int]]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server.get_host_and_port()
    server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(S3_KEY_ENV, "testing-key")
    monkeypatch.setenv(S3_SECRET_ENV, "testing-secret")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def s3_bucket(moto_endpoint: tuple[str, int], s3_env: None) -> Iterator[dict[str, Any]]:
    """A fresh bucket on the moto server; yields {"name", "endpoint", "client"}."""
    import uuid

    import boto3

    endpoint = f"http://{moto_endpoint[0]}:{moto_endpoint[1]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing-key",
        aws_secret_access_key="testing-secret",
    )
    name = f"bak-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    yield {"name": name, "endpoint": endpoint, "client": client}
    with contextlib.suppress(Exception):
        for up in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            client.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
        for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
        client.delete_bucket(Bucket=name)


@pytest.fixture
def s3_destination(db: Any, s3_bucket: dict[str, Any]) -> Any:
    from backups.models import Destination

    return Destination.objects.create(
        name="S3 bucket",
        slug="s3",
        kind="s3",
        bucket=s3_bucket["name"],
        prefix="portal/",
        endpoint_url=s3_bucket["endpoint"],
        region="us-east-1",
        access_key_env=S3_KEY_ENV,
        secret_key_env=S3_SECRET_ENV,
        sse="AES256",
    )


def s3_state(bucket: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(object keys, keys of open multipart uploads) in the bucket."""
    client = bucket["client"]
    objects = [o["Key"] for o in client.list_objects_v2(Bucket=bucket["name"]).get("Contents", [])]
    uploads = [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket["name"]).get("Uploads", [])]
    return objects, uploads


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder``, hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def open_alert(key: str) -> Any:
    from monitoring.models import Alert

    return Alert.objects.filter(dedup_key=key).exclude(state="resolved").first()
