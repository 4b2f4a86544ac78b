"""CrowdNotifier v3 identities and keys derived from a QR code payload.

As in libcrowdnotifier ``lib/src/v3`` and the techspec ("Computing Identities and Keys")::

    noncePreId || nonceTimekey || notificationKey = HKDF-SHA256(ikm=payload, salt="", info="CrowdNotifier_v3", L=96)
    preid    = SHA-256("CN-PREID" || payload || noncePreId)
    timekey  = SHA-256("CN-TIMEKEY" || uint32_be(intervalLength) || int64_be(intervalStart) || nonceTimekey)
    identity = SHA-256("CN-ID" || preid || uint32_be(intervalLength) || int64_be(intervalStart) || timekey)

Only the symmetric part is here. CrowdNotifier's pairing-based identity encryption of the
per-hour keys is not implemented; epitrace publishes CWA protected reports instead and uses
``notificationKey`` to encrypt the health authority's message to visitors.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from epitrace.errors import InputError

HKDF_INFO = b"CrowdNotifier_v3"
HOUR_S = 3600


@dataclass(frozen=True)
class CrowdNotifierKeys:
    """The three 32-byte values HKDF derives from a QR code payload."""

    nonce_preid: bytes
    nonce_timekey: bytes
    notification_key: bytes


def crowdnotifier_keys(payload: bytes) -> CrowdNotifierKeys:
    """``HKDF-SHA256(payload, salt="", info="CrowdNotifier_v3", 96 bytes)`` split in three."""
    okm = HKDF(algorithm=hashes.SHA256(), length=96, salt=b"", info=HKDF_INFO).derive(payload)
    return CrowdNotifierKeys(nonce_preid=okm[:32], nonce_timekey=okm[32:64], notification_key=okm[64:])


def preid(payload: bytes) -> bytes:
    """The location's pre-identity, from which every hour identity is derived."""
    return hashlib.sha256(b"CN-PREID" + payload + crowdnotifier_keys(payload).nonce_preid).digest()


def _interval_bytes(interval_start: int, interval_length: int) -> bytes:
    if isinstance(interval_start, bool) or not isinstance(interval_start, int):
        raise InputError(f"interval_start must be whole Unix seconds, got {interval_start!r}")
    if isinstance(interval_length, bool) or not isinstance(interval_length, int) or not 0 < interval_length < 2**32:
        raise InputError(f"interval_length must be whole seconds in 1..2**32-1, got {interval_length!r}")
    return struct.pack(">I", interval_length) + struct.pack(">q", interval_start)


def time_key(payload: bytes, interval_start: int, *, interval_length: int = HOUR_S) -> bytes:
    """The per-interval key: ``SHA-256("CN-TIMEKEY" || length || start || nonceTimekey)``."""
    interval = _interval_bytes(interval_start, interval_length)
    return hashlib.sha256(b"CN-TIMEKEY" + interval + crowdnotifier_keys(payload).nonce_timekey).digest()


def hour_identity(payload: bytes, interval_start: int, *, interval_length: int = HOUR_S) -> bytes:
    """The location's identity for one interval (an hour by default) starting at ``interval_start``."""
    interval = _interval_bytes(interval_start, interval_length)
    keys = crowdnotifier_keys(payload)
    pre = hashlib.sha256(b"CN-PREID" + payload + keys.nonce_preid).digest()
    timekey = hashlib.sha256(b"CN-TIMEKEY" + interval + keys.nonce_timekey).digest()
    return hashlib.sha256(b"CN-ID" + pre + interval + timekey).digest()
