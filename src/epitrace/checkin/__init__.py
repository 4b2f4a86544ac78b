"""Venue check-in without a visitor list: CWA presence tracing and CrowdNotifier v3 primitives.

High level: ``create_venue`` (operator, with ``venue_poster_svg``/``venue_poster_pdf``), ``check_in``
(phone, stored locally), ``publish_window`` (health authority, from the venue's QR code) and
``match_checkins`` (phone, against the published feed). Low level: the CWA QR payload, location id,
protected-report encryption and the CrowdNotifier v3 key derivations, byte for byte as the
conformance vectors in ``shared/exposure/`` specify. See docs/venue-checkin.md.
"""

from epitrace.checkin._api import (
    CheckIn,
    PublishedWindow,
    Timestamp,
    Venue,
    VenueExposure,
    VenueType,
    check_in,
    create_venue,
    match_checkins,
    publish_window,
)
from epitrace.checkin._crowdnotifier import (
    CrowdNotifierKeys,
    crowdnotifier_keys,
    hour_identity,
    preid,
    time_key,
)
from epitrace.checkin._cwa import (
    INTERVAL_S,
    QR_URL_PREFIX,
    CheckInProtectedReport,
    CheckInRecord,
    TraceLocation,
    TraceLocationType,
    decrypt_check_in_record,
    encrypt_check_in_record,
    encryption_key,
    interval_number,
    location_id,
    location_id_hash,
    mac_key,
    parse_qr_url,
    qr_url,
    record_for_stay,
    report_mac,
)
from epitrace.checkin._poster import venue_poster_pdf, venue_poster_svg

__all__ = [
    "CheckIn",
    "CheckInProtectedReport",
    "CheckInRecord",
    "CrowdNotifierKeys",
    "INTERVAL_S",
    "PublishedWindow",
    "QR_URL_PREFIX",
    "Timestamp",
    "TraceLocation",
    "TraceLocationType",
    "Venue",
    "VenueExposure",
    "VenueType",
    "check_in",
    "create_venue",
    "crowdnotifier_keys",
    "decrypt_check_in_record",
    "encrypt_check_in_record",
    "encryption_key",
    "hour_identity",
    "interval_number",
    "location_id",
    "location_id_hash",
    "mac_key",
    "match_checkins",
    "parse_qr_url",
    "preid",
    "publish_window",
    "qr_url",
    "record_for_stay",
    "report_mac",
    "time_key",
    "venue_poster_pdf",
    "venue_poster_svg",
]
