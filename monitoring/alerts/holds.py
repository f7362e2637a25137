"""The one place that decides whether an alert's notifications are held right now, and why.

Every alert that concerns a service is judged the same way, whatever raised it (a service
flip, a metric, a certificate, flapping, an agent, another app through ``public.py``):

1. the service is paused;
2. a maintenance window of the service is open (one-off or recurring);
3. a parent (grand-parent, ...) is down: the walk up is bounded and stops on a cycle, so bad data
   can never hold an alert forever;
4. inhibition (Alertmanager's inhibit rules): while a service's "down" alert is open it pages
   for the outage, so the service's own burn-rate and error-rate pages are held as *inhibited*;
   one that opened during the outage stays inhibited until it resolves (one outage, one page);
5. a silence matches.

Holds only hold notifications: the alerts open, show on every page and say why they are quiet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from monitoring.alerts.choices import AlertState
from monitoring.alerts.models import Alert, MaintenanceWindow, Silence
from monitoring.services.choices import ServiceStatus
from monitoring.services.models import Service
from monitoring.services.parents import MAX_DEPTH, ancestors, find_cycle

# ``details["inhibit"]`` of an alert that a service's open down alert inhibits.
INHIBIT_BY_DOWN = "service_down"
# ``details["outage_alert"]``: the down alert that was open when this alert opened.
OUTAGE_ALERT = "outage_alert"


def down_key_of(slug: str) -> str:
    return f"service:{slug}:down"


class ServiceRows(Mapping[int, tuple[str, str, "int | None", bool]]):
    """service id -> (name, status, parent id, enabled) of every service, read when first asked."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[str, str, int | None, bool]] | None = None

    def _all(self) -> dict[int, tuple[str, str, int | None, bool]]:
        if self._rows is None:
            self._rows = {
                pk: (name, status, parent_id, enabled)
                for pk, name, status, parent_id, enabled in Service.objects.values_list(
                    "pk", "name", "status", "parent_id", "enabled"
                )
            }
        return self._rows

    def __getitem__(self, key: int) -> tuple[str, str, int | None, bool]:
        return self._all()[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@dataclass
class Holds:
    """What holds notifications right now, loaded once per notifier pass (a few queries)."""

    now: dt.datetime
    silences: list[Silence] = field(default_factory=list)
    windows: dict[int, MaintenanceWindow] = field(default_factory=dict)
    services: Mapping[int, tuple[str, str, int | None, bool]] = field(default_factory=dict)
    # service id -> (id, summary) of its open "down" alert
    down: dict[int, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        now: dt.datetime | None = None,
        service_ids: set[int] | None = None,
        services: Mapping[int, tuple[str, str, int | None, bool]] | None = None,
    ) -> Holds:
        """Everything that can hold an alert now; ``service_ids``/``services`` narrow it to a few services."""
        now = now or timezone.now()
        silences = [s for s in Silence.objects.current(now).select_related("service", "tag") if s.is_active(now)]
        windows: dict[int, MaintenanceWindow] = {}
        candidates = MaintenanceWindow.objects.filter(starts_at__lte=now).order_by("starts_at")
        if service_ids is not None:
            candidates = candidates.filter(service_id__in=service_ids)
        for window in candidates:
            if window.service_id not in windows and window.is_active(now):
                windows[window.service_id] = window
        if services is None:
            services = ServiceRows()  # read on first use: most passes judge no alert at all
        downs = Alert.objects.filter(
            dedup_key__startswith="service:", dedup_key__endswith=":down", service__isnull=False
        ).exclude(state=AlertState.RESOLVED)
        if service_ids is not None:
            downs = downs.filter(service_id__in=service_ids)
        down = {sid: (pk, summary) for sid, pk, summary in downs.values_list("service_id", "pk", "summary")}
        return cls(now=now, silences=silences, windows=windows, services=services, down=down)

    def parent_down(self, service_id: int) -> str:
        """The name of the nearest enabled ancestor that is down ("" when none).

        A service on a parent cycle is held by no parent: in a cycle every member would wait for
        another forever, and nobody would be told (the cycle itself is refused on every input).
        """
        parents = {pk: row[2] for pk, row in self.services.items()}
        if find_cycle(service_id, parents, limit=MAX_DEPTH) is not None:
            return ""
        for parent_id in ancestors(service_id, parents):
            name, status, _parent, enabled = self.services[parent_id]
            if enabled and status == ServiceStatus.DOWN:
                return name
        return ""

    def reason(self, alert: Any) -> str:
        """Why ``alert``'s notifications are held, or "" when nothing holds them."""
        if alert.service_id is not None and alert.service_id in self.services:
            _name, _status, _parent_id, enabled = self.services[alert.service_id]
            if not enabled:
                return "service paused"
            window = self.windows.get(alert.service_id)
            if window is not None:
                return f"maintenance window until {window.ends_display(self.now)}: {window.reason}"
            parent = self.parent_down(alert.service_id)
            if parent:
                return f"parent service {parent} is down"
            inhibited = self.inhibited_by(alert)
            if inhibited:
                return inhibited
        for silence in self.silences:
            if silence.matches(alert):
                return f"silenced ({silence.matcher_display}): {silence.reason}"[:200]
        return ""

    def inhibited_by(self, alert: Any) -> str:
        details = alert.details or {}
        if details.get("inhibit") != INHIBIT_BY_DOWN:
            return ""
        down = self.down.get(alert.service_id)
        if down is not None and down[0] != alert.pk:
            return f"inhibited by alert #{down[0]} ({down[1]})"[:200]
        if details.get(OUTAGE_ALERT):
            return f"inhibited: opened during the outage paged as alert #{details[OUTAGE_ALERT]}"[:200]
        return ""


def hold_reason(alert: Any, now: dt.datetime | None = None) -> str:
    """Why one alert would be held now. Loads only the alert's service and its parents (a bounded
    walk), so raising an alert costs a few queries however many services there are."""
    services: dict[int, tuple[str, str, int | None, bool]] = {}
    current = alert.service_id
    while current is not None and current not in services and len(services) <= MAX_DEPTH:
        row = Service.objects.filter(pk=current).values_list("name", "status", "parent_id", "enabled").first()
        if row is None:
            break
        services[current] = row
        current = row[2]
    return Holds.load(now, service_ids=set(services), services=services).reason(alert)


def open_outage(service_id: int | None) -> int | None:
    """The id of the service's open "down" alert, if any (recorded on alerts it inhibits)."""
    if service_id is None:
        return None
    return (
        Alert.objects.filter(service_id=service_id, dedup_key__startswith="service:", dedup_key__endswith=":down")
        .exclude(state=AlertState.RESOLVED)
        .values_list("pk", flat=True)
        .first()
    )
