"""How sure a proposed transmission link is.

Measured on the synthetic city (issue 2): a single-source, well-timed link from a household contact
was right about two times in three; from school or work about one in three, because classmates and
colleagues often share an unseen source. So only close, sustained settings make a link probable.
"""

from __future__ import annotations

from epitrace.domain.statuses import LinkCertainty

CLOSE_SETTINGS = frozenset({"household", "partner", "care home", "residential care"})


def link_certainty(*, setting: str, single_source: bool, plausible_timing: bool) -> LinkCertainty:
    """``probable`` for one named source in a close setting with fitting timing, else ``possible``.

    Only a person makes a link ``confirmed``.

    Examples
    --------
    >>> link_certainty(setting="household", single_source=True, plausible_timing=True).value
    'probable'
    >>> link_certainty(setting="school", single_source=True, plausible_timing=True).value
    'possible'
    """
    close = setting.strip().lower() in CLOSE_SETTINGS
    return LinkCertainty.PROBABLE if close and single_source and plausible_timing else LinkCertainty.POSSIBLE
