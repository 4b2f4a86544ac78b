"""Venue check-in without a visitor list: create a venue, check in, publish a window, match on the phone.

Who holds what (see docs/venue-checkin.md):

- the venue operator holds the QR code (a random seed makes its location id unguessable);
- the phone stores its own check-ins, i.e. the scanned QR payload and the times, and sends them nowhere;
- the health authority, shown the QR code for an exposure window, publishes a ``PublishedWindow``:
  ``SHA-256(locationId)``, a CWA protected report holding the window's times encrypted under the
  location id, and a message encrypted under the CrowdNotifier ``notificationKey``;
- the phone finds windows whose hash matches one of its check-ins and decrypts them locally.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from epitrace.checkin._crowdnotifier import crowdnotifier_keys
from epitrace.checkin._cwa import (
    INTERVAL_S,
    CheckInProtectedReport,
    CheckInRecord,
    TraceLocation,
    TraceLocationType,
    decrypt_check_in_record,
    encrypt_check_in_record,
    location_id,
    location_id_hash,
    parse_qr_url,
    qr_url,
)
from epitrace.errors import InputError

Timestamp = datetime | int | float
"""A point in time: a timezone-aware ``datetime`` or Unix seconds."""

VenueType = Literal[
    "permanent_other",
    "temporary_other",
    "retail",
    "food_service",
    "craft",
    "workplace",
    "educational_institution",
    "public_building",
    "cultural_event",
    "club_activity",
    "private_event",
    "worship_service",
]
"""What kind of place or event a venue is; ``temporary_*`` and the events need ``start`` and ``end``."""

_VENUE_TYPES: dict[str, TraceLocationType] = {
    "permanent_other": TraceLocationType.LOCATION_TYPE_PERMANENT_OTHER,
    "temporary_other": TraceLocationType.LOCATION_TYPE_TEMPORARY_OTHER,
    "retail": TraceLocationType.LOCATION_TYPE_PERMANENT_RETAIL,
    "food_service": TraceLocationType.LOCATION_TYPE_PERMANENT_FOOD_SERVICE,
    "craft": TraceLocationType.LOCATION_TYPE_PERMANENT_CRAFT,
    "workplace": TraceLocationType.LOCATION_TYPE_PERMANENT_WORKPLACE,
    "educational_institution": TraceLocationType.LOCATION_TYPE_PERMANENT_EDUCATIONAL_INSTITUTION,
    "public_building": TraceLocationType.LOCATION_TYPE_PERMANENT_PUBLIC_BUILDING,
    "cultural_event": TraceLocationType.LOCATION_TYPE_TEMPORARY_CULTURAL_EVENT,
    "club_activity": TraceLocationType.LOCATION_TYPE_TEMPORARY_CLUB_ACTIVITY,
    "private_event": TraceLocationType.LOCATION_TYPE_TEMPORARY_PRIVATE_EVENT,
    "worship_service": TraceLocationType.LOCATION_TYPE_TEMPORARY_WORSHIP_SERVICE,
}
_TEMPORARY = {"temporary_other", "cultural_event", "club_activity", "private_event", "worship_service"}

MAX_TEXT = 100
"""CWA's limit on a venue's description and address, in characters."""
SEED_BYTES = 16
DEFAULT_MIN_OVERLAP_S = 900
"""Same default as ``engine.match``: 15 minutes."""
_MESSAGE_AAD = b"epitrace venue message v1"


def _unix_seconds(value: object, *, name: str) -> int:
    """Whole Unix seconds (floored) from an aware datetime or a number; naive datetimes are refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                f"{name} must be a timezone-aware datetime or Unix seconds, got naive datetime "
                f"{value.isoformat()!r}: add tzinfo, for example {name}.replace(tzinfo=timezone.utc)"
            )
        seconds = math.floor(value.timestamp())
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and math.isfinite(value):
        seconds = math.floor(value)
    else:
        raise InputError(
            f"{name} must be a timezone-aware datetime or Unix seconds, got {type(value).__name__} {value!r}"
        )
    if seconds < 0:
        raise InputError(f"{name} must be at or after 1970-01-01T00:00:00Z, got {seconds} Unix seconds")
    return seconds


def _iso(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _check_text(value: object, *, name: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, got {type(value).__name__} {value!r}")
    text = value.strip()
    if not 1 <= len(text) <= MAX_TEXT or "\n" in text or "\r" in text:
        raise InputError(f"{name} must be 1-{MAX_TEXT} characters on one line, got {value!r}")
    return text


@dataclass(frozen=True)
class Venue:
    """A venue or event as its operator holds it: the contents of its QR code, seed included.

    Whoever has the QR code can recognise the venue's published windows, so it lives on the
    poster at the venue and nowhere else; epitrace's server does not store it.
    """

    trace_location: TraceLocation
    payload: bytes = field(repr=False)

    @property
    def name(self) -> str:
        """The venue's name (CWA ``description``)."""
        return self.trace_location.description

    @property
    def address(self) -> str:
        """The venue's address as printed on the poster."""
        return self.trace_location.address

    @property
    def qr_url(self) -> str:
        """The check-in URL that the poster's QR code encodes."""
        return qr_url(self.payload)

    @property
    def location_id(self) -> bytes:
        """``SHA-256("CWA-GUID" || payload)``; secret to those who saw the QR code."""
        return location_id(self.payload)

    @property
    def location_id_hash(self) -> bytes:
        """The only venue identifier that is ever published."""
        return location_id_hash(self.location_id)

    @classmethod
    def from_qr_url(cls, url: str) -> Venue:
        """The venue behind a check-in URL (for the health authority, shown the poster)."""
        payload = parse_qr_url(url)
        return cls(TraceLocation.from_payload(payload), payload)


def create_venue(
    name: str,
    address: str,
    *,
    start: Timestamp | None = None,
    end: Timestamp | None = None,
    venue_type: VenueType | None = None,
    default_check_in_minutes: int | None = None,
) -> Venue:
    """Make a venue (or a one-off event, with ``start`` and ``end``) and its check-in QR code.

    Parameters
    ----------
    name, address
        Printed on the poster and shown on visitors' phones; 1-100 characters each.
    start, end
        For events: when it begins and ends (aware datetimes or Unix seconds).
    venue_type
        One of ``VenueType``; defaults to ``"temporary_other"`` for events, else ``"permanent_other"``.
    default_check_in_minutes
        How long a visit usually lasts, suggested to visitors' phones (1-1440).

    Examples
    --------
    >>> venue = create_venue("Café Lumen", "3 Harbour Street")
    >>> venue.qr_url.startswith("https://e.coronawarn.app?v=1#")
    True
    """
    name = _check_text(name, name="name")
    address = _check_text(address, name="address")
    if (start is None) != (end is None):
        raise InputError("give both start= and end= for an event, or neither for a permanent venue")
    start_s = end_s = None
    if start is not None and end is not None:
        start_s = _unix_seconds(start, name="start")
        end_s = _unix_seconds(end, name="end")
        if end_s <= start_s:
            raise InputError(f"end must be after start, got start={_iso(start_s)} end={_iso(end_s)}")
    if venue_type is None:
        venue_type = "temporary_other" if start_s is not None else "permanent_other"
    if venue_type not in _VENUE_TYPES:
        raise InputError(f"venue_type must be one of {', '.join(_VENUE_TYPES)}, got {venue_type!r}")
    if venue_type in _TEMPORARY and start_s is None:
        raise InputError(f"a {venue_type!r} venue is an event: give start= and end=")
    if venue_type not in _TEMPORARY and start_s is not None:
        raise InputError(
            f"a {venue_type!r} venue is permanent and has no start or end: drop start=/end= or use an event type"
        )
    if default_check_in_minutes is not None and (
        isinstance(default_check_in_minutes, bool)
        or not isinstance(default_check_in_minutes, int)
        or not 1 <= default_check_in_minutes <= 1440
    ):
        raise InputError(
            f"default_check_in_minutes must be a whole number in 1..1440, got {default_check_in_minutes!r}"
        )
    location = TraceLocation(
        description=name,
        address=address,
        cryptographic_seed=os.urandom(SEED_BYTES),
        type=_VENUE_TYPES[venue_type],
        start_timestamp=start_s,
        end_timestamp=end_s,
        default_check_in_length_minutes=default_check_in_minutes,
    )
    return Venue(location, location.to_payload())


@dataclass(frozen=True)
class CheckIn:
    """One visit as the visitor's phone stores it, locally; nothing here is ever uploaded."""

    payload: bytes = field(repr=False)
    venue_name: str
    venue_address: str
    arrival: int
    """Unix seconds."""
    departure: int
    """Unix seconds (exclusive)."""

    @property
    def location_id_hash(self) -> bytes:
        """What a published window for this venue carries."""
        return location_id_hash(location_id(self.payload))

    def to_dict(self) -> dict[str, object]:
        """JSON for the phone's own storage: the scanned URL and the times."""
        return {"qr_url": qr_url(self.payload), "arrival": self.arrival, "departure": self.departure}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CheckIn:
        """Load what ``to_dict`` wrote."""
        missing = [key for key in ("qr_url", "arrival", "departure") if key not in data]
        if missing:
            raise InputError(f"a stored check-in needs qr_url, arrival and departure; missing {', '.join(missing)}")
        arrival, departure = data["arrival"], data["departure"]
        return check_in(str(data["qr_url"]), arrival=arrival, departure=departure)  # type: ignore[arg-type]


def check_in(venue_qr_url: str, *, arrival: Timestamp, departure: Timestamp) -> CheckIn:
    """Record a visit from a scanned venue QR code, for the phone to keep.

    Examples
    --------
    >>> venue = create_venue("Café Lumen", "3 Harbour Street")
    >>> visit = check_in(venue.qr_url, arrival=1_767_268_800, departure=1_767_272_400)
    >>> visit.venue_name, visit.departure - visit.arrival
    ('Café Lumen', 3600)
    """
    payload = parse_qr_url(venue_qr_url)
    location = TraceLocation.from_payload(payload)
    arrival_s = _unix_seconds(arrival, name="arrival")
    departure_s = _unix_seconds(departure, name="departure")
    if departure_s <= arrival_s:
        raise InputError(
            f"departure must be after arrival, got arrival={_iso(arrival_s)} departure={_iso(departure_s)}"
        )
    return CheckIn(payload, location.description, location.address, arrival_s, departure_s)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(data: Mapping[str, object], key: str) -> bytes:
    value = data.get(key)
    if not isinstance(value, str):
        raise InputError(f"published window field {key!r} must be a base64 string, got {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"published window field {key!r} is not base64: {value!r}") from exc


@dataclass(frozen=True)
class PublishedWindow:
    """What the health authority publishes for one exposure window at one venue.

    It names no visitor and no venue: an opaque hash, the window's times encrypted under the
    location id (a CWA protected report) and a message encrypted under the notification key.
    Only a phone holding the venue's QR payload can read or even recognise it.
    """

    report: CheckInProtectedReport
    message_nonce: bytes
    encrypted_message: bytes

    def to_dict(self) -> dict[str, str]:
        """JSON for the published feed."""
        return {
            "location_id_hash": self.report.location_id_hash.hex(),
            "iv": _b64(self.report.iv),
            "encrypted_check_in_record": _b64(self.report.encrypted_check_in_record),
            "mac": _b64(self.report.mac),
            "message_nonce": _b64(self.message_nonce),
            "encrypted_message": _b64(self.encrypted_message),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PublishedWindow:
        """Read one entry of the published feed."""
        raw_hash = data.get("location_id_hash")
        try:
            hash_bytes = bytes.fromhex(raw_hash) if isinstance(raw_hash, str) else b""
        except ValueError:
            hash_bytes = b""
        if len(hash_bytes) != 32:
            raise InputError(f"published window field 'location_id_hash' must be 64 hex digits, got {raw_hash!r}")
        report = CheckInProtectedReport(
            location_id_hash=hash_bytes,
            iv=_unb64(data, "iv"),
            encrypted_check_in_record=_unb64(data, "encrypted_check_in_record"),
            mac=_unb64(data, "mac"),
        )
        return cls(report, _unb64(data, "message_nonce"), _unb64(data, "encrypted_message"))


def _message_aad(report: CheckInProtectedReport) -> bytes:
    # Binds the message to its report, so it cannot be moved onto another window.
    return _MESSAGE_AAD + report.location_id_hash + report.iv + report.encrypted_check_in_record


def publish_window(
    venue: Venue | str,
    *,
    start: Timestamp,
    end: Timestamp,
    message: str,
    transmission_risk_level: int = 8,
) -> PublishedWindow:
    """Encrypt an exposure window at a venue for the public feed, from the venue's QR code.

    The window is widened to whole 10-minute intervals (start rounded down, end rounded up),
    the granularity of a CWA check-in record.

    Parameters
    ----------
    venue
        The ``Venue`` or its check-in URL, as shown to the health authority by the operator.
    start, end
        The exposure window (aware datetimes or Unix seconds).
    message
        What visitors' phones show when they match, e.g. what to do next.
    transmission_risk_level
        CWA's transmission risk level of the window, 1-8.

    Examples
    --------
    >>> venue = create_venue("Café Lumen", "3 Harbour Street")
    >>> window = publish_window(venue, start=1_767_268_800, end=1_767_276_000, message="Get tested.")
    >>> "Lumen" in str(window.to_dict())
    False
    """
    if isinstance(venue, Venue):
        payload = venue.payload
    else:
        payload = parse_qr_url(venue)
        TraceLocation.from_payload(payload)
    start_s = _unix_seconds(start, name="start")
    end_s = _unix_seconds(end, name="end")
    if end_s <= start_s:
        raise InputError(f"end must be after start, got start={_iso(start_s)} end={_iso(end_s)}")
    if not isinstance(message, str) or not message.strip():
        raise InputError(f"message must be non-empty text telling visitors what to do, got {message!r}")
    if (
        isinstance(transmission_risk_level, bool)
        or not isinstance(transmission_risk_level, int)
        or not 1 <= transmission_risk_level <= 8
    ):
        raise InputError(f"transmission_risk_level must be a whole number in 1..8, got {transmission_risk_level!r}")
    first = start_s // INTERVAL_S
    last = -(-end_s // INTERVAL_S)
    record = CheckInRecord(first, last - first, transmission_risk_level)
    report = encrypt_check_in_record(location_id(payload), record)
    nonce = os.urandom(12)
    key = crowdnotifier_keys(payload).notification_key
    ciphertext = AESGCM(key).encrypt(nonce, message.encode("utf-8"), _message_aad(report))
    return PublishedWindow(report, nonce, ciphertext)


@dataclass(frozen=True)
class VenueExposure:
    """A published window that the phone's own check-ins overlapped, with the reason in full."""

    venue_name: str
    venue_address: str
    window_start: int
    """Unix seconds, after widening to 10-minute intervals."""
    window_end: int
    """Unix seconds (exclusive)."""
    overlap_s: int
    """Seconds of the visits inside the window, overlapping visits counted once."""
    message: str
    """The health authority's message, decrypted on the phone."""
    transmission_risk_level: int
    checkins: tuple[CheckIn, ...]
    """The visits that overlapped the window."""
    window: PublishedWindow = field(repr=False)

    @property
    def reason(self) -> str:
        """Why this is an exposure, in one sentence."""
        minutes = self.overlap_s // 60
        return (
            f"You checked in at {self.venue_name} ({self.venue_address}) and were there for {minutes} min "
            f"during a published exposure window from {_iso(self.window_start)} to {_iso(self.window_end)}."
        )


def _union_overlap(intervals: Iterable[tuple[int, int]], start: int, end: int) -> int:
    """Seconds of ``[start, end)`` covered by the union of the intervals."""
    total, covered_to = 0, start
    for a, b in sorted(intervals):
        a, b = max(a, covered_to), min(b, end)
        if a < b:
            total += b - a
            covered_to = b
    return total


def match_checkins(
    checkins: Iterable[CheckIn],
    published_windows: Iterable[PublishedWindow],
    *,
    min_overlap_s: int = DEFAULT_MIN_OVERLAP_S,
) -> list[VenueExposure]:
    """The published windows that this phone's check-ins overlap, found and decrypted on the phone.

    A window counts when the visits to its venue (overlapping visits merged) cover at least
    ``min_overlap_s`` seconds of it, and more than zero. Entries whose MAC or message does not
    verify under the venue's keys are ignored: they were not made from that venue's QR code.

    Examples
    --------
    >>> venue = create_venue("Café Lumen", "3 Harbour Street")
    >>> visit = check_in(venue.qr_url, arrival=1_767_268_800, departure=1_767_272_400)
    >>> window = publish_window(venue, start=1_767_270_000, end=1_767_276_000, message="Get tested.")
    >>> [(e.venue_name, e.overlap_s, e.message) for e in match_checkins([visit], [window])]
    [('Café Lumen', 2400, 'Get tested.')]
    """
    if isinstance(min_overlap_s, bool) or not isinstance(min_overlap_s, int) or min_overlap_s < 0:
        raise InputError(f"minimum overlap must be a whole number of seconds >= 0, got {min_overlap_s!r}")
    by_hash: dict[bytes, list[CheckIn]] = {}
    ids: dict[bytes, bytes] = {}
    for visit in checkins:
        if not isinstance(visit, CheckIn):
            raise InputError(
                f"checkins must contain CheckIn objects (use CheckIn.from_dict), got {type(visit).__name__}"
            )
        lid = location_id(visit.payload)
        lid_hash = location_id_hash(lid)
        ids[lid_hash] = lid
        by_hash.setdefault(lid_hash, []).append(visit)
    found: list[VenueExposure] = []
    for window in published_windows:
        if not isinstance(window, PublishedWindow):
            raise InputError(
                f"published_windows must contain PublishedWindow objects (use PublishedWindow.from_dict), "
                f"got {type(window).__name__}"
            )
        visits = by_hash.get(window.report.location_id_hash)
        if not visits:
            continue
        try:
            record = decrypt_check_in_record(ids[window.report.location_id_hash], window.report)
        except InputError:
            continue
        start, end = record.start_s, record.end_s
        overlapping = [v for v in visits if v.arrival < end and v.departure > start]
        overlap = _union_overlap(((v.arrival, v.departure) for v in overlapping), start, end)
        if overlap <= 0 or overlap < min_overlap_s:
            continue
        key = crowdnotifier_keys(visits[0].payload).notification_key
        try:
            message = AESGCM(key).decrypt(window.message_nonce, window.encrypted_message, _message_aad(window.report))
        except (InvalidTag, ValueError):
            continue
        found.append(
            VenueExposure(
                venue_name=visits[0].venue_name,
                venue_address=visits[0].venue_address,
                window_start=start,
                window_end=end,
                overlap_s=overlap,
                message=message.decode("utf-8", errors="replace"),
                transmission_risk_level=record.transmission_risk_level,
                checkins=tuple(sorted(overlapping, key=lambda v: (v.arrival, v.departure))),
                window=window,
            )
        )
    found.sort(key=lambda e: (e.window_start, e.window_end, e.venue_name))
    return found
