"""Redaction before an exposure window is published: what may leave the system, and what changed.

Rules (every change is reported in words, for the approving supervisor):
- Homes (residential places) are never published.
- Times are rounded outward to 15 minutes (earlier start, later end), so the window still covers
  the exposure but no longer gives a case's exact movements.
- A place is published as a point with a radius of at least 50 m (never an address).
- A window where the case was the only possible source is flagged: publishing it may identify them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

ROUND_S = 15 * 60
MIN_RADIUS_M = 50.0


@dataclass(frozen=True)
class PlaceFacts:
    """What is known about the window's place."""

    name: str
    kind: str
    is_residential: bool
    lat: float | None
    lon: float | None
    radius_m: float


@dataclass(frozen=True)
class Redaction:
    """The outcome: publishable or not, the public fields, and what was done and why."""

    publishable: bool
    start: datetime | None = None
    end: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    label: str | None = None
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None


def _round_down(moment: datetime) -> datetime:
    seconds = int(moment.replace(tzinfo=timezone.utc).timestamp())
    return datetime.fromtimestamp(seconds - seconds % ROUND_S, timezone.utc)


def _round_up(moment: datetime) -> datetime:
    seconds = int(moment.replace(tzinfo=timezone.utc).timestamp())
    return datetime.fromtimestamp(math.ceil(seconds / ROUND_S) * ROUND_S, timezone.utc)


def redact(place: PlaceFacts, *, start: datetime, end: datetime, other_cases_present: int) -> Redaction:
    """Apply the publication rules to one window (times naive UTC or aware).

    Examples
    --------
    >>> cafe = PlaceFacts("Blue Door Café", "venue", False, 52.37, 4.89, 20.0)
    >>> r = redact(cafe, start=datetime(2026, 3, 9, 18, 7), end=datetime(2026, 3, 9, 19, 50), other_cases_present=2)
    >>> r.start.strftime("%H:%M"), r.end.strftime("%H:%M"), r.radius_m
    ('18:00', '20:00', 50.0)
    >>> redact(PlaceFacts("Home", "home", True, 52.3, 4.8, 10.0), start=datetime(2026, 3, 9), end=datetime(2026, 3, 10),
    ...        other_cases_present=0).refusal
    'homes are never published'
    """
    if place.is_residential:
        return Redaction(False, refusal="homes are never published")
    if place.lat is None or place.lon is None:
        return Redaction(False, refusal=f"{place.name} has no coordinates: add them to the visit (or use venue check-in)")
    changes: list[str] = []
    public_start, public_end = _round_down(start), _round_up(end)
    if public_start.replace(tzinfo=None) != start.replace(tzinfo=None) or public_end.replace(tzinfo=None) != end.replace(tzinfo=None):
        changes.append(f"times rounded outward to 15 minutes: {start:%H:%M}-{end:%H:%M} became "
                       f"{public_start:%H:%M}-{public_end:%H:%M} UTC")
    radius = max(place.radius_m, MIN_RADIUS_M)
    if radius != place.radius_m:
        changes.append(f"radius widened from {place.radius_m:g} m to {radius:g} m (at least {MIN_RADIUS_M:g} m)")
    label = place.name if place.kind == "venue" else f"a {place.kind} place"
    if label != place.name:
        changes.append(f"place named as '{label}' instead of its name (only venues are named)")
    warnings = []
    if other_cases_present == 0:
        warnings.append("only one case was at this place and time: people who know who was there could identify them")
    if public_end - public_start < timedelta(minutes=15):
        warnings.append("a window this short narrows down who the case is")
    return Redaction(True, public_start, public_end, place.lat, place.lon, radius, label, changes, warnings)
