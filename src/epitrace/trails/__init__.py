"""A resident's own location history as presences, read on their own device.

``read_trail`` turns a Google Takeout ``Records.json``, a Semantic Location History month, a
Google Maps Timeline export (Android or iOS), GPX, GeoJSON or CSV into the geo presences
``person_id, lat, lon, start, end`` (person ``"me"``) that ``epitrace.engine.match`` takes;
``detect_stays`` is the rule that turns raw points into stays. Nothing here sends a trail
anywhere: matching runs where the trail is.
"""

from epitrace.trails._read import detect_format, read_trail
from epitrace.trails._stays import detect_stays
from epitrace.trails._values import TrailFormat

__all__ = [
    "TrailFormat",
    "detect_format",
    "detect_stays",
    "read_trail",
]
