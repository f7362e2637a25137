"""Evidence this app provides itself: sign-in history for "Review access logs", read from the audit log.

Successes, failures, lockouts (a username and address reaching AXES_FAILURE_LIMIT failures in
the period, which is when django-axes locks them out) and addresses no earlier sign-in came from.
A richer sign-in history (Maintenance II) may replace this provider under the same name.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.conf import settings
from django.utils import timezone

from monitoring.public import register_evidence
from opsportal.models import AuditRecord


def sign_ins(*, start: dt.datetime | None = None, end: dt.datetime | None = None, **_: Any) -> dict[str, Any]:
    now = timezone.now()
    end = min(end or now, now)
    start = start or end - dt.timedelta(days=30)
    rows = AuditRecord.objects.filter(
        at__gte=start, at__lt=end, action__in=[AuditRecord.Action.LOGIN, AuditRecord.Action.LOGIN_FAILED]
    ).values_list("action", "object_repr", "ip")
    ok = failed = 0
    failures: Counter[tuple[str, str]] = Counter()
    addresses: set[str] = set()
    for action, object_repr, ip in rows:
        if action == AuditRecord.Action.LOGIN:
            ok += 1
            if ip:
                addresses.add(ip)
        else:
            failed += 1
            failures[(object_repr, ip or "")] += 1
    limit = getattr(settings, "AXES_FAILURE_LIMIT", 5)
    lockouts = sorted(f"{user} from {ip or '?'}" for (user, ip), n in failures.items() if n >= limit)
    seen_before = set(
        AuditRecord.objects.filter(action=AuditRecord.Action.LOGIN, at__lt=start, ip__in=addresses)
        .values_list("ip", flat=True)
        .distinct()
    )
    new = sorted(addresses - seen_before)
    facts: list[list[Any]] = [
        ["Sign-ins", ok],
        ["Failed", failed],
        ["Lockouts", len(lockouts)],
        ["New addresses", len(new)],
    ]
    if lockouts:
        facts.append(["Locked out", ", ".join(lockouts[:10])])
    if new:
        facts.append(["New from", ", ".join(new[:10])])
    return {
        "ok": not lockouts,
        "summary": f"{ok} sign-ins, {failed} failed, {len(lockouts)} lockouts, {len(new)} new addresses",
        "facts": facts,
        "successes": ok,
        "failures": failed,
        "lockouts": lockouts,
        "new_addresses": new,
        "fresh": True,
    }


def register() -> None:
    register_evidence("sign_ins", sign_ins)
