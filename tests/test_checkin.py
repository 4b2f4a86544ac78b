"""Venue check-in: CWA / CrowdNotifier conformance vectors, the no-visitor-list round trip, the poster."""

from __future__ import annotations

import base64
import doctest
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import pytest
import segno

import epitrace.checkin as checkin
from epitrace.checkin import (
    QR_URL_PREFIX,
    CheckIn,
    CheckInProtectedReport,
    CheckInRecord,
    PublishedWindow,
    TraceLocation,
    TraceLocationType,
    _api,
    _poster,
    check_in,
    create_venue,
    crowdnotifier_keys,
    decrypt_check_in_record,
    encrypt_check_in_record,
    encryption_key,
    hour_identity,
    location_id,
    location_id_hash,
    mac_key,
    match_checkins,
    parse_qr_url,
    preid,
    publish_window,
    qr_url,
    record_for_stay,
    report_mac,
    venue_poster_pdf,
    venue_poster_svg,
)
from epitrace.checkin._protobuf import ProtobufError, decode_message, decode_varint, encode_varint
from epitrace.errors import InputError

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "exposure"
CWA_FILE = "cwa_presence_tracing_vectors.json"
CN_FILE = "crowdnotifier_v3_test_vectors.json"


def _load(name: str) -> dict[str, Any] | None:
    path = VECTORS / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


CWA = _load(CWA_FILE)
CN = _load(CN_FILE)


def _require(data: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The vectors, or a skip (a failure under CI=true) naming where they were expected."""
    if data is None:
        message = (
            f"conformance vectors {VECTORS / name} not found: lay out shared/ beside the repo (../shared/exposure/)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return data


def _cases(data: dict[str, Any] | None, key: str) -> list[Any]:
    if data is None:
        return [pytest.param(None, id=f"{key}-vectors-missing")]
    return [pytest.param(entry, id=f"{key}-{i}") for i, entry in enumerate(data[key])]


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- CWA presence tracing vectors (cwa_presence_tracing_vectors.json) -----------------------------------


@pytest.mark.parametrize("vector", _cases(CWA, "locationId_from_qr_payload"))
def test_cwa_location_id_from_qr_payload(vector: dict[str, Any] | None) -> None:
    _require(CWA, CWA_FILE)
    assert vector is not None
    if "qrCodePayload_b64" in vector:
        payload = b64(vector["qrCodePayload_b64"])
    else:
        payload = b64url(vector["qrCodePayload_b64url"])
    if "expected_locationId_b64" in vector:
        expected = b64(vector["expected_locationId_b64"])
    else:
        expected = bytes.fromhex(vector["expected_locationId_hex"])
    assert location_id(payload) == expected

    decoded = TraceLocation.from_payload(payload)
    want = vector["decoded"]
    assert decoded.description == want["description"]
    assert decoded.address == want["address"]
    assert decoded.type.name == want["type"]
    assert decoded.start_timestamp == want.get("startTimestamp")
    assert decoded.end_timestamp == want.get("endTimestamp")
    assert decoded.default_check_in_length_minutes == want.get("defaultCheckInLengthInMinutes")
    if "cryptographicSeed_b64" in want:
        assert decoded.cryptographic_seed == b64(want["cryptographicSeed_b64"])
    # Our writer is canonical: re-encoding the decoded payload gives the very same bytes.
    assert decoded.to_payload() == payload
    assert parse_qr_url(qr_url(payload)) == payload


@pytest.mark.parametrize("vector", _cases(CWA, "qr_url"))
def test_cwa_qr_url(vector: dict[str, Any] | None) -> None:
    _require(CWA, CWA_FILE)
    assert vector is not None
    given = vector["inputs"]
    location = TraceLocation(
        version=given["version"],
        description=given["description"],
        address=given["address"],
        start_timestamp=given["startTimestamp"],
        end_timestamp=given["endTimestamp"],
        type=TraceLocationType(given["type"]),
        default_check_in_length_minutes=given["defaultCheckInLengthInMinutes"],
        cryptographic_seed=b64(given["cryptographicSeed_b64"]),
        cn_public_key=b64(given["cnPublicKey_b64"]),
    )
    assert location.to_url() == vector["expected_url"]
    assert TraceLocation.from_payload(parse_qr_url(vector["expected_url"])) == location


@pytest.mark.parametrize("vector", _cases(CWA, "locationIdHash"))
def test_cwa_location_id_hash(vector: dict[str, Any] | None) -> None:
    _require(CWA, CWA_FILE)
    assert vector is not None
    assert location_id_hash(bytes.fromhex(vector["locationId_hex"])).hex() == vector["expected_hash_hex"]


def test_cwa_key_derivation() -> None:
    vector = _require(CWA, CWA_FILE)["keys"]
    lid = b64(vector["locationId_b64"])
    assert mac_key(lid) == b64(vector["expected_macKey_b64"])
    assert encryption_key(lid) == b64(vector["expected_encryptionKey_b64"])


def test_cwa_mac() -> None:
    vector = _require(CWA, CWA_FILE)["mac"]
    mac = report_mac(b64(vector["macKey_b64"]), b64(vector["iv_b64"]), b64(vector["encryptedCheckIn_b64"]))
    assert mac == b64(vector["expected_mac_b64"])


@pytest.mark.parametrize("vector", _cases(CWA, "encrypt"))
def test_cwa_encrypt_check_in(vector: dict[str, Any] | None) -> None:
    _require(CWA, CWA_FILE)
    assert vector is not None
    lid = b64(vector["locationId_b64"])
    record = record_for_stay(
        vector["start_epoch_minutes"] * 60,
        vector["end_epoch_minutes"] * 60,
        transmission_risk_level=vector["transmissionRiskLevel"],
    )
    report = encrypt_check_in_record(lid, record, iv=b64(vector["iv_b64"]))
    assert report.encrypted_check_in_record == b64(vector["expected_encryptedCheckInRecord_b64"])
    assert report.mac == b64(vector["expected_mac_b64"])
    assert report.location_id_hash == location_id_hash(lid)
    assert decrypt_check_in_record(lid, report) == record


@pytest.mark.parametrize("vector", _cases(CWA, "decrypt"))
def test_cwa_decrypt_check_in(vector: dict[str, Any] | None) -> None:
    _require(CWA, CWA_FILE)
    assert vector is not None
    lid = b64(vector["locationId_b64"])
    report = CheckInProtectedReport(
        location_id_hash=location_id_hash(lid),
        iv=b64(vector["iv_b64"]),
        encrypted_check_in_record=b64(vector["encryptedCheckInRecord_b64"]),
        mac=b64(vector["mac_b64"]),
    )
    if vector["expected"] == "MAC_MISMATCH":
        with pytest.raises(InputError) as caught:
            decrypt_check_in_record(lid, report)
        assert caught.value.message == (
            "check-in report MAC mismatch: the report was not made for this location id, or it was altered"
        )
    else:
        want = vector["expected"]
        assert decrypt_check_in_record(lid, report) == CheckInRecord(
            start_interval_number=want["startIntervalNumber"],
            period=want["period"],
            transmission_risk_level=want["transmissionRiskLevel"],
        )


# --- CrowdNotifier v3 vectors (crowdnotifier_v3_test_vectors.json) --------------------------------------


@pytest.mark.parametrize("vector", _cases(CN, "hkdfTestVectors"))
def test_crowdnotifier_hkdf(vector: dict[str, Any] | None) -> None:
    _require(CN, CN_FILE)
    assert vector is not None
    keys = crowdnotifier_keys(bytes.fromhex(vector["qrCodePayload_hex"]))
    assert keys.nonce_preid.hex() == vector["noncePreId_hex"]
    assert keys.nonce_timekey.hex() == vector["nonceTimekey_hex"]
    assert keys.notification_key.hex() == vector["notificationKey_hex"]


@pytest.mark.parametrize("vector", _cases(CN, "identityTestVectors"))
def test_crowdnotifier_identity(vector: dict[str, Any] | None) -> None:
    _require(CN, CN_FILE)
    assert vector is not None
    payload = bytes.fromhex(vector["qrCodePayload_hex"])
    start = vector["startOfInterval"]
    assert start.to_bytes(8, "big").hex() == vector["startOfIntervalBytes_hex"]
    assert preid(payload).hex() == vector["preid_hex"]
    assert hour_identity(payload, start).hex() == vector["identity_hex"]
    assert hour_identity(payload, start, interval_length=3600).hex() == vector["identity_hex"]
    assert hour_identity(payload, start + 3600).hex() != vector["identity_hex"]


def test_crowdnotifier_interval_checks() -> None:
    with pytest.raises(InputError) as caught:
        hour_identity(b"x", 1.5)  # type: ignore[arg-type]
    assert caught.value.message == "interval_start must be whole Unix seconds, got 1.5"
    with pytest.raises(InputError) as caught:
        hour_identity(b"x", 0, interval_length=0)
    assert caught.value.message == "interval_length must be whole seconds in 1..2**32-1, got 0"


# --- the no-visitor-list round trip ------------------------------------------------------------------------

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=timezone.utc)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


MESSAGE = "A person with COVID-19 was here. Please get tested within 3 days and watch for symptoms."


@pytest.fixture(scope="module")
def cafe() -> checkin.Venue:
    return create_venue("Café Lumen", "3 Harbour Street", venue_type="food_service", default_check_in_minutes=45)


@pytest.fixture(scope="module")
def bakery() -> checkin.Venue:
    return create_venue("Night Bakery", "9 Mill Lane")


def test_check_in_publish_match_finds_the_overlap(cafe: checkin.Venue) -> None:
    visit = check_in(cafe.qr_url, arrival=minutes(5), departure=minutes(60))
    window = publish_window(cafe, start=minutes(30), end=minutes(120), message=MESSAGE, transmission_risk_level=6)
    [found] = match_checkins([visit], [window])
    assert (found.venue_name, found.venue_address, found.overlap_s, found.message) == (
        "Café Lumen", "3 Harbour Street", 30 * 60, MESSAGE,
    )
    assert (found.window_start, found.window_end) == (int(minutes(30).timestamp()), int(minutes(120).timestamp()))
    assert found.transmission_risk_level == 6
    assert found.checkins == (visit,)
    assert found.reason == (
        "You checked in at Café Lumen (3 Harbour Street) and were there for 30 min during a published exposure "
        "window from 2026-03-14T12:30:00Z to 2026-03-14T14:00:00Z."
    )


def test_other_venue_or_other_time_does_not_match(cafe: checkin.Venue, bakery: checkin.Venue) -> None:
    window = publish_window(cafe, start=minutes(0), end=minutes(60), message=MESSAGE)
    elsewhere = check_in(bakery.qr_url, arrival=minutes(0), departure=minutes(60))
    later = check_in(cafe.qr_url, arrival=minutes(60), departure=minutes(120))  # touches the end, no overlap
    earlier = check_in(cafe.qr_url, arrival=minutes(-120), departure=minutes(-1))
    assert match_checkins([elsewhere, later, earlier], [window], min_overlap_s=0) == []


def test_minimum_overlap_and_merged_visits(cafe: checkin.Venue) -> None:
    window = publish_window(cafe, start=minutes(0), end=minutes(60), message=MESSAGE)
    short = check_in(cafe.qr_url, arrival=minutes(50), departure=minutes(70))
    assert match_checkins([short], [window]) == []  # 10 min < the default 15 min
    assert match_checkins([short], [window], min_overlap_s=600)[0].overlap_s == 600
    # Two overlapping check-ins count their shared time once: 12:00-12:40 and 12:20-13:00 cover 60 min.
    first = check_in(cafe.qr_url, arrival=minutes(0), departure=minutes(40))
    second = check_in(cafe.qr_url, arrival=minutes(20), departure=minutes(60))
    [found] = match_checkins([second, first], [window])
    assert found.overlap_s == 3600
    assert found.checkins == (first, second)


def test_window_widens_to_whole_ten_minute_intervals(cafe: checkin.Venue) -> None:
    window = publish_window(cafe, start=minutes(3), end=minutes(51), message=MESSAGE)
    record = decrypt_check_in_record(cafe.location_id, window.report)
    assert (record.start_s, record.end_s) == (int(minutes(0).timestamp()), int(minutes(60).timestamp()))
    assert record.transmission_risk_level == 8


def test_windows_for_several_venues_each_match_their_own(cafe: checkin.Venue, bakery: checkin.Venue) -> None:
    windows = [
        publish_window(bakery, start=minutes(0), end=minutes(30), message="bakery"),
        publish_window(cafe, start=minutes(0), end=minutes(30), message="cafe morning"),
        publish_window(cafe, start=minutes(600), end=minutes(630), message="cafe evening"),
    ]
    visit = check_in(cafe.qr_url, arrival=minutes(0), departure=minutes(30))
    assert [e.message for e in match_checkins([visit], windows)] == ["cafe morning"]


def test_published_window_holds_no_visitor_data_and_hides_the_venue(cafe: checkin.Venue) -> None:
    visit = check_in(cafe.qr_url, arrival=minutes(0), departure=minutes(45))
    window = publish_window(cafe, start=minutes(0), end=minutes(60), message=MESSAGE)
    published = window.to_dict()
    assert sorted(published) == [
        "encrypted_check_in_record", "encrypted_message", "iv", "location_id_hash", "mac", "message_nonce",
    ]
    text = json.dumps(published, ensure_ascii=False)
    raw = b"".join(base64.b64decode(v) for k, v in published.items() if k != "location_id_hash")
    fragment = cafe.qr_url.removeprefix(QR_URL_PREFIX)
    for secret in ("Café Lumen", "Lumen", "Harbour", fragment, cafe.location_id.hex(), "get tested"):
        assert secret.lower() not in text.lower()
    for secret_bytes in (b"Lumen", b"Harbour", cafe.trace_location.cryptographic_seed, cafe.location_id, b"tested"):
        assert secret_bytes not in raw
    # Nothing about the visit went into it either: the same window is published whoever visited.
    assert str(visit.arrival) not in text and str(int(minutes(0).timestamp())) not in text
    # Knowing the name and address is not enough to recognise the venue: the QR's random seed is needed.
    lookalike = create_venue(cafe.name, cafe.address, venue_type="food_service", default_check_in_minutes=45)
    assert lookalike.location_id_hash != cafe.location_id_hash
    assert match_checkins([check_in(lookalike.qr_url, arrival=minutes(0), departure=minutes(45))], [window]) == []
    # The feed round-trips through JSON and still matches on the phone.
    [found] = match_checkins([visit], [PublishedWindow.from_dict(json.loads(json.dumps(published)))])
    assert found.message == MESSAGE


def test_publish_from_the_qr_url_equals_publish_from_the_venue(cafe: checkin.Venue) -> None:
    window = publish_window(cafe.qr_url, start=minutes(0), end=minutes(60), message=MESSAGE)
    visit = check_in(cafe.qr_url, arrival=minutes(10), departure=minutes(40))
    assert match_checkins([visit], [window])[0].overlap_s == 1800
    assert checkin.Venue.from_qr_url(cafe.qr_url) == cafe


def test_tampered_windows_are_ignored(cafe: checkin.Venue) -> None:
    visit = check_in(cafe.qr_url, arrival=minutes(0), departure=minutes(60))
    window = publish_window(cafe, start=minutes(0), end=minutes(60), message=MESSAGE)
    def flip(data: bytes) -> bytes:
        return bytes([data[0] ^ 1]) + data[1:]

    flipped_mac = replace(window, report=replace(window.report, mac=flip(window.report.mac)))
    flipped_record = replace(
        window, report=replace(window.report, encrypted_check_in_record=flip(window.report.encrypted_check_in_record))
    )
    flipped_message = replace(window, encrypted_message=flip(window.encrypted_message))
    # A valid report for the same hour, but the message was encrypted for another report: refused too.
    other_report = encrypt_check_in_record(cafe.location_id, CheckInRecord(int(minutes(0).timestamp()) // 600, 6, 8))
    moved_message = replace(window, report=other_report)
    assert match_checkins([visit], [flipped_mac, flipped_record, flipped_message, moved_message]) == []
    assert len(match_checkins([visit], [flipped_mac, window])) == 1


def test_times_as_unix_seconds_and_aware_datetimes_agree(cafe: checkin.Venue) -> None:
    zone = timezone(timedelta(hours=2))
    by_datetime = check_in(cafe.qr_url, arrival=minutes(0).astimezone(zone), departure=minutes(30))
    by_seconds = check_in(cafe.qr_url, arrival=minutes(0).timestamp(), departure=int(minutes(30).timestamp()))
    assert by_datetime == by_seconds
    assert CheckIn.from_dict(json.loads(json.dumps(by_seconds.to_dict()))) == by_seconds


def test_event_venue_carries_its_times() -> None:
    event = create_venue("Spring Fair", "Town Square", start=minutes(0), end=minutes(240))
    assert event.trace_location.type is TraceLocationType.LOCATION_TYPE_TEMPORARY_OTHER
    assert event.trace_location.start_timestamp == int(minutes(0).timestamp())
    assert len(event.trace_location.cryptographic_seed) == 16
    assert TraceLocation.from_payload(parse_qr_url(event.qr_url)) == event.trace_location


# --- errors, with their exact words -------------------------------------------------------------------------

VALID = TraceLocation(description="Kiosk", address="Pier 1", cryptographic_seed=bytes(range(16)))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "a venue QR code must be a URL string, got NoneType None"),
        (
            "https://example.org/checkin#abc",
            "not a venue check-in QR code: expected a URL starting with 'https://e.coronawarn.app?v=1#', "
            "got 'https://example.org/checkin#abc'; scan the check-in poster of the venue",
        ),
        (
            QR_URL_PREFIX,
            "venue QR code URL has nothing after 'https://e.coronawarn.app?v=1#': the code is cut off; "
            "scan the poster again",
        ),
        (
            QR_URL_PREFIX + "abc+/",
            "venue QR code payload 'abc+/' is not base64url (letters, digits, '-' and '_'): "
            "the code is damaged or not a check-in code; scan the poster again",
        ),
        (
            QR_URL_PREFIX + "CAESB",
            "venue QR code payload 'CAESB' is cut off: 5 base64url characters cannot encode whole bytes; "
            "scan the poster again",
        ),
        (
            QR_URL_PREFIX + "AAAA",
            "venue QR code payload is not a valid CWA QRCodePayload (field number 0): "
            "the code is damaged or not a check-in code; scan the poster again",
        ),
        (
            QR_URL_PREFIX + "CAES",
            "venue QR code payload is not a valid CWA QRCodePayload (truncated varint): "
            "the code is damaged or not a check-in code; scan the poster again",
        ),
        (
            qr_url(replace(VALID, description="").to_payload()),
            "venue QR code payload has no venue description: ask the venue for its current poster",
        ),
        (
            qr_url(replace(VALID, cryptographic_seed=b"").to_payload()),
            "venue QR code payload has no cryptographic seed: ask the venue for its current poster",
        ),
        (
            qr_url(replace(VALID, version=2).to_payload()),
            "venue QR code payload has version 2; only version 1 is supported: ask the venue for a version 1 "
            "check-in code",
        ),
    ],
    ids=["not-text", "other-url", "empty", "bad-chars", "cut-off", "not-protobuf", "truncated", "no-name",
         "no-seed", "version-2"],
)
def test_bad_qr_codes_are_refused_with_a_clear_message(url: object, message: str) -> None:
    with pytest.raises(InputError) as caught:
        check_in(url, arrival=0, departure=60)  # type: ignore[arg-type]
    assert caught.value.message == message
    assert caught.value.status == 400


def test_valid_qr_with_padding_or_whitespace_is_accepted() -> None:
    url = qr_url(VALID.to_payload())
    padded = url + "=" * (-len(url.removeprefix(QR_URL_PREFIX)) % 4)
    assert parse_qr_url(f"  {padded}\n") == VALID.to_payload()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda v: check_in(v.qr_url, arrival=datetime(2026, 1, 1), departure=0),
            "arrival must be a timezone-aware datetime or Unix seconds, got naive datetime '2026-01-01T00:00:00': "
            "add tzinfo, for example arrival.replace(tzinfo=timezone.utc)",
        ),
        (
            lambda v: check_in(v.qr_url, arrival=600, departure=600),
            "departure must be after arrival, got arrival=1970-01-01T00:10:00Z departure=1970-01-01T00:10:00Z",
        ),
        (
            lambda v: check_in(v.qr_url, arrival=True, departure=600),
            "arrival must be a timezone-aware datetime or Unix seconds, got bool True",
        ),
        (
            lambda v: check_in(v.qr_url, arrival=-5, departure=600),
            "arrival must be at or after 1970-01-01T00:00:00Z, got -5 Unix seconds",
        ),
        (
            lambda v: publish_window(v, start=0, end=600, message=" "),
            "message must be non-empty text telling visitors what to do, got ' '",
        ),
        (
            lambda v: publish_window(v, start=0, end=600, message="x", transmission_risk_level=9),
            "transmission_risk_level must be a whole number in 1..8, got 9",
        ),
        (
            lambda v: publish_window(v, start=600, end=0, message="x"),
            "end must be after start, got start=1970-01-01T00:10:00Z end=1970-01-01T00:00:00Z",
        ),
        (
            lambda v: match_checkins([], [], min_overlap_s=-1),
            "minimum overlap must be a whole number of seconds >= 0, got -1",
        ),
        (
            lambda v: match_checkins([], [{"location_id_hash": "00"}]),
            "published_windows must contain PublishedWindow objects (use PublishedWindow.from_dict), got dict",
        ),
        (
            lambda v: PublishedWindow.from_dict({"location_id_hash": "zz"}),
            "published window field 'location_id_hash' must be 64 hex digits, got 'zz'",
        ),
        (
            lambda v: create_venue("Pop-up\nbar", "Pier 2"),
            "name must be 1-100 characters on one line, got 'Pop-up\\nbar'",
        ),
        (
            lambda v: create_venue("Fair", "Square", start=0),
            "give both start= and end= for an event, or neither for a permanent venue",
        ),
        (
            lambda v: create_venue("Fair", "Square", venue_type="cultural_event"),
            "a 'cultural_event' venue is an event: give start= and end=",
        ),
        (
            lambda v: create_venue("Shop", "Square", start=0, end=600, venue_type="retail"),
            "a 'retail' venue is permanent and has no start or end: drop start=/end= or use an event type",
        ),
        (
            lambda v: create_venue("Shop", "Square", default_check_in_minutes=0),
            "default_check_in_minutes must be a whole number in 1..1440, got 0",
        ),
    ],
    ids=["naive", "empty-stay", "bool", "negative", "no-message", "risk", "reversed", "overlap", "dict-window",
         "bad-hash", "newline", "half-event", "event-without-times", "permanent-with-times", "minutes"],
)
def test_bad_inputs_name_the_value_and_the_fix(call: Any, message: str) -> None:
    venue = create_venue("Kiosk", "Pier 1")
    with pytest.raises(InputError) as caught:
        call(venue)
    assert caught.value.message == message


def test_venue_types_cover_the_literal() -> None:
    assert set(_api._VENUE_TYPES) == set(get_args(checkin.VenueType))
    assert _api._TEMPORARY <= set(_api._VENUE_TYPES)


def test_protobuf_varints() -> None:
    for value in (0, 1, 127, 128, 300, 2**32, 2**64 - 1):
        assert decode_varint(encode_varint(value), 0) == (value, len(encode_varint(value)))
    assert encode_varint(300) == bytes([0xAC, 0x02])
    with pytest.raises(ProtobufError):
        decode_message(bytes([0x12, 0x05, 0x01]))  # claims 5 bytes, has 1
    assert decode_message(bytes([0x0D, 1, 2, 3, 4, 0x10, 0x07])) == {2: [7]}  # a fixed32 field is skipped


# --- the poster ----------------------------------------------------------------------------------------------


def test_poster_has_the_name_the_qr_code_and_the_privacy_line() -> None:
    venue = create_venue("Rosa & Tom's <Bistro>", "12 Canal Road")
    poster = venue_poster_svg(venue)
    root = ET.fromstring(poster)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "Rosa & Tom's <Bistro>" in texts and "12 Canal Road" in texts
    assert "Rosa &amp; Tom&#x27;s &lt;Bistro&gt;" in poster
    assert any(t and t.startswith("Your check-in stays on your phone.") for t in texts)
    [qr] = [el for el in root.iter(f"{ns}svg") if el.get("id") == "checkin-qr"]
    expected = segno.make(venue.qr_url, error="m", micro=False).svg_inline(border=4, omitsize=True)
    modules = ET.fromstring(expected.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    assert [p.get("d") for p in qr.iter(f"{ns}path")][-1] == [p.get("d") for p in modules.iter(f"{ns}path")][-1]


def test_poster_pdf() -> None:
    pdf = venue_poster_pdf(create_venue("Spring Fair $5 entry", "Town Square", start=0, end=7200))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_poster_needs_a_venue() -> None:
    with pytest.raises(InputError) as caught:
        venue_poster_svg("https://e.coronawarn.app?v=1#x")  # type: ignore[arg-type]
    assert caught.value.message == "venue_poster_svg needs a Venue from create_venue(), got str"


# --- the public surface -------------------------------------------------------------------------------------


def test_exported_members() -> None:
    assert checkin.__all__ == sorted(checkin.__all__)
    assert checkin.__all__ == [
        "CheckIn", "CheckInProtectedReport", "CheckInRecord", "CrowdNotifierKeys", "INTERVAL_S", "PublishedWindow",
        "QR_URL_PREFIX", "Timestamp", "TraceLocation", "TraceLocationType", "Venue", "VenueExposure", "VenueType",
        "check_in", "create_venue", "crowdnotifier_keys", "decrypt_check_in_record", "encrypt_check_in_record",
        "encryption_key", "hour_identity", "interval_number", "location_id", "location_id_hash", "mac_key",
        "match_checkins", "parse_qr_url", "preid", "publish_window", "qr_url", "record_for_stay", "report_mac",
        "time_key", "venue_poster_pdf", "venue_poster_svg",
    ]


@pytest.mark.parametrize("module", [_api, _poster], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
