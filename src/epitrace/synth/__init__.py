"""Seeded synthetic city and outbreak with ground truth, for demos and tests.

``generate(SynthConfig(...))`` builds a city of households, workplaces, school
classes and venues, moves every resident through it minute by minute, lets an
infection spread by co-presence, and reports what a surveillance system would see
(lab reports) alongside the truth (who infected whom, where and when). Interviews
and test results can be asked for afterwards and always agree with the truth.
Nothing here touches files or databases.

Examples
--------
>>> from epitrace.synth import SynthConfig, generate
>>> outbreak = generate(SynthConfig(people=1_000, days=7, seed=2))
>>> outbreak.people.height
1000
>>> set(outbreak.infections["setting"]) <= {"household", "school", "seed", "venue", "work"}
True
"""

from epitrace.synth._config import SynthConfig
from epitrace.synth._interview import Interview, RecalledContact, RecalledVisit
from epitrace.synth._mobility import PresenceArrays
from epitrace.synth._outbreak import Outbreak, generate

__all__ = [
    "Interview",
    "Outbreak",
    "PresenceArrays",
    "RecalledContact",
    "RecalledVisit",
    "SynthConfig",
    "generate",
]
