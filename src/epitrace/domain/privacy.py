"""Privacy rules for aggregates that leave the system."""

from __future__ import annotations

DEFAULT_SMALL_COUNT = 5


def suppress_small(count: int, *, threshold: int = DEFAULT_SMALL_COUNT) -> int | str:
    """The count, or ``"<threshold"`` when it is positive and below the threshold.

    Zero is shown: it identifies nobody.

    Examples
    --------
    >>> suppress_small(3), suppress_small(0), suppress_small(12)
    ('<5', 0, 12)
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    return f"<{threshold}" if 0 < count < threshold else count
