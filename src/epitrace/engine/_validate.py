"""Checks shared by every matcher."""

from __future__ import annotations

from epitrace.errors import InputError


def check_min_overlap(min_overlap_s: int) -> None:
    if isinstance(min_overlap_s, bool) or not isinstance(min_overlap_s, int) or min_overlap_s < 0:
        raise InputError(f"minimum overlap must be a whole number of seconds >= 0, got {min_overlap_s!r}")


def check_same_mode(presence_mode: str, window_mode: str) -> None:
    if presence_mode != window_mode:
        raise InputError(
            f"the windows are {window_mode} windows but the presences are {presence_mode} presences: "
            "match geo presences (lat, lon) with geo windows, or venue presences (venue_id) with venue windows"
        )
