"""The public exposure feed: append-only batches, each hash-chained to the one before and signed (Ed25519)."""

from epitrace.feed.signing import (
    FeedVerification,
    canonical,
    generate_key,
    load_private_key,
    load_public_key,
    verify_feed,
)

__all__ = ["FeedVerification", "canonical", "generate_key", "load_private_key", "load_public_key", "verify_feed"]
