"""What a check may repeat of what it found: a short single-line excerpt, and nothing under a secret-looking key.

A probe's reason travels into the service's status, alert summaries, every notification and the
API, so it must never carry a credential it read (``expect_json_path=SecretAccessKey``) nor a
page of body text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EXCERPT_CHARS = 60
# A key or path part naming one of these holds a value that is never repeated.
SECRET_WORDS = re.compile(r"key|secret|token|passw|pwd|credential|auth|cookie|session|signature|private", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def looks_secret(name: str) -> bool:
    """Whether a key name (``SecretAccessKey``, ``api_token``, ``Password``) looks like it holds a secret."""
    return bool(SECRET_WORDS.search(name))


def path_looks_secret(parts: Iterable[str]) -> bool:
    return any(looks_secret(p) for p in parts)


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value`` as one line of at most ``limit`` characters (control characters and newlines become spaces)."""
    text = _CONTROL.sub(" ", str(value)).strip()
    if len(text) > limit:
        return text[: limit - 1].rstrip() + "…"
    return text
