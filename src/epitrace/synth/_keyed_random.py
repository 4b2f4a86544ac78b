"""Random draws that are a pure function of (seed, stream, keys).

The simulation itself uses ordinary seeded generators, but some answers are asked
for after the fact, one at a time and in any order: "what did the lab say about
person 17's swab on day 9?", "does this case remember the café?". Those must agree
with every earlier answer and with the rows already generated, so they are drawn by
hashing their keys instead of pulling from a stateful generator.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_UINT64_MASK = (1 << 64) - 1
# Weyl increment of splitmix64: keeps consecutive keys far apart before mixing.
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


class Stream(IntEnum):
    """One independent family of keyed draws per question that can be asked."""

    TEST_SENSITIVITY = 1
    TEST_INCONCLUSIVE = 2
    TEST_TYPE = 3
    LAB_ID = 4
    LAB_NATIONAL_ID = 5
    LAB_PHONE = 6
    LAB_TYPO = 7
    LAB_TYPO_DETAIL = 8
    SPECIMEN_ID = 9
    RECALL_VISIT = 10
    RECALL_CONTACT = 11
    CONTACT_DOB = 12
    CONTACT_PHONE = 13


def _splitmix(x: np.ndarray) -> np.ndarray:
    """Finaliser of splitmix64: a bijective, well-mixed map of uint64 arrays."""
    # Array (not scalar) arithmetic wraps modulo 2**64 silently, which is the intent.
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def keyed_bits(seed: int, stream: Stream, *keys: object) -> np.ndarray:
    """64 well-mixed bits per element of the broadcast keys (integers, any sign).

    Returns an at-least-1-d uint64 array; pass scalars to get a 1-element array.
    """
    arrays = [np.atleast_1d(np.asarray(key, dtype=np.int64)).view(np.uint64) for key in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else (1,)
    state = np.full(shape, (seed & _UINT64_MASK) ^ (int(stream) << 56), dtype=np.uint64)
    state = _splitmix(state + _GOLDEN_GAMMA)
    for array in arrays:
        state = _splitmix((state ^ array) + _GOLDEN_GAMMA)
    return state


def keyed_uniform(seed: int, stream: Stream, *keys: object) -> np.ndarray:
    """Uniform floats in [0, 1), one per element of the broadcast keys."""
    # The top 53 bits fill a double's mantissa exactly, so the result is never 1.0.
    return (keyed_bits(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * 2.0**-53
