"""Where the portal may connect: a deny list of networks checked when a target is saved and again
at connect time, for every connection (redirects included), so DNS rebinding and a redirect to the
cloud metadata address are stopped as well as a literal address.

Defaults deny link-local (169.254.0.0/16, fe80::/10, the metadata addresses 169.254.169.254,
fd00:ec2::254 and 100.100.100.200), unspecified, multicast and broadcast addresses. Private
ranges and loopback stay allowed (the portal watches internal services); ``PROBE_DENY_NETWORKS``
adds networks to the deny list and ``PROBE_ALLOW_NETWORKS`` carves exceptions out of it (the
most specific network wins; an allow of exactly a denied network opens it). Numeric host forms (``2852039166``,
``0177.0.0.1``, ``0xa9.254.169.254``, ``127.1``) and IPv6 forms that carry an IPv4 address
(``::ffff:169.254.169.254``, NAT64, 6to4) are normalised before the check.

Connect-time checks: ``GuardedTransport`` for httpx (its network backend resolves the name,
checks every address and connects to the checked address, so a second lookup cannot answer
differently), ``resolve_checked`` / ``resolve_checked_async`` for TCP and PostgreSQL probes,
and ``guarded_requests()`` for code that uses requests/urllib3 (Apprise).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpcore
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = ("169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32")
DEFAULT_DENY = (
    "169.254.0.0/16",  # IPv4 link-local (AWS, GCP, Azure, OpenStack metadata at .169.254)
    "fe80::/10",  # IPv6 link-local
    *METADATA_ADDRESSES,  # AWS IPv6 metadata, Alibaba Cloud metadata
    "0.0.0.0/8",  # "this network": Linux connects 0.0.0.0 to the local host
    "::/128",  # unspecified
    "224.0.0.0/4",  # IPv4 multicast
    "ff00::/8",  # IPv6 multicast
    "255.255.255.255/32",  # limited broadcast
)
# Names the clouds give their metadata service; refused by name too, before any lookup.
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPAT = ipaddress.IPv6Network("::/96")


class AddressDenied(OSError):
    """A connection the deny list forbids; the message names the address and the network, never a URL."""


# Numeric forms ------------------------------------------------------------------------------


def _inet_aton_part(text: str) -> int:
    if text[:2].lower() == "0x":
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text, 10)


def _looks_numeric(text: str) -> bool:
    parts = text.split(".")
    return 1 <= len(parts) <= 4 and all(
        p and (p.isdigit() or (p[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in p[2:])))
        for p in parts
    )


def parse_ipv4_loose(text: str) -> ipaddress.IPv4Address | None:
    """The address of an inet_aton-style IPv4 form (decimal, octal, hex, 1-4 parts), else None.

    Raises ValueError for a numeric-looking host no resolver would take as one address.
    """
    if not _looks_numeric(text):
        return None
    parts = text.split(".")
    try:
        values = [_inet_aton_part(p) for p in parts]
    except ValueError:
        raise ValueError("not a valid IPv4 address") from None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise ValueError("not a valid IPv4 address")
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (5 - len(values)) + last
    return ipaddress.IPv4Address(number)


def normalise(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address in _COMPAT and int(address) > 1:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (any numeric form), None for a name; ValueError if malformed."""
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) selects an interface, not an address
    if ":" in text:
        try:
            return normalise(ipaddress.IPv6Address(text))
        except ValueError:
            raise ValueError("not a valid IPv6 address") from None
    found = parse_ipv4_loose(text)
    return normalise(found) if found is not None else None


# The policy ---------------------------------------------------------------------------------


def parse_networks(values: Iterable[str], name: str) -> tuple[IPNetwork, ...]:
    """CIDR strings to networks; a malformed entry stops start-up naming the variable."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value.strip()[:50]!r} is not a network such as 10.0.0.0/8") from None
    return tuple(networks)


@dataclass(frozen=True)
class Policy:
    """Networks refused and the exceptions carved out of them."""

    deny: tuple[IPNetwork, ...]
    allow: tuple[IPNetwork, ...] = ()

    def _best(self, address: IPAddress, networks: tuple[IPNetwork, ...]) -> IPNetwork | None:
        matches = [n for n in networks if n.version == address.version and address in n]
        return max(matches, key=lambda n: n.prefixlen, default=None)

    def denied_by(self, address: IPAddress) -> IPNetwork | None:
        """The network that refuses ``address`` (after normalising it), or None when it is allowed."""
        address = normalise(address)
        denied = self._best(address, self.deny)
        if denied is None:
            return None
        allowed = self._best(address, self.allow)
        if allowed is not None and allowed.prefixlen >= denied.prefixlen:
            return None
        return denied

    def check(self, address: IPAddress | str) -> IPAddress:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        network = self.denied_by(ip)
        if network is not None:
            shown = normalise(ip)
            raise AddressDenied(f"address {shown} is in a denied network ({network}); see PROBE_DENY_NETWORKS")
        return ip


@lru_cache(maxsize=8)
def _policy(deny: tuple[str, ...], allow: tuple[str, ...]) -> Policy:
    return Policy(
        parse_networks((*DEFAULT_DENY, *deny), "PROBE_DENY_NETWORKS"), parse_networks(allow, "PROBE_ALLOW_NETWORKS")
    )


def policy() -> Policy:
    """The policy from settings (``PROBE_DENY_NETWORKS``, ``PROBE_ALLOW_NETWORKS``)."""
    deny = tuple(settings.PROBE_DENY_NETWORKS or ())
    allow = tuple(settings.PROBE_ALLOW_NETWORKS or ())
    return _policy(deny, allow)


# Resolving ----------------------------------------------------------------------------------

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP), in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    return list(seen)


_resolver: list[Resolver] = [system_resolver]


@contextlib.contextmanager
def using_resolver(resolver: Resolver) -> Iterator[None]:
    """Resolve names with ``resolver`` meanwhile (the seam a DNS-rebinding test drives)."""
    _resolver.append(resolver)
    try:
        yield
    finally:
        _resolver.remove(resolver)


def resolve(host: str, port: int) -> list[str]:
    return _resolver[-1](host, port)


def check_name(host: str) -> None:
    if host.strip().rstrip(".").lower() in METADATA_NAMES:
        raise AddressDenied(f"{host[:60]} is a cloud metadata service name")


def resolve_checked(host: str, port: int, *, active: Policy | None = None) -> list[str]:
    """The addresses to connect to for ``host``: all checked (AddressDenied if any is denied)."""
    rules = active or policy()
    literal = literal_address(host)
    if literal is not None:
        return [str(rules.check(literal))]
    check_name(host)
    addresses = resolve(host, port)
    if not addresses:
        raise OSError(f"{host[:60]}: no address")
    # One denied answer refuses the lot: a resolver that mixes a good and a bad address is hostile.
    return [str(rules.check(a)) for a in addresses]


async def resolve_checked_async(host: str, port: int) -> list[str]:
    rules = policy()
    if literal_address(host) is not None:
        return resolve_checked(host, port, active=rules)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: resolve_checked(host, port, active=rules))


SAVE_LOOKUP_SECONDS = 2.0
_lookups = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="netguard-lookup")


def _lookup_briefly(host: str, port: int) -> list[str]:
    """Resolve for a save-time check without holding a form for a slow resolver (connect time checks again)."""
    resolver = _resolver[-1]
    future = _lookups.submit(resolver, host, port)
    try:
        return future.result(timeout=SAVE_LOOKUP_SECONDS)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(host) from None


def check_target(host: str, port: int = 0, *, lookup: bool = True) -> str:
    """At save time: '' when ``host`` may be a target, else why not (its literal address, its name,
    and with ``lookup`` what it resolves to now; a name that does not resolve is not refused here,
    the connect-time check sees it again)."""
    try:
        literal = literal_address(host)
    except ValueError as exc:
        return f"{host[:60]} is {exc}"
    try:
        if literal is not None:
            policy().check(literal)
            text = host.strip().rstrip(".")
            if ":" not in text and text != str(literal):
                # 0177.0.0.1, 2852039166, 0x7f.1: resolvers read them differently; nobody needs them.
                return f"write the address as {literal} (octal, hex and single-number forms are refused)"
            return ""
        check_name(host)
        if lookup:
            try:
                addresses = _lookup_briefly(host, port or 80)
            except (OSError, TimeoutError):
                return ""
            for address in addresses:
                policy().check(address)
    except AddressDenied as denied:
        return str(denied)
    return ""


# httpx --------------------------------------------------------------------------------------


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to checked addresses (every connection)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve_checked_async(host, port)
        except OSError as exc:  # AddressDenied or a failed lookup: what httpx reports as a ConnectError
            raise httpcore.ConnectError(str(exc)) from exc
        for position, address in enumerate(addresses):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if position == len(addresses) - 1:
                    raise  # a bare raise keeps the cause (connection refused, ...) for the reason shown
        raise httpcore.ConnectError("no address")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("connections to Unix sockets are not allowed") from AddressDenied(path[:60])

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the guarded backend: no proxy, HTTP/1.1, the given TLS context and limits."""

    def __init__(self, *, verify: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(),
        )


def denied_reason(exc: BaseException) -> str | None:
    """The AddressDenied message somewhere in an exception's chain, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AddressDenied):
            return str(current)
        current = current.__cause__ or current.__context__
    return None


# TCP and PostgreSQL -------------------------------------------------------------------------


async def open_checked(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the first checked address of ``host`` that answers."""
    addresses = await resolve_checked_async(host, port)
    for position, address in enumerate(addresses):
        try:
            return await asyncio.open_connection(address, port)
        except OSError:
            if position == len(addresses) - 1:
                raise
    raise OSError("no address")


async def pin_postgres_dsn(dsn: str) -> str:
    """The DSN with ``hostaddr`` set to checked addresses, so libpq connects where the deny list allowed.

    A Unix-socket host (a path, or none: libpq's default) stays as it is; a ``hostaddr`` already
    given is checked too. Several hosts (failover lists) are each pinned to their first address.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    hosts = [h.strip() for h in str(params.get("host") or "").split(",")]
    ports = [p.strip() for p in str(params.get("port") or "").split(",") if p.strip()]
    given = [a.strip() for a in str(params.get("hostaddr") or "").split(",") if a.strip()]
    pinned: list[str] = []
    for index, host in enumerate(hosts):
        port = int(ports[min(index, len(ports) - 1)]) if ports else 5432
        if given:
            pinned.append(resolve_checked(given[min(index, len(given) - 1)], port)[0])
        elif not host or host.startswith(("/", "@")):
            if len(hosts) == 1:
                return dsn
            raise OSError("a host list mixing Unix sockets and network hosts needs hostaddr")
        else:
            pinned.append((await resolve_checked_async(host, port))[0])
    return make_conninfo(dsn, hostaddr=",".join(pinned))


# requests / urllib3 (Apprise) ---------------------------------------------------------------

_guard = threading.local()
_installed: list[Callable[..., socket.socket]] = []
_install_lock = threading.Lock()


def _install_urllib3_guard() -> None:
    from urllib3.util import connection

    with _install_lock:
        if _installed:
            return
        original = connection.create_connection
        _installed.append(original)

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            if not getattr(_guard, "active", False):
                return original(address, *args, **kwargs)
            host, port = address
            try:
                addresses = resolve_checked(host, port)
            except AddressDenied as denied:
                _guard.denied.append(str(denied))
                raise
            for position, checked in enumerate(addresses):
                try:
                    return original((checked, port), *args, **kwargs)
                except OSError:
                    if position == len(addresses) - 1:
                        raise
            raise OSError("no address")

        connection.create_connection = create_connection


@contextlib.contextmanager
def guarded_requests() -> Iterator[list[str]]:
    """Meanwhile, every urllib3 connection this thread opens (requests, Apprise) is checked.

    Yields the list of refusals (their messages), for a caller whose library only says "failed".
    """
    _install_urllib3_guard()
    previous = getattr(_guard, "active", False), getattr(_guard, "denied", [])
    _guard.active, _guard.denied = True, []
    try:
        yield _guard.denied
    finally:
        _guard.active, _guard.denied = previous
