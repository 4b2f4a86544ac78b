"""Exact space-time matching of presences against exposure windows.

``match`` is the fast engine; ``reference_match`` the slow oracle it must equal;
``match_chunks`` streams presences in bounded memory; ``read_table``/``write_table`` handle CSV
and Parquet by file extension.
"""

from epitrace.engine._api import match, match_chunks
from epitrace.engine._geo import EARTH_RADIUS_M, haversine_m
from epitrace.engine._io import iter_table, read_table, write_table
from epitrace.engine.reference import reference_match

__all__ = [
    "EARTH_RADIUS_M",
    "haversine_m",
    "iter_table",
    "match",
    "match_chunks",
    "read_table",
    "reference_match",
    "write_table",
]
