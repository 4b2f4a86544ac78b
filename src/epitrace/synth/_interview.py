"""What a case tells a contact tracer: recalled visits and named close contacts.

Answers are built from the true presences, so everything recalled is true; what
is imperfect is recall. Each recall decision is a keyed draw on the case and the
visit or contact (not on the question's time window), so asking about an
overlapping period gives consistent answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from epitrace.synth._city import HOME, KIND_NAMES, SCHOOL, WORK
from epitrace.synth._config import SynthConfig
from epitrace.synth._keyed_random import Stream, keyed_uniform
from epitrace.synth._mobility import DAY_SECONDS, PresenceArrays

# Contact-tracing definition of a close contact: 15 minutes together in a day.
MIN_CONTACT_SECONDS = 15 * 60
# Tracers list at most this many contacts per setting, those with most time together.
MAX_CONTACTS_PER_SETTING = 25
# Cases know household members' birth dates, and other contacts' this often.
SHARE_DOB_KNOWN = 0.5
SHARE_PHONE_KNOWN = 0.8
# Settings in priority order: a sibling who is also a classmate counts as household.
CONTACT_SETTINGS = ((HOME, "household"), (SCHOOL, "school"), (WORK, "work"))


@dataclass(frozen=True)
class RecalledVisit:
    """A place the case remembers being at, clipped to the interview period.

    Times are Unix seconds, half-open ``[start, end)``. Consecutive home rows that
    meet at midnight are merged into one visit.
    """

    place_id: int
    place_name: str
    kind: str
    lat: float
    lon: float
    start: int
    end: int


@dataclass(frozen=True)
class RecalledContact:
    """A close contact the case names; ``person_id`` is ground truth for scoring."""

    person_id: int
    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str | None
    setting: str
    last_exposure: date


@dataclass(frozen=True)
class Interview:
    """A case's account of a period: the visits they recall and contacts they name."""

    visits: list[RecalledVisit]
    contacts: list[RecalledContact]


class PresenceIndex:
    """Row numbers of the presence table grouped by person and by place.

    Built once (two stable argsorts) so that one person's or one place's rows are a
    slice away. Rows of a person come out in time order because the table is sorted
    by day, then person, then time.
    """

    def __init__(self, presences: PresenceArrays, *, n_people: int, n_places: int) -> None:
        self._by_person, self._person_offsets = _group(presences.person_id, n_people)
        self._by_place, self._place_offsets = _group(presences.place_id, n_places)

    def rows_of_person(self, person: int) -> np.ndarray:
        """Presence rows of one person, in time order."""
        return self._by_person[self._person_offsets[person] : self._person_offsets[person + 1]]

    def rows_of_place(self, place: int) -> np.ndarray:
        """Presence rows at one place, ordered by day."""
        return self._by_place[self._place_offsets[place] : self._place_offsets[place + 1]]


def _group(keys: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of rows by key and the offsets of each key's block."""
    order = np.argsort(keys, kind="stable")
    if len(order) < 2**31:
        order = order.astype(np.int32)  # halves the index for big tables
    offsets = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n_groups), out=offsets[1:])
    return order, offsets


class Interviewer:
    """Answers interview questions for any person from the true presences."""

    def __init__(
        self,
        config: SynthConfig,
        *,
        presences: PresenceArrays,
        index: PresenceIndex,
        people: pl.DataFrame,
        places: pl.DataFrame,
        place_kind: np.ndarray,
    ) -> None:
        self._config = config
        self._presences = presences
        self._index = index
        self._people = people
        self._place_names = places["name"]
        self._place_lat = places["lat"].to_numpy()
        self._place_lon = places["lon"].to_numpy()
        self._place_kind = place_kind
        self._epoch = presences.epoch

    def interview(self, person: int, *, since: int, until: int) -> Interview:
        """Recalled visits and named close contacts of ``person`` during [since, until)."""
        rows = self._index.rows_of_person(person)
        start = self._presences.start_offset[rows].astype(np.int64) + self._epoch
        end = self._presences.end_offset[rows].astype(np.int64) + self._epoch
        overlapping = (start < until) & (end > since)
        rows, start = rows[overlapping], start[overlapping]
        place = self._presences.place_id[rows]
        clipped_start = np.maximum(start, since)
        clipped_end = np.minimum(end[overlapping], until)
        return Interview(
            visits=self._recalled_visits(person, place, start, clipped_start, clipped_end),
            contacts=self._named_contacts(
                person, place, clipped_start, clipped_end, since=since, until=until
            ),
        )

    def _recalled_visits(
        self,
        person: int,
        place: np.ndarray,
        true_start: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
    ) -> list[RecalledVisit]:
        kind = self._place_kind[place]
        recall = keyed_uniform(self._config.seed, Stream.RECALL_VISIT, person, place, true_start)
        recalled = (kind == HOME) | (recall < self._config.recall_visits)
        place, start, end = place[recalled], start[recalled], end[recalled]
        if len(place) == 0:
            return []
        # Merge a visit into the previous one when it continues it (home across midnight).
        opens = np.r_[True, (place[1:] != place[:-1]) | (start[1:] != end[:-1])]
        closes = np.r_[opens[1:], True]
        place, start, end = place[opens], start[opens], end[closes]
        names = self._place_names.gather(place).to_list()
        return [
            RecalledVisit(
                place_id=int(place_id),
                place_name=name,
                kind=KIND_NAMES[int(self._place_kind[place_id])],
                lat=float(self._place_lat[place_id]),
                lon=float(self._place_lon[place_id]),
                start=int(visit_start),
                end=int(visit_end),
            )
            for place_id, name, visit_start, visit_end in zip(
                place.tolist(), names, start.tolist(), end.tolist(), strict=True
            )
        ]

    def _exposures(
        self,
        person: int,
        place: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        *,
        since: int,
        until: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(other person, setting priority, day, seconds) for every overlap at home/work/class."""
        presences = self._presences
        pieces: list[tuple[np.ndarray, ...]] = []
        for priority, (kind, _) in enumerate(CONTACT_SETTINGS):
            for place_id in np.unique(place[self._place_kind[place] == kind]).tolist():
                mine = place == place_id
                rows = self._index.rows_of_place(place_id)
                other = presences.person_id[rows]
                other_start = np.maximum(
                    presences.start_offset[rows].astype(np.int64) + self._epoch, since
                )
                other_end = np.minimum(
                    presences.end_offset[rows].astype(np.int64) + self._epoch, until
                )
                keep = (other != person) & (other_start < other_end)
                other, other_start, other_end = other[keep], other_start[keep], other_end[keep]
                together = np.minimum(end[mine][:, None], other_end[None, :]) - np.maximum(
                    start[mine][:, None], other_start[None, :]
                )
                mine_row, other_row = np.nonzero(together > 0)
                began = np.maximum(start[mine][mine_row], other_start[other_row])
                pieces.append(
                    (
                        other[other_row].astype(np.int64),
                        np.full(len(other_row), priority),
                        (began - self._epoch) // DAY_SECONDS,
                        together[mine_row, other_row],
                    )
                )
        if not pieces:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        return tuple(np.concatenate(column) for column in zip(*pieces, strict=True))  # type: ignore[return-value]

    def _named_contacts(
        self,
        person: int,
        place: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        *,
        since: int,
        until: int,
    ) -> list[RecalledContact]:
        other, priority, day, seconds = self._exposures(
            person, place, start, end, since=since, until=until
        )
        if len(other) == 0:
            return []
        # Sum time together per (contact, setting, day), then keep days of >= 15 minutes.
        n_days = int(day.max()) + 1
        key = (other * len(CONTACT_SETTINGS) + priority) * n_days + day
        per_day, inverse = np.unique(key, return_inverse=True)
        day_seconds = np.bincount(inverse, weights=seconds)
        pair = per_day // n_days  # contact * settings + priority
        pairs, pair_inverse = np.unique(pair, return_inverse=True)
        total = np.bincount(pair_inverse, weights=day_seconds)
        qualifying_day = np.where(day_seconds >= MIN_CONTACT_SECONDS, per_day % n_days, -1)
        last_day = np.full(len(pairs), -1, dtype=np.int64)
        np.maximum.at(last_day, pair_inverse, qualifying_day)
        close = last_day >= 0
        pairs, total, last_day = pairs[close], total[close], last_day[close]
        contact, setting = pairs // len(CONTACT_SETTINGS), pairs % len(CONTACT_SETTINGS)
        # Pairs are sorted by contact then setting priority, so the first is the strongest.
        first_setting = np.r_[True, contact[1:] != contact[:-1]]
        contact, setting, total, last_day = (
            contact[first_setting],
            setting[first_setting],
            total[first_setting],
            last_day[first_setting],
        )
        order = np.lexsort((contact, -total, setting))
        contact, setting, last_day = contact[order], setting[order], last_day[order]
        rank_in_setting = np.arange(len(setting)) - np.searchsorted(setting, setting)
        kept = rank_in_setting < MAX_CONTACTS_PER_SETTING
        seed = self._config.seed
        kept &= (
            keyed_uniform(seed, Stream.RECALL_CONTACT, person, contact)
            < self._config.recall_contacts
        )
        contact, setting, last_day = contact[kept], setting[kept], last_day[kept]
        household = setting == 0
        knows_dob = household | (
            keyed_uniform(seed, Stream.CONTACT_DOB, person, contact) < SHARE_DOB_KNOWN
        )
        knows_phone = keyed_uniform(seed, Stream.CONTACT_PHONE, person, contact) < SHARE_PHONE_KNOWN
        details = self._people.select("given_name", "family_name", "date_of_birth", "phone")[
            contact
        ].rows()
        start_date = self._config.start_date
        return [
            RecalledContact(
                person_id=int(contact_id),
                given_name=given,
                family_name=family,
                date_of_birth=dob if dob_known else None,
                phone=phone if phone_known else None,
                setting=CONTACT_SETTINGS[setting_index][1],
                last_exposure=start_date + timedelta(days=last),
            )
            for contact_id, setting_index, last, dob_known, phone_known, (
                given,
                family,
                dob,
                phone,
            ) in zip(
                contact.tolist(),
                setting.tolist(),
                last_day.tolist(),
                knows_dob.tolist(),
                knows_phone.tolist(),
                details,
                strict=True,
            )
        ]
