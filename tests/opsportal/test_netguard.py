"""The SSRF guard: numeric forms normalised, the deny list at save time and at connect time
(httpx and urllib3), DNS rebinding and redirects to a denied address stopped, with real loopback servers."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from opsportal import netguard
from opsportal.netguard import AddressDenied, GuardedTransport


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"status": "healthy"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def loopback_server() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


SEEN_URL_HOSTS = {
    "http://169.254.169.254/latest/meta-data/": "169.254.169.254",
    "http://[fd00:ec2::254]/": "fd00:ec2::254",
    "http://[::ffff:169.254.169.254]/": "169.254.169.254",
    "http://2852039166/": "169.254.169.254",
    "http://0177.0.0.1/": "127.0.0.1",
}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2852039166", "169.254.169.254"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("127.1", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:169.254.169.254]", "169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
        ("[64:ff9b::a9fe:a9fe]", "169.254.169.254"),
        ("[2002:a9fe:a9fe::1]", "169.254.169.254"),
        ("169.254.169.254.", "169.254.169.254"),
        ("[fe80::1%eth0]", "fe80::1"),
    ],
)
def test_numeric_forms_are_normalised(host: str, expected: str) -> None:
    assert str(netguard.literal_address(host)) == expected


def test_names_are_not_literals_and_bad_numbers_are_errors() -> None:
    assert netguard.literal_address("example.com") is None
    assert netguard.literal_address("1e100.net") is None
    with pytest.raises(ValueError):
        netguard.literal_address("256.1.1.1")
    with pytest.raises(ValueError):
        netguard.literal_address("4294967296")


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.1.1",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "100.100.100.200",
        "0.0.0.0",
        "[::]",
        "224.0.0.251",
        "[ff02::1]",
        "255.255.255.255",
        "metadata.google.internal",
    ],
)
def test_default_deny_list(host: str) -> None:
    assert netguard.check_target(host, lookup=False)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "[::1]", "[fd12::1]", "8.8.8.8"]
)
def test_private_and_loopback_stay_allowed(host: str) -> None:
    assert netguard.check_target(host, lookup=False) == ""


@pytest.mark.parametrize("url", list(SEEN_URL_HOSTS))
def test_each_seen_url_is_refused_at_save_time(url: str) -> None:
    host = urlsplit(url).hostname or ""
    reason = netguard.check_target(host, lookup=False)
    assert reason, url
    if "0177" not in url:
        assert SEEN_URL_HOSTS[url] in reason
    else:
        assert "write the address as 127.0.0.1" in reason


def test_settings_deny_private_ranges_and_allow_exceptions(settings: Any) -> None:
    settings.PROBE_DENY_NETWORKS = ["10.0.0.0/8", "127.0.0.0/8"]
    settings.PROBE_ALLOW_NETWORKS = ["10.9.0.0/16", "169.254.0.0/16"]
    assert "10.0.0.0/8" in netguard.check_target("10.1.2.3", lookup=False)
    assert netguard.check_target("10.9.1.1", lookup=False) == ""
    assert netguard.check_target("127.0.0.1", lookup=False)
    # A broader allow does not open the more specific metadata address.
    assert netguard.check_target("169.254.1.1", lookup=False) == ""
    assert "169.254.169.254/32" in netguard.check_target("169.254.169.254", lookup=False)


def test_a_malformed_network_names_its_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="PROBE_DENY_NETWORKS"):
        netguard.parse_networks(["10.0.0.0/33"], "PROBE_DENY_NETWORKS")


def test_save_time_lookup_refuses_a_name_that_resolves_to_a_denied_address() -> None:
    with netguard.using_resolver(lambda host, port: ["169.254.169.254"]):
        assert "169.254.169.254" in netguard.check_target("metadata.example.test")
    with netguard.using_resolver(lambda host, port: ["127.0.0.1", "169.254.169.254"]):
        assert netguard.check_target("mixed.example.test")  # one bad answer refuses the name


# Connect time, httpx ---------------------------------------------------------------------------


async def _get(url: str) -> httpx.Response:
    transport = GuardedTransport(verify=ssl.create_default_context(), limits=httpx.Limits())
    async with httpx.AsyncClient(transport=transport, follow_redirects=True, timeout=5) as client:
        return await client.get(url)


def test_httpx_guard_connects_to_loopback() -> None:
    with loopback_server() as server:
        port = server.server_address[1]
        response = asyncio.run(_get(f"http://127.0.0.1:{port}/ok"))
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_dns_rebinding_is_refused_at_connect_time() -> None:
    """A name that resolves to 127.0.0.1 when saved and to the metadata address when connecting."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    with loopback_server() as server, netguard.using_resolver(lambda host, port: next(answers)):
        port = server.server_address[1]
        assert netguard.check_target("rebind.example.test", port) == ""  # save time
        with pytest.raises(httpx.ConnectError) as caught:
            asyncio.run(_get(f"http://rebind.example.test:{port}/ok"))
    assert netguard.denied_reason(caught.value) == (
        "address 169.254.169.254 is in a denied network (169.254.169.254/32); see PROBE_DENY_NETWORKS"
    )
    assert server.hits == []


def test_the_checked_address_is_the_one_connected_to() -> None:
    """The guard connects to the address it checked: a resolver that would answer differently later is not asked again."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    with loopback_server() as server, netguard.using_resolver(resolver):
        port = server.server_address[1]
        response = asyncio.run(_get(f"http://once.example.test:{port}/ok"))
    assert response.status_code == 200
    assert calls == ["once.example.test"]


def test_redirect_from_loopback_to_metadata_is_refused() -> None:
    with loopback_server() as server:
        port = server.server_address[1]
        with pytest.raises(httpx.ConnectError) as caught:
            asyncio.run(_get(f"http://127.0.0.1:{port}/redirect?to=http://169.254.169.254/latest/meta-data/"))
    assert "169.254.169.254" in (netguard.denied_reason(caught.value) or "")
    assert server.hits == ["/redirect?to=http://169.254.169.254/latest/meta-data/"]


# Connect time, requests/urllib3 (Apprise's HTTP) ------------------------------------------------


def test_requests_guard_refuses_a_redirect_to_metadata_and_allows_loopback() -> None:
    with loopback_server() as server, netguard.guarded_requests():
        port = server.server_address[1]
        assert requests.get(f"http://127.0.0.1:{port}/ok", timeout=5).status_code == 200
        with pytest.raises(requests.ConnectionError) as caught:
            requests.get(f"http://127.0.0.1:{port}/redirect?to=http://2852039166/", timeout=5)
    assert "169.254.169.254" in (netguard.denied_reason(caught.value) or str(caught.value))


def test_requests_outside_the_guard_are_untouched() -> None:
    with loopback_server() as server:
        port = server.server_address[1]
        with netguard.using_resolver(lambda host, port: ["169.254.169.254"]):
            # Not inside guarded_requests(): the system resolver and no check.
            assert requests.get(f"http://localhost:{port}/ok", timeout=5).status_code == 200


def test_resolve_checked_for_tcp_and_postgres() -> None:
    assert netguard.resolve_checked("127.0.0.1", 5432) == ["127.0.0.1"]
    with pytest.raises(AddressDenied):
        netguard.resolve_checked("[::ffff:169.254.169.254]", 80)
    with netguard.using_resolver(lambda host, port: ["fd00:ec2::254"]), pytest.raises(AddressDenied):
        asyncio.run(netguard.resolve_checked_async("db.example.test", 5432))
