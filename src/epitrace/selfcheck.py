"""The resident's self-check: their own trail and check-ins against the verified public feed.

Everything happens where this code runs (the resident's machine); nothing about the trail or the
check-ins is sent anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import polars as pl

from epitrace.engine import match
from epitrace.errors import InputError
from epitrace.feed import verify_feed


@dataclass(frozen=True)
class Finding:
    """One exposure, in words a resident understands."""

    place: str
    window_start: datetime
    window_end: datetime
    overlap_s: int
    what_to_do: str
    why: str


@dataclass
class SelfCheck:
    batches: int
    key_source: str
    windows: int
    findings: list[Finding] = field(default_factory=list)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def self_check(
    document: dict,
    *,
    trail: pl.DataFrame | None,
    checkins: list | None = None,  # type: ignore[type-arg]
    public_key: str | None,
    today: date,
    min_overlap_s: int = 15 * 60,
) -> SelfCheck:
    """Verify the feed, then match the trail (geo windows) and check-ins (venue windows) locally.

    A trail that yields no stays is an error, never an all-clear: nothing in it could be checked.
    """
    if trail is not None and trail.is_empty():
        raise InputError("the location history yields no stays (10 minutes or more within 100 m), so there is "
                         "nothing to check: export a history that covers the days you want to check, with its "
                         "visits or a point every few minutes")
    verification = verify_feed(document, public_key=public_key)
    if not verification.ok:
        raise InputError(f"the feed does not verify, so it is not used: {verification.problem}")
    batches = document.get("batches", [])
    advice = batches[-1]["payload"].get("advice", "") if batches else ""
    windows = [w for b in batches for w in b["payload"].get("windows", []) if date.fromisoformat(w["expires_on"]) >= today]
    result = SelfCheck(verification.batches, verification.key_source, len(windows))
    if trail is not None and windows and not trail.is_empty():
        frame = pl.DataFrame(windows).select(pl.col("id").alias("window_id"), "lat", "lon", "radius_m", "start", "end")
        labels = {w["id"]: w for w in windows}
        for row in match(trail, frame, min_overlap_s=min_overlap_s).iter_rows(named=True):
            w = labels[row["window_id"]]
            first, last = _utc(row["first_start"]), _utc(row["last_end"])
            result.findings.append(Finding(
                place=w["label"], window_start=_utc(w["start"]), window_end=_utc(w["end"]), overlap_s=row["overlap_s"],
                what_to_do=advice,
                why=(f"your location history puts you within {row['min_distance_m']:.0f} m of it from {first:%H:%M} to "
                     f"{last:%H:%M} UTC: {row['overlap_s'] // 60} minutes inside the window, at least the "
                     f"{min_overlap_s // 60} minutes that count"),
            ))
    venue_windows = [v for b in batches for v in b["payload"].get("venue_windows", [])]
    if checkins and venue_windows:
        from epitrace.checkin import PublishedWindow, match_checkins

        published = [PublishedWindow.from_dict(v) for v in venue_windows]
        for exposure in match_checkins(checkins, published, min_overlap_s=min_overlap_s):
            result.findings.append(Finding(
                place=exposure.venue_name, window_start=_utc(exposure.window_start), window_end=_utc(exposure.window_end),
                overlap_s=exposure.overlap_s, what_to_do=exposure.message or advice,
                why=exposure.reason,
            ))
    return result


def describe(result: SelfCheck) -> str:
    """The self-check in plain words."""
    lines = [f"Checked {result.windows} published exposure window(s) from {result.batches} verified batch(es) "
             f"(signatures checked against {result.key_source}). Nothing was sent anywhere."]
    if not result.findings:
        lines.append("No exposure found: your trail and check-ins do not overlap any published window.")
    for f in result.findings:
        lines.append(
            f"\nExposure at {f.place} on {f.window_start:%Y-%m-%d}, {f.window_start:%H:%M}-{f.window_end:%H:%M} UTC "
            f"({f.overlap_s // 60} minutes of overlap).\n  Why it counts: someone who later tested positive was there "
            f"then; {f.why}.\n  What to do: {f.what_to_do}"
        )
    return "\n".join(lines)
