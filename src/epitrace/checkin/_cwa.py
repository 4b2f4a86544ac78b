"""Corona-Warn-App presence tracing ("event registration"): QR payload, location id, protected reports.

Byte-for-byte the scheme of cwa-app-android (``TraceLocation.kt``, ``CheckInCryptography.kt``) and
its tests, as transcribed in ``shared/exposure/cwa_presence_tracing_vectors.json``::

    QRCodePayload   {1 version, 2 TraceLocation, 3 CrowdNotifierData, 4 vendorData = CWALocationData}
    TraceLocation   {1 version, 2 description, 3 address, 5 startTimestamp, 6 endTimestamp}
    CrowdNotifierData {1 version, 2 publicKey, 3 cryptographicSeed, 4 type}
    CWALocationData {1 version, 2 type, 3 defaultCheckInLengthInMinutes}
    CheckInRecord   {1 startIntervalNumber, 2 period, 3 transmissionRiskLevel}

    url            = "https://e.coronawarn.app?v=1#" + base64url_nopad(QRCodePayload)
    locationId     = SHA-256("CWA-GUID" || QRCodePayload)
    locationIdHash = SHA-256(locationId)
    encryptionKey  = SHA-256("CWA-ENCRYPTION-KEY" || locationId)    AES-256-CBC, PKCS#7
    macKey         = SHA-256("CWA-MAC-KEY" || locationId)           mac = HMAC-SHA256(iv || ciphertext)

Times in the QR payload are Unix seconds; a check-in record counts 10-minute intervals since the epoch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from epitrace.checkin._protobuf import (
    ProtobufError,
    decode_message,
    encode_message,
    get_bytes,
    get_int,
    get_str,
)
from epitrace.errors import InputError

QR_URL_PREFIX = "https://e.coronawarn.app?v=1#"
INTERVAL_S = 600
"""Length of one CWA interval (the GAEN ENIntervalNumber unit): 10 minutes."""

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class TraceLocationType(IntEnum):
    """The kind of place or event (CWA ``TraceLocationType``)."""

    LOCATION_TYPE_UNSPECIFIED = 0
    LOCATION_TYPE_PERMANENT_OTHER = 1
    LOCATION_TYPE_TEMPORARY_OTHER = 2
    LOCATION_TYPE_PERMANENT_RETAIL = 3
    LOCATION_TYPE_PERMANENT_FOOD_SERVICE = 4
    LOCATION_TYPE_PERMANENT_CRAFT = 5
    LOCATION_TYPE_PERMANENT_WORKPLACE = 6
    LOCATION_TYPE_PERMANENT_EDUCATIONAL_INSTITUTION = 7
    LOCATION_TYPE_PERMANENT_PUBLIC_BUILDING = 8
    LOCATION_TYPE_TEMPORARY_CULTURAL_EVENT = 9
    LOCATION_TYPE_TEMPORARY_CLUB_ACTIVITY = 10
    LOCATION_TYPE_TEMPORARY_PRIVATE_EVENT = 11
    LOCATION_TYPE_TEMPORARY_WORSHIP_SERVICE = 12


@dataclass(frozen=True)
class TraceLocation:
    """Everything a venue's QR code carries (the decoded ``QRCodePayload``).

    The random ``cryptographic_seed`` is what makes the location id unguessable from the name and
    address; ``cn_public_key`` is the CrowdNotifier master public key field, kept as given.
    """

    description: str
    address: str
    cryptographic_seed: bytes
    type: TraceLocationType = TraceLocationType.LOCATION_TYPE_PERMANENT_OTHER
    start_timestamp: int | None = None
    end_timestamp: int | None = None
    default_check_in_length_minutes: int | None = None
    cn_public_key: bytes = b""
    version: int = 1

    def to_payload(self) -> bytes:
        """The canonical ``QRCodePayload`` bytes."""
        location = encode_message([
            (1, self.version),
            (2, self.description.encode("utf-8")),
            (3, self.address.encode("utf-8")),
            (5, self.start_timestamp),
            (6, self.end_timestamp),
        ])
        crowd_notifier = encode_message([(1, self.version), (2, self.cn_public_key), (3, self.cryptographic_seed)])
        vendor = encode_message([(1, self.version), (2, int(self.type)), (3, self.default_check_in_length_minutes)])
        return encode_message([(1, self.version), (2, location), (3, crowd_notifier), (4, vendor)])

    def to_url(self) -> str:
        """The check-in URL printed as the QR code."""
        return qr_url(self.to_payload())

    @classmethod
    def from_payload(cls, payload: bytes) -> TraceLocation:
        """Decode ``QRCodePayload`` bytes; raises ``InputError`` naming what is wrong."""
        try:
            top = decode_message(payload)
            version = get_int(top, 1, name="version")
            location = decode_message(get_bytes(top, 2, name="locationData"))
            crowd_notifier = decode_message(get_bytes(top, 3, name="crowdNotifierData"))
            vendor = decode_message(get_bytes(top, 4, name="vendorData"))
            description = get_str(location, 2, name="description")
            address = get_str(location, 3, name="address")
            start = get_int(location, 5, name="startTimestamp") or None
            end = get_int(location, 6, name="endTimestamp") or None
            public_key = get_bytes(crowd_notifier, 2, name="publicKey")
            seed = get_bytes(crowd_notifier, 3, name="cryptographicSeed")
            type_number = get_int(vendor, 2, name="type")
            default_minutes = get_int(vendor, 3, name="defaultCheckInLengthInMinutes") or None
        except ProtobufError as exc:
            raise InputError(
                f"venue QR code payload is not a valid CWA QRCodePayload ({exc}): "
                "the code is damaged or not a check-in code; scan the poster again"
            ) from exc
        if version != 1:
            raise InputError(
                f"venue QR code payload has version {version}; only version 1 is supported: "
                "ask the venue for a version 1 check-in code"
            )
        if not description.strip():
            raise InputError("venue QR code payload has no venue description: ask the venue for its current poster")
        if not seed:
            raise InputError("venue QR code payload has no cryptographic seed: ask the venue for its current poster")
        try:
            location_type = TraceLocationType(type_number)
        except ValueError:
            location_type = TraceLocationType.LOCATION_TYPE_UNSPECIFIED
        return cls(
            description=description,
            address=address,
            cryptographic_seed=seed,
            type=location_type,
            start_timestamp=start,
            end_timestamp=end,
            default_check_in_length_minutes=default_minutes,
            cn_public_key=public_key,
            version=version,
        )


def qr_url(payload: bytes) -> str:
    """``https://e.coronawarn.app?v=1#`` followed by the payload in unpadded base64url."""
    return QR_URL_PREFIX + base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_qr_url(url: object) -> bytes:
    """The ``QRCodePayload`` bytes of a check-in URL, exactly as scanned (they define the location id)."""
    if not isinstance(url, str):
        raise InputError(f"a venue QR code must be a URL string, got {type(url).__name__} {url!r}")
    text = url.strip()
    if not text.startswith(QR_URL_PREFIX):
        raise InputError(
            f"not a venue check-in QR code: expected a URL starting with {QR_URL_PREFIX!r}, "
            f"got {_shorten(text)!r}; scan the check-in poster of the venue"
        )
    fragment = text[len(QR_URL_PREFIX) :]
    if not fragment:
        raise InputError(
            f"venue QR code URL has nothing after {QR_URL_PREFIX!r}: the code is cut off; scan the poster again"
        )
    if not _BASE64URL.fullmatch(fragment):
        raise InputError(
            f"venue QR code payload {_shorten(fragment)!r} is not base64url (letters, digits, '-' and '_'): "
            "the code is damaged or not a check-in code; scan the poster again"
        )
    body = fragment.rstrip("=")
    if len(body) % 4 == 1:
        raise InputError(
            f"venue QR code payload {_shorten(fragment)!r} is cut off: {len(body)} base64url characters "
            "cannot encode whole bytes; scan the poster again"
        )
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern above already rules this out
        raise InputError(f"venue QR code payload {_shorten(fragment)!r} is not base64url: {exc}") from exc


def location_id(payload: bytes) -> bytes:
    """``SHA-256("CWA-GUID" || QRCodePayload)``: known only to whoever has seen the QR code."""
    return hashlib.sha256(b"CWA-GUID" + payload).digest()


def location_id_hash(location_id: bytes) -> bytes:
    """``SHA-256(locationId)``: the only venue identifier that is ever published."""
    return hashlib.sha256(location_id).digest()


def encryption_key(location_id: bytes) -> bytes:
    """The AES-256 key of a location's protected reports."""
    return hashlib.sha256(b"CWA-ENCRYPTION-KEY" + location_id).digest()


def mac_key(location_id: bytes) -> bytes:
    """The HMAC-SHA256 key of a location's protected reports."""
    return hashlib.sha256(b"CWA-MAC-KEY" + location_id).digest()


def report_mac(mac_key: bytes, iv: bytes, encrypted_check_in_record: bytes) -> bytes:
    """``HMAC-SHA256(macKey, iv || encryptedCheckInRecord)``."""
    return hmac.new(mac_key, iv + encrypted_check_in_record, hashlib.sha256).digest()


def interval_number(unix_s: int) -> int:
    """The 10-minute interval containing a Unix time (floor)."""
    return unix_s // INTERVAL_S


@dataclass(frozen=True)
class CheckInRecord:
    """The plaintext of a protected report: when, in 10-minute intervals, and how risky."""

    start_interval_number: int
    period: int
    transmission_risk_level: int

    def to_bytes(self) -> bytes:
        """The ``CheckInRecord`` protobuf."""
        return encode_message([(1, self.start_interval_number), (2, self.period), (3, self.transmission_risk_level)])

    @classmethod
    def from_bytes(cls, data: bytes) -> CheckInRecord:
        """Decode a ``CheckInRecord`` protobuf."""
        try:
            fields = decode_message(data)
            return cls(
                start_interval_number=get_int(fields, 1, name="startIntervalNumber"),
                period=get_int(fields, 2, name="period"),
                transmission_risk_level=get_int(fields, 3, name="transmissionRiskLevel"),
            )
        except ProtobufError as exc:
            raise InputError(f"decrypted check-in record is not a valid CheckInRecord: {exc}") from exc

    @property
    def start_s(self) -> int:
        """Start as Unix seconds."""
        return self.start_interval_number * INTERVAL_S

    @property
    def end_s(self) -> int:
        """End (exclusive) as Unix seconds."""
        return (self.start_interval_number + self.period) * INTERVAL_S


@dataclass(frozen=True)
class CheckInProtectedReport:
    """A check-in record readable and verifiable only with the location id (CWA ``CheckInProtectedReport``)."""

    location_id_hash: bytes
    iv: bytes
    encrypted_check_in_record: bytes
    mac: bytes


def record_for_stay(start_s: int, end_s: int, *, transmission_risk_level: int) -> CheckInRecord:
    """The record CWA builds for a stay: both ends floored to their interval, ``period`` their difference."""
    start = interval_number(start_s)
    return CheckInRecord(start, interval_number(end_s) - start, transmission_risk_level)


def encrypt_check_in_record(
    location_id: bytes, record: CheckInRecord, *, iv: bytes | None = None
) -> CheckInProtectedReport:
    """Encrypt and MAC a record for a location; ``iv`` is random unless given (tests only)."""
    iv = os.urandom(16) if iv is None else iv
    if len(iv) != 16:
        raise InputError(f"the AES-CBC iv must be 16 bytes, got {len(iv)}")
    padder = padding.PKCS7(128).padder()
    plaintext = padder.update(record.to_bytes()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(encryption_key(location_id)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return CheckInProtectedReport(
        location_id_hash=location_id_hash(location_id),
        iv=iv,
        encrypted_check_in_record=ciphertext,
        mac=report_mac(mac_key(location_id), iv, ciphertext),
    )


MAC_MISMATCH = "check-in report MAC mismatch: the report was not made for this location id, or it was altered"


def decrypt_check_in_record(location_id: bytes, report: CheckInProtectedReport) -> CheckInRecord:
    """Verify the MAC (constant time) and decrypt; raises ``InputError`` on any mismatch."""
    expected = report_mac(mac_key(location_id), report.iv, report.encrypted_check_in_record)
    if not hmac.compare_digest(expected, report.mac):
        raise InputError(MAC_MISMATCH)
    ciphertext = report.encrypted_check_in_record
    if len(report.iv) != 16 or not ciphertext or len(ciphertext) % 16:
        raise InputError("check-in report has a malformed iv or ciphertext (expected a 16-byte iv and 16-byte blocks)")
    decryptor = Cipher(algorithms.AES(encryption_key(location_id)), modes.CBC(report.iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise InputError("check-in report has invalid PKCS#7 padding after decryption") from exc
    return CheckInRecord.from_bytes(plaintext)
