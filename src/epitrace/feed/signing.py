"""Signing and verifying the feed.

A batch is ``{"version", "previous", "hash", "signature", "payload"}``: ``payload`` is canonical JSON
(sorted keys, no spaces, UTF-8) whose SHA-256 is ``hash``; ``previous`` is the hash of the batch
before it (64 zeros for the first); ``signature`` is Ed25519 over the payload bytes. Changing,
dropping or reordering a batch breaks the chain or a signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from epitrace.errors import ConfigurationError, InputError
from epitrace.files import write_private_bytes

FORMAT = "epitrace-feed/1"
GENESIS = "0" * 64


def canonical(value: object) -> bytes:
    """The one byte form that is hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def generate_key(path: Path) -> str:
    """Write a new Ed25519 private key (PEM, owner-only) and return the public key (base64)."""
    if path.exists():
        raise InputError(f"{path} already exists: a signing key is never overwritten; choose another path")
    key = Ed25519PrivateKey.generate()
    # Created owner-only, not narrowed after the key is in it.
    write_private_bytes(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return public_key_text(key.public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    if not path.is_file():
        raise ConfigurationError(f"no feed signing key at {path}: create one with `epitrace feed keygen --key {path}`")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as base64 (32 raw bytes) or PEM."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError:
        raise InputError("the public key is not an Ed25519 key: give the base64 text `epitrace feed keygen` printed, or a PEM file") from None


def sign_batch(key: Ed25519PrivateKey, payload: dict, *, previous: str) -> dict:
    data = canonical(payload)
    return {"version": payload["version"], "previous": previous, "hash": hashlib.sha256(data).hexdigest(),
            "signature": base64.b64encode(key.sign(data)).decode(), "payload": payload}


@dataclass(frozen=True)
class FeedVerification:
    """The result of checking a feed document."""

    ok: bool
    batches: int
    problem: str | None
    key_source: str


def verify_feed(document: dict, *, public_key: str | None = None) -> FeedVerification:
    """Check the format, every signature and the chain; the first problem is named."""
    if document.get("format") != FORMAT:
        return FeedVerification(False, 0, f"not an epitrace feed (format {document.get('format')!r}, expected {FORMAT!r})", "none")
    key_source = "the pinned public key" if public_key else "the key inside the feed (pin the authority's key to trust it)"
    key = load_public_key(public_key or document.get("public_key", ""))
    batches = document.get("batches", [])
    previous = document.get("starts_after", GENESIS)
    for position, batch in enumerate(batches, start=1):
        data = canonical(batch.get("payload"))
        version = batch.get("version")
        if hashlib.sha256(data).hexdigest() != batch.get("hash"):
            return FeedVerification(False, position - 1, f"batch {version}: its content does not match its hash", key_source)
        if "payload_text" in batch and batch["payload_text"].encode() != data:
            return FeedVerification(False, position - 1, f"batch {version}: its signed text and its payload differ", key_source)
        if batch.get("previous") != previous:
            return FeedVerification(False, position - 1, f"batch {version}: it does not follow the batch before it "
                                                          "(a batch is missing, reordered or altered)", key_source)
        try:
            key.verify(base64.b64decode(batch.get("signature", "")), data)
        except (InvalidSignature, ValueError):
            return FeedVerification(False, position - 1, f"batch {version}: the signature does not verify", key_source)
        previous = batch["hash"]
    return FeedVerification(True, len(batches), None, key_source)
