"""Validators for service targets: refuse URLs a probe must never follow, and hosts on the deny list
(link-local, cloud metadata, ...; opsportal.netguard), checked again when the probe connects."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from opsportal import netguard

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def validate_probe_url(value: str) -> None:
    """An http(s) URL with a host, no embedded credentials and no control characters."""
    if any(ord(ch) < 32 or ch == "\x7f" for ch in value) or " " in value:
        raise ValidationError("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError("This is not a valid URL (check the port).") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Only http:// and https:// URLs can be probed.")
    if not parts.hostname:
        raise ValidationError("The URL has no host.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            "Do not put credentials in the URL; send them as a secret header taken from an environment variable."
        )
    if port == 0:
        raise ValidationError("Port 0 cannot be probed.")
    validate_probe_host(parts.hostname, port or (443 if parts.scheme == "https" else 80))


def validate_probe_host(host: str, port: int = 0) -> None:
    """A host (name or address in any numeric form) that is not on the deny list, as it resolves now."""
    reason = netguard.check_target(host, port)
    if reason:
        raise ValidationError(f"This target is refused: {reason}.")


def validate_env_name(value: str) -> None:
    if not ENV_NAME.match(value):
        raise ValidationError("Use an environment variable name such as API_TOKEN (capitals, digits, underscores).")


def validate_status_codes(value: str) -> None:
    """'200-299, 301' style lists."""
    parse_status_codes(value)


def parse_status_codes(value: str) -> list[tuple[int, int]]:
    ranges = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            low, high = int(lo), int(hi or lo)
        except ValueError:
            raise ValidationError(f"{part!r} is not a status code or range like 200-299.") from None
        if not (100 <= low <= high <= 599):
            raise ValidationError(f"{part!r} is outside 100-599.")
        ranges.append((low, high))
    if not ranges:
        raise ValidationError("Give at least one accepted status code.")
    return ranges


def validate_secret_headers(value: object) -> None:
    """{"Header-Name": "ENV_VAR_NAME"}: the value is read from the environment at probe time."""
    if not isinstance(value, dict):
        raise ValidationError("Secret headers must be an object of header name to environment variable name.")
    for header, env in value.items():
        if not isinstance(header, str) or not re.match(r"^[A-Za-z0-9-]+$", header):
            raise ValidationError(f"{header!r} is not a valid header name.")
        if not isinstance(env, str) or not ENV_NAME.match(env):
            raise ValidationError(f"{header}: {env!r} is not an environment variable name.")


def validate_headers(value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError("Headers must be an object of header name to text value.")
    for header in value:
        if not re.match(r"^[A-Za-z0-9-]+$", header):
            raise ValidationError(f"{header!r} is not a valid header name.")
